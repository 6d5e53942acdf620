"""``doctor``: check a deployment and say what to fix; exit 1 when something must be fixed."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from hotline_gateway.cli.output import emit
from hotline_gateway.doctor.findings import Level

if TYPE_CHECKING:
    from hotline_gateway import config as config_mod
    from hotline_gateway.doctor.findings import Finding

#: realistic cases (the sample generator's mix of categories, countries and TLP) to judge TLP ceilings by
SAMPLES = 500
_LABEL = {Level.FIX: "FIX ", Level.WARN: "WARN", Level.OK: "ok  "}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("doctor", parents=[common],
                       help="check files, keys, partners and routing of a deployment; say what to fix")
    p.add_argument("--config", required=True, metavar="FILE")
    p.add_argument("--offline", action="store_true", help="skip the partner checks over the network")
    p.add_argument("--timeout", type=float, default=5.0, metavar="S", help="per partner (default 5 s)")
    p.set_defaults(run=run_doctor)


def _text(config: config_mod.Config, found: list[Finding]) -> str:
    lines = [f"doctor: {config.path} ({config.id})"]
    for f in sorted(found, key=lambda f: (f.level != Level.FIX, f.level != Level.WARN)):
        lines.append(f"  {_LABEL[f.level]}  {f.check:<8}  {f.subject}: {f.message}")
        if f.fix and f.level is not Level.OK:
            lines.append(f"        {'':<8}  fix: {f.fix}")
    fixes = sum(f.level is Level.FIX for f in found)
    warns = sum(f.level is Level.WARN for f in found)
    lines.append(f"{fixes} to fix, {warns} warning(s)" + (": the gateway should not run like this" if fixes else ""))
    return "\n".join(lines)


def run_doctor(args: argparse.Namespace) -> int:
    from hotline_gateway import config as config_mod
    from hotline_gateway.doctor.run import examine
    from hotline_gateway.sim.samples import generate_cases

    config = config_mod.load(args.config)
    samples = list(generate_cases(SAMPLES, seed=1, originator=config.id))
    found = asyncio.run(examine(config, samples, network=not args.offline, timeout=args.timeout))
    fixes = sum(f.level is Level.FIX for f in found)
    emit(args, {"config": str(config.path), "gateway": config.id, "ok": not fixes,
                "findings": [f.as_dict() for f in found]}, _text(config, found))
    return 1 if fixes else 0
