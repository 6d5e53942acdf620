"""``operator set-password``: the operator credential of the status page (not the intake token)."""

from __future__ import annotations

import argparse
import getpass
import sys

from hotline_gateway.cli.output import emit
from hotline_gateway.core.errors import BadInput, ConfigError
from hotline_gateway.core.files import atomic_write


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("operator", parents=[common], help="the operator credential of the status page")
    op_sub = p.add_subparsers(dest="operator_command", metavar="COMMAND", required=True)
    s = op_sub.add_parser("set-password", parents=[common],
                          help="set the operator password (read from standard input, or asked twice on a "
                               "terminal); stored as a scrypt hash in [gateway] operator_password_file")
    s.add_argument("--config", required=True, metavar="FILE")
    s.set_defaults(run=run_set_password)


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("new operator password: ")
        if getpass.getpass("again: ") != first:
            raise BadInput("the two passwords differ; nothing changed")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def run_set_password(args: argparse.Namespace) -> int:
    from hotline_gateway import config as config_mod
    from hotline_gateway.crypto.passwords import hash_password

    config = config_mod.load(args.config)
    target = config.operator_password_file
    if target is None:
        raise ConfigError(f"{config.path}: $.gateway.operator_password_file is not set; add e.g. "
                          'operator_password_file = "operator.scrypt" under [gateway] first')
    try:
        stored = hash_password(_read_password())
    except ValueError as exc:
        raise BadInput(f"password refused: {exc}") from None
    atomic_write(target, (stored + "\n").encode("ascii"))
    emit(args, {"operator_password_file": str(target)},
         f"operator password stored (scrypt) in {target}; running gateways use it at the next sign-in")
    return 0
