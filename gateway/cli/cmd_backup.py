"""``backup``: a consistent copy of the store while the gateway runs (SQLite's online backup API)."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from hotline_gateway.cli.output import emit
from hotline_gateway.core.errors import BadInput


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("backup", parents=[common], help="copy the store consistently, even while the gateway runs")
    p.add_argument("--config", required=True, metavar="FILE")
    p.add_argument("output", metavar="OUT", help="the backup file to write (must not exist; written with mode 0600)")
    p.set_defaults(run=run_backup)


def run_backup(args: argparse.Namespace) -> int:
    from hotline_gateway import config as config_mod
    from hotline_gateway.store.sqlite.backup import backup

    config = config_mod.load(args.config)
    if config.store_url is not None:
        raise BadInput(f"{args.config}: the store is PostgreSQL ([gateway] store); back it up with pg_dump "
                       "(README: several nodes on PostgreSQL), not with this command")
    result = backup(config.db_path, Path(args.output))
    emit(args, {**asdict(result), "path": str(result.path)},
         f"backup {result.path}: {result.bytes} bytes, {result.cases} cases, {result.deliveries} deliveries, "
         f"audit chain intact ({result.audit_entries} entries, head {result.audit_head[:16]}…)")
    return 0
