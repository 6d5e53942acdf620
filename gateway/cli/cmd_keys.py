"""``keys generate | list | rotate | export | fingerprint | import``: our signing keys, the JWKS we hand to
partners, and the partners' JWKS we trust once their fingerprints were read to us out of band."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from hotline_gateway.cli.files import write_output
from hotline_gateway.cli.output import emit, table

if TYPE_CHECKING:
    from hotline_gateway.crypto.keydir import KeyDirectory
    from hotline_gateway.crypto.keyimport import KeyInfo
    from hotline_gateway.crypto.keys import SigningKey


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {value}")
    return value


def _time(text: str) -> datetime:
    from hotline_gateway.crypto.keydir import parse_time

    try:
        return parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("keys", parents=[common],
                       help="manage keys: generate, list, rotate, export; fingerprint and import partners' keys")
    keys_sub = p.add_subparsers(dest="keys_command", metavar="COMMAND", required=True)

    g = keys_sub.add_parser("generate", parents=[common], help="create a signing key (private file mode 0600)")
    g.add_argument("--dir", required=True, metavar="DIR", help="key directory (created if missing)")
    g.add_argument("--id", dest="kid", required=True, metavar="KID", help="key id, also the private file name KID.key")
    g.add_argument("--valid-days", type=_positive, default=365, metavar="N", help="validity from now (default: 365)")
    g.add_argument("--owner", metavar="ID", help="party id that owns the key, e.g. DE-ECO")
    g.set_defaults(run=run_generate)

    ls = keys_sub.add_parser("list", parents=[common], help="show keys, their windows and status")
    ls.add_argument("--dir", required=True, metavar="DIR", help="key directory, or a keyring JSON file")
    ls.add_argument("--at", type=_time, metavar="TIME", help="status at this RFC 3339 time (default: now)")
    ls.set_defaults(run=run_list)

    r = keys_sub.add_parser(
        "rotate", parents=[common], help="add a new signing key; our other keys end after the overlap"
    )
    r.add_argument("--dir", required=True, metavar="DIR", help="key directory")
    r.add_argument("--id", dest="kid", required=True, metavar="NEWKID", help="key id of the new key")
    r.add_argument("--overlap-days", type=_non_negative, default=7, metavar="N",
                   help="days the old keys stay valid, never extended (default: 7)")
    r.add_argument("--valid-days", type=_positive, default=365, metavar="N", help="validity of the new key")
    r.add_argument("--owner", metavar="ID", help="owner of the new key (default: that of our newest key)")
    r.set_defaults(run=run_rotate)

    e = keys_sub.add_parser("export", parents=[common], help="write the public JWKS to hand to partners")
    e.add_argument("--dir", required=True, metavar="DIR", help="key directory, or a keyring JSON file")
    e.add_argument("-o", "--output", metavar="FILE", help="output file (default: standard output)")
    e.add_argument("--include-expired", action="store_true", help="keep keys whose not_after has passed")
    e.set_defaults(run=run_export)

    f = keys_sub.add_parser("fingerprint", parents=[common],
                            help="print each key's fingerprint, to read to a partner (or check theirs) out of band")
    f.add_argument("source", metavar="DIR|JWKS", help="a key directory, or a JWKS file (ours or a partner's)")
    f.set_defaults(run=run_fingerprint)

    i = keys_sub.add_parser("import", parents=[common],
                            help="trust a partner's JWKS once its fingerprints match those read out of band")
    i.add_argument("source", metavar="JWKS", help="the partner's exported JWKS (keys export, or its /.well-known URL)")
    i.add_argument("--to", dest="target", required=True, metavar="PATH",
                   help="the partner's key folder or .json file, as named by its `keys` entry in the config")
    i.add_argument("--fingerprint", dest="expect", action="append", default=[], metavar="FP",
                   help="a fingerprint read to you out of band (base64url or hex); repeat for each key")
    i.add_argument("--owner", metavar="ID", help="refuse keys that name another party than ID")
    i.set_defaults(run=run_import)


def _describe(keys: KeyDirectory, key: SigningKey) -> dict[str, Any]:
    from hotline_gateway.crypto.keydir import format_time

    entry = keys.entry(key.kid)
    return {
        "kid": key.kid,
        "owner": entry.owner,
        "not_before": format_time(entry.not_before),
        "not_after": format_time(entry.not_after),
        "thumbprint": key.thumbprint(),
        "private_key": str(keys.private_key_path(key.kid)),
        "keyring": str(keys.file),
    }


def run_generate(args: argparse.Namespace) -> int:
    from hotline_gateway.crypto.keydir import KeyDirectory, generate

    key = generate(args.dir, args.kid, valid_days=args.valid_days, owner=args.owner)
    info = _describe(KeyDirectory.load(args.dir), key)
    emit(
        args,
        info,
        f"generated key {key.kid} (valid {info['not_before']} to {info['not_after']})\n"
        f"private key {info['private_key']} (mode 0600)\npublic key added to {info['keyring']}\n"
        f"thumbprint {info['thumbprint']}",
    )
    return 0


def _rows(keys: KeyDirectory, at: datetime) -> list[dict[str, Any]]:
    from hotline_gateway.crypto.keydir import format_time

    return [
        {
            "kid": e.kid,
            "owner": e.owner,
            "not_before": format_time(e.not_before),
            "not_after": format_time(e.not_after),
            "status": str(keys.status(e.kid, at)),
            "private_key": keys.has_private(e.kid),
        }
        for e in keys.entries()
    ]


def run_list(args: argparse.Namespace) -> int:
    from hotline_gateway.crypto.keydir import KeyDirectory, format_time, utcnow

    keys = KeyDirectory.load(args.dir)
    at = args.at or utcnow()
    rows = _rows(keys, at)
    text_rows = [
        [r["kid"], r["owner"] or "-", r["not_before"], r["not_after"], r["status"], "yes" if r["private_key"] else "no"]
        for r in rows
    ]
    text = table(text_rows, ["kid", "owner", "not_before", "not_after", "status", "private"]) if rows else "no keys"
    emit(args, {"keyring": str(keys.file), "at": format_time(at), "keys": rows}, text)
    return 0


def run_rotate(args: argparse.Namespace) -> int:
    from hotline_gateway.crypto.keydir import KeyDirectory, format_time, rotate

    before = {e.kid: e.not_after for e in KeyDirectory.load(args.dir).entries()}
    key = rotate(args.dir, args.kid, overlap_days=args.overlap_days, valid_days=args.valid_days, owner=args.owner)
    keys = KeyDirectory.load(args.dir)
    info = _describe(keys, key)
    cut = [
        {"kid": e.kid, "not_after": format_time(e.not_after)}
        for e in keys.entries()
        if e.kid in before and e.not_after != before[e.kid]
    ]
    info["shortened"] = cut
    lines = [f"new active key {key.kid} (valid {info['not_before']} to {info['not_after']})"]
    lines += [f"key {c['kid']} now ends {c['not_after']}" for c in cut]
    lines.append("publish the new public keys to partners: hotline-gateway keys export --dir " + str(args.dir))
    emit(args, info, "\n".join(lines))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from hotline_gateway.crypto.keydir import KeyDirectory

    jwks = KeyDirectory.load(args.dir).to_jwks(include_expired=args.include_expired)
    document = orjson.dumps(jwks, option=orjson.OPT_INDENT_2) + b"\n"
    if args.output is None or args.output == "-":
        write_output(None, document)  # the JWKS is itself the one JSON document, with or without --json
        return 0
    write_output(args.output, document)
    emit(args, {"output": args.output, "keys": len(jwks["keys"])},
         f"wrote {len(jwks['keys'])} public key(s) to {args.output}")
    return 0


def _key_lines(keys: list[KeyInfo]) -> list[str]:
    return [f"{k.kid}  owner {k.owner or '-'}  valid {k.not_before} to {k.not_after}\n"
            f"  fingerprint {k.fingerprint}\n  read aloud  {k.spoken}" for k in keys]


def run_fingerprint(args: argparse.Namespace) -> int:
    from hotline_gateway.crypto.keydir import KeyDirectory
    from hotline_gateway.crypto.keyimport import KeyInfo

    keys = [KeyInfo.of(e) for e in KeyDirectory.load(args.source).entries()]
    emit(args, {"keys": [vars(k) for k in keys]}, "\n".join(_key_lines(keys)) or "no keys")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from hotline_gateway.crypto.keyimport import import_partner_keys

    result = import_partner_keys(Path(args.source), Path(args.target), expect=args.expect, owner=args.owner)
    lines = [f"trusted {len(result.keys)} key(s) in {result.target}", *_key_lines(result.keys)]
    lines += [f"new key {k}" for k in result.added] + [f"no longer held: {k}" for k in result.removed]
    emit(args, {"target": str(result.target), "keys": [vars(k) for k in result.keys], "added": result.added,
                "removed": result.removed, "unchanged": result.unchanged}, "\n".join(lines))
    return 0
