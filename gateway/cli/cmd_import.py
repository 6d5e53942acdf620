"""``import``: a backlog of cases (JSON Lines) into a running gateway, with progress, resumable."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from tqdm import tqdm

from gateway import config as config_mod
from gateway.bulk_import import Importer, Journal
from gateway.cli.output import emit
from gateway.errors import BadInput, ConfigError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("import", parents=[common], help="submit a JSON Lines backlog to a running gateway (resumable)")
    p.add_argument("--config", required=True, metavar="FILE")
    p.add_argument("file", metavar="CASES.jsonl")
    p.add_argument("--rejects", metavar="FILE", help="where bad lines go (default: <file>.rejects.jsonl)")
    p.add_argument("--batch", type=int, default=500, help="cases per request (default 500)")
    p.add_argument("--concurrency", type=int, default=4, help="requests in flight (default 4)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run_import)


def run_import(args: argparse.Namespace) -> int:
    config = config_mod.load(args.config)
    if not config.intake_token:
        raise ConfigError(f"{args.config}: $.gateway.intake_token: local intake is not configured")
    source = Path(args.file)
    if not source.is_file():
        raise BadInput(f"{source}: no such file")
    if args.batch < 1 or args.concurrency < 1:
        raise BadInput("--batch and --concurrency must be at least 1")
    total = source.stat().st_size
    importer = Importer(config.public_url, config.intake_token, source,
                        Path(args.rejects) if args.rejects else source.with_name(source.name + ".rejects.jsonl"),
                        batch_size=args.batch, concurrency=args.concurrency)
    start = importer.journal.offset
    bar = tqdm(total=total, initial=start, unit="B", unit_scale=True, desc=f"import {source.name}",
               disable=args.no_progress or None, file=sys.stderr, dynamic_ncols=True)

    def progress(offset: int, journal: Journal) -> None:
        bar.update(offset - bar.n)
        bar.set_postfix(accepted=journal.accepted, rejected=journal.rejected, refresh=False)

    importer.on_progress = progress
    try:
        journal = asyncio.run(importer.run())
    finally:
        bar.close()
    emit(args, {"file": str(source), "accepted": journal.accepted, "already_present": journal.duplicates,
                "rejected": journal.rejected, "lines": journal.line, "rejects_file": str(importer.rejects_path),
                "resumed_from_line": importer.journal.line if start else 0},
         f"{source}: {journal.accepted} accepted, {journal.duplicates} already present, {journal.rejected} rejected"
         + (f" (see {importer.rejects_path})" if journal.rejected else ""))
    return 0
