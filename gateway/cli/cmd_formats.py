"""``formats``, ``validate`` and ``translate``: the format adapters from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hotline_gateway.cli.files import read_input, write_output
from hotline_gateway.cli.output import emit, table
from hotline_gateway.core.errors import BadInput, DecodeError, EncodeError

if TYPE_CHECKING:
    from hotline_gateway.core.model import Case


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
    from hotline_gateway.adapters import registry

    infos = registry.describe()
    data = [{"name": i.name, "media_type": i.media_type, "fields_carried": len(i.carries)} for i in infos]
    rows = [[i.name, i.media_type, str(len(i.carries))] for i in infos]
    emit(args, data, table(rows, ["format", "media type", "fields carried"]))
    return 0


def decode_file(fmt: str, name: str) -> list[Case]:
    """Decode and validate a file; errors name the file and the field path or line."""
    from hotline_gateway.adapters import registry
    from hotline_gateway.core.schema import validate_case

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
    """Several documents go to a directory, one file each (several cases into a one-case format, or a case
    into X-ARF, which holds one report per document); what the target cannot carry is named on standard
    error, so nobody loses a field without being told."""
    from hotline_gateway.adapters import registry
    from hotline_gateway.core.fields import dropped_fields

    target = registry.get(args.target)
    cases = decode_file(args.source, args.file)
    encoded: list[tuple[Case, list[bytes]]] = []
    for case in cases:
        try:
            encoded.append((case, registry.documents(target, case)))
        except EncodeError as exc:
            raise EncodeError(f"case {case.case_id}: {args.target} cannot carry it: {exc.message}") from None
    total = sum(len(docs) for _, docs in encoded)
    if args.target == "native":
        write_output(args.output, b"".join(docs[0].rstrip(b"\n") + b"\n" for _, docs in encoded))
    elif total == 1:
        write_output(args.output, encoded[0][1][0])
    else:
        folder = Path(args.output) if args.output and args.output != "-" else None
        if folder is None or not folder.is_dir():
            raise BadInput(f"{total} documents ({len(encoded)} case(s)) and {args.target} holds one per document: "
                           "give -o an existing directory to write one file each")
        suffix = ".xml" if "xml" in target.media_type else ".json"
        for case, docs in encoded:
            for n, data in enumerate(docs, start=1):
                name = f"{case.case_id}{suffix}" if len(docs) == 1 else f"{case.case_id}.{n}{suffix}"
                write_output(str(folder / name), data)
    dropped = dropped_fields(cases, target.carries)
    if dropped:
        sys.stderr.write(f"translate: {args.target} does not carry {len(dropped)} field(s) used here, dropped: "
                         f"{', '.join(dropped)}\n")
    return 0
