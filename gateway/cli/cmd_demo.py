"""``demo``: an embedded federation on loopback pushes N synthetic cases end to end."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from hotline_gateway.core.errors import BadInput


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "demo", parents=[common],
        help="run three gateways on loopback (FR hotline, DE hotline, FR police) and push N cases end to end",
    )
    p.add_argument("--cases", type=int, default=200, help="how many synthetic cases (default 200)")
    p.add_argument("--seed", type=int, default=2026, help="seed of the synthetic cases")
    p.add_argument("--workdir", type=Path, metavar="DIR",
                   help="keep each gateway's config, keys and SQLite store in DIR to inspect afterwards "
                        "(default: a temporary directory, removed at the end)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.cases < 1:
        raise BadInput("--cases must be at least 1")
    from hotline_gateway.sim.demo import run_demo, summary_json, summary_text

    result = asyncio.run(run_demo(args.cases, seed=args.seed, workdir=args.workdir))
    sys.stdout.write((summary_json(result) if args.json else summary_text(result)) + "\n")
    return 0 if result.ok else 1
