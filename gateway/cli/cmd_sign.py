"""``sign`` and ``verify``: detached JWS over a file's exact bytes, checked against a key directory.

Exit codes follow the CLI contract: 0 verified, 1 the signature does not verify (the reason's code
and message are printed), 2 an unreadable or malformed input or key file.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from hotline_gateway.cli.files import read_input, write_output
from hotline_gateway.cli.output import emit
from hotline_gateway.core.errors import BadInput, MalformedSignature, VerificationError


def _time(text: str) -> datetime:
    from hotline_gateway.crypto.keydir import parse_time

    try:
        return parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("sign", parents=[common], help="detached JWS (EdDSA) over a file's exact bytes")
    p.add_argument("--key", required=True, metavar="FILE", help="private key (PKCS8 PEM, mode 0600)")
    p.add_argument("--id", dest="kid", metavar="KID", help="key id for the JWS header (default: key file name stem)")
    p.add_argument("file", metavar="IN", help="file to sign, or - for standard input")
    p.add_argument("-o", "--output", metavar="OUT", help="write the JWS here (default: standard output)")
    p.set_defaults(run=run_sign)

    p = sub.add_parser("verify", parents=[common], help="check a detached JWS over a file against a key directory")
    p.add_argument("--keys", required=True, metavar="DIR", help="key directory, or a keyring JSON file")
    p.add_argument("--at", type=_time, metavar="TIME", help="check key validity at this RFC 3339 time (default: now)")
    p.add_argument("file", metavar="IN", help="signed file, or - for standard input")
    p.add_argument("signature", metavar="SIG", help="file holding the compact detached JWS")
    p.set_defaults(run=run_verify)


def run_sign(args: argparse.Namespace) -> int:
    from hotline_gateway.crypto.jws import sign_detached
    from hotline_gateway.crypto.keys import SigningKey, load_private_key

    kid = args.kid if args.kid is not None else Path(args.key).stem
    if not kid:
        raise BadInput("--id must not be empty")
    key = SigningKey(kid, load_private_key(args.key))
    token = sign_detached(read_input(args.file), key)
    if args.output is None or args.output == "-":
        emit(args, {"kid": kid, "jws": token}, token)
        return 0
    write_output(args.output, (token + "\n").encode("ascii"))
    emit(args, {"kid": kid, "jws": token, "output": args.output}, f"wrote detached JWS by key {kid} to {args.output}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from hotline_gateway.crypto.jws import verify_detached
    from hotline_gateway.crypto.keydir import KeyDirectory, format_time

    if args.file == "-" and args.signature == "-":
        raise BadInput("IN and SIG cannot both be standard input")
    keys = KeyDirectory.load(args.keys)
    payload = read_input(args.file)
    raw = read_input(args.signature)
    try:
        try:
            token = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            raise MalformedSignature(f"{args.signature}: not a compact JWS (non-ASCII bytes)") from None
        kid = verify_detached(payload, token, keys, at=args.at)
    except VerificationError as exc:
        if getattr(args, "json", False):
            emit(args, {"valid": False, "code": exc.code, "message": exc.message}, "")
        else:
            sys.stderr.write(f"hotline-gateway: signature does not verify: {exc.code}: {exc.message}\n")
        return exc.exit_code
    at = format_time(args.at) if args.at else None
    emit(args, {"valid": True, "kid": kid, "at": at}, kid)
    return 0
