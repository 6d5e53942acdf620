"""``formats``, ``validate`` and ``translate``: the format adapters from the command line."""

from __future__ import annotations

import argparse

from gateway import registry
from gateway.cli.files import read_input, write_output
from gateway.cli.output import emit, table
from gateway.errors import DecodeError, EncodeError
from gateway.model import Case
from gateway.pipeline.validate import validate_case


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("formats", parents=[common], help="list the registered format adapters")
    p.set_defaults(run=run_formats)

    p = sub.add_parser("validate", parents=[common], help="check a document in a given format")
    p.add_argument("--format", required=True, metavar="FMT", help="adapter name (see `formats`)")
    p.add_argument("file", metavar="FILE", help="document to check, or - for standard input")
    p.set_defaults(run=run_validate)

    p = sub.add_parser("translate", parents=[common], help="convert a document from one format to another")
    p.add_argument("--from", dest="source", required=True, metavar="FMT")
    p.add_argument("--to", dest="target", required=True, metavar="FMT")
    p.add_argument("file", nargs="?", default="-", metavar="IN", help="input file, or - (default)")
    p.add_argument("-o", "--output", metavar="OUT", help="output file (default: standard output)")
    p.set_defaults(run=run_translate)


def run_formats(args: argparse.Namespace) -> int:
    infos = registry.describe()
    data = [{"name": i.name, "media_type": i.media_type, "fields_carried": len(i.carries)} for i in infos]
    rows = [[i.name, i.media_type, str(len(i.carries))] for i in infos]
    emit(args, data, table(rows, ["format", "media type", "fields carried"]))
    return 0


def decode_file(fmt: str, name: str) -> list[Case]:
    """Decode and validate a file; errors name the file and the field path or line."""
    adapter = registry.get(fmt)
    data = read_input(name)
    label = "<stdin>" if name == "-" else name
    try:
        cases = adapter.decode(data)
    except DecodeError as exc:
        raise DecodeError(exc.message, path=label) from None
    for i, case in enumerate(cases):
        validate_case(case, source=f"{label} case {i + 1}")
    return cases


def run_validate(args: argparse.Namespace) -> int:
    cases = decode_file(args.format, args.file)
    items = sum(len(c.items) for c in cases)
    emit(
        args,
        {"file": args.file, "format": args.format, "valid": True, "cases": len(cases), "items": items},
        f"{args.file}: valid {args.format}, {len(cases)} case(s), {items} item(s)",
    )
    return 0


def run_translate(args: argparse.Namespace) -> int:
    target = registry.get(args.target)
    cases = decode_file(args.source, args.file)
    chunks: list[bytes] = []
    for case in cases:
        try:
            encoded = target.encode(case)
        except EncodeError as exc:
            raise EncodeError(f"case {case.case_id}: {args.target} cannot carry it: {exc.message}") from None
        chunks.append(encoded.rstrip(b"\n") + b"\n" if args.target == "native" else encoded)
    write_output(args.output, b"".join(chunks))
    return 0
