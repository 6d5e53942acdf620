"""``import``: a backlog of cases (JSON Lines) into a running gateway, with progress, resumable."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from hotline_gateway.cli.output import emit
from hotline_gateway.core.errors import BadInput, ConfigError, GatewayError

if TYPE_CHECKING:
    from hotline_gateway.bulk_import import Journal

BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}]{postfix}"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("import", parents=[common], help="submit a JSON Lines backlog to a running gateway (resumable)",
                       description="Submit a JSON Lines backlog to the running gateway's local intake. A journal "
                       "beside the file (<file>.import-state) records what was acknowledged: run the same command "
                       "again after an interruption and it resumes there. Exit 0 when every good line went "
                       "through, 1 when the gateway could not be reached, 2 for bad arguments or files.")
    p.add_argument("--config", required=True, metavar="FILE")
    p.add_argument("file", metavar="CASES.jsonl")
    p.add_argument("--rejects", metavar="FILE", help="where bad lines go (default: <file>.rejects.jsonl)")
    p.add_argument("--batch", type=int, default=500, help="cases per request (default 500)")
    p.add_argument("--concurrency", type=int, default=4, help="requests in flight (default 4)")
    p.add_argument("--attempts", type=int, default=6,
                   help="attempts per request before giving up on an unreachable gateway (default 6, about 11 s)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (none either when stderr is not a terminal)")
    p.set_defaults(run=run_import)


def _check_readable(source: Path) -> None:
    try:
        with source.open("rb") as fh:
            fh.read(1)
    except FileNotFoundError:
        raise BadInput(f"{source}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"{source}: is a directory") from None
    except OSError as exc:
        raise BadInput(f"{source}: cannot read ({exc.strerror})") from None


def run_import(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from hotline_gateway import config as config_mod
    from hotline_gateway.bulk_import import Importer

    config = config_mod.load(args.config)
    if not config.intake_token:
        raise ConfigError(f"{args.config}: $.gateway.intake_token: local intake is not configured")
    if args.batch < 1 or args.concurrency < 1 or args.attempts < 1:
        raise BadInput("--batch, --concurrency and --attempts must be at least 1")
    source = Path(args.file)
    _check_readable(source)
    rejects = Path(args.rejects) if args.rejects else source.with_name(source.name + ".rejects.jsonl")
    for where, what in ((source.parent, "the journal"), (rejects.parent, "the rejects file")):
        if not os.access(where, os.W_OK):
            raise BadInput(f"{where}: not writable, and {what} goes there")
    importer = Importer(config.public_url, config.intake_token, source, rejects, batch_size=args.batch,
                        concurrency=args.concurrency, attempts=args.attempts)
    start_bytes, start_line, start_done = importer.journal.done_bytes, importer.journal.line, \
        importer.journal.accepted + importer.journal.duplicates
    # Progress in bytes gives an honest ETA without counting the lines first; cases and their rate ride along.
    bar = tqdm(total=source.stat().st_size, initial=start_bytes, unit="B", unit_scale=True, unit_divisor=1024,
               desc=f"import {source.name}", disable=args.no_progress or None, file=sys.stderr,
               dynamic_ncols=True, bar_format=BAR_FORMAT)
    started = time.monotonic()

    def progress(offset: int, journal: Journal) -> None:
        done = journal.accepted + journal.duplicates - start_done
        bar.set_postfix_str(f"{journal.accepted:,} accepted, {journal.rejected:,} rejected, "
                            f"{done / max(time.monotonic() - started, 1e-6):,.0f} cases/s", refresh=False)
        bar.update(offset - bar.n)

    importer.on_progress = progress
    try:
        journal = asyncio.run(importer.run())
    except KeyboardInterrupt:
        raise GatewayError(f"interrupted at line {importer.journal.line}; run the same command again to resume") \
            from None
    finally:
        bar.close()
    elapsed = time.monotonic() - started
    sent = journal.accepted + journal.duplicates - start_done
    emit(args, {"file": str(source), "accepted": journal.accepted, "already_present": journal.duplicates,
                "rejected": journal.rejected, "lines": journal.line, "rejects_file": str(rejects),
                "resumed_from_line": start_line, "elapsed_s": round(elapsed, 3),
                "cases_per_s": round(sent / elapsed, 1) if elapsed > 0 else None},
         f"{source}: {journal.accepted} accepted, {journal.duplicates} already present, {journal.rejected} rejected"
         + (f" (see {rejects})" if journal.rejected else "")
         + (f"; resumed from line {start_line}" if start_line else ""))
    return 0
