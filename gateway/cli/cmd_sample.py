"""``sample``: synthetic cases as JSON Lines, for demos, load tests and trying out adapters.

The output streams case by case, so a million-case benchmark file never has to fit in memory.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from contextlib import ExitStack
from datetime import datetime
from typing import BinaryIO

from hotline_gateway.core.errors import BadInput
from hotline_gateway.core.timefmt import parse_timestamp

#: lines gathered before each write: fewer system calls without holding much in memory
_BATCH = 512
_PARTY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def _now(text: str) -> datetime:
    try:
        return parse_timestamp(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an RFC 3339 timestamp: {text!r}") from None


def _party(text: str) -> str:
    # Checked here so that a bad originator is a usage error, not 'count' invalid cases.
    if not _PARTY_ID.match(text):
        raise argparse.ArgumentTypeError(f"not a party identifier (e.g. FR-PDC): {text!r}")
    return text


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "sample",
        parents=[common],
        help="write synthetic, schema-valid cases as JSON Lines",
        description=(
            "Write COUNT synthetic cases, one canonical JSON document per line. Every URL, address and name "
            "is invented (example.org/.com, .test, .invalid, documentation IP ranges). The same --seed and "
            "--now give the same bytes; without --now, timestamps fall in the 90 days before today 00:00 UTC."
        ),
    )
    p.add_argument("--count", "-n", type=_count, required=True, metavar="N", help="number of cases (at least 1)")
    p.add_argument("--seed", type=_seed, metavar="S", help="random seed for reproducible output (default: random)")
    p.add_argument("--now", type=_now, metavar="TIME", help="reference time, RFC 3339 (default: today 00:00 UTC)")
    p.add_argument(
        "--originator", type=_party, default="FR-PDC", metavar="PARTY", help="originating hotline (default: FR-PDC)"
    )
    p.add_argument("-o", "--output", metavar="FILE", help="output file (default: standard output)")
    p.set_defaults(run=run_sample)


def _write(out: BinaryIO, args: argparse.Namespace) -> None:
    from hotline_gateway.sim.samples import generate_jsonl

    batch: list[bytes] = []
    for line in generate_jsonl(args.count, args.seed, originator=args.originator, now=args.now):
        batch.append(line)
        if len(batch) >= _BATCH:
            out.write(b"".join(batch))
            batch.clear()
    out.write(b"".join(batch))
    out.flush()


def run_sample(args: argparse.Namespace) -> int:
    name: str | None = args.output
    with ExitStack() as stack:
        if name is None or name == "-":
            out: BinaryIO = sys.stdout.buffer
        else:
            try:
                out = stack.enter_context(open(name, "wb"))  # noqa: PTH123 -- streamed, not written at once
            except OSError as exc:
                raise BadInput(f"{name}: cannot write ({exc.strerror})") from None
        try:
            _write(out, args)
        except BrokenPipeError:
            # `sample | head` closed the pipe early: that is the reader's choice, not a failure.
            # Point stdout at /dev/null so the interpreter's final flush does not complain again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 0
        except OSError as exc:
            raise BadInput(f"{name or '<stdout>'}: cannot write ({exc.strerror})") from None
    return 0
