"""``hotline-gateway``: the command line. Exit 0 success, 1 failure, 2 bad input or usage.

Each command group lives in its own module with a ``register(subparsers, common)`` function; this
module only assembles them and maps the error tree to one-line messages and exit codes.

Building the parser imports nothing heavy: command modules import what they need (aiohttp, lxml,
jsonschema, cryptography, matplotlib, the simulators) inside the function that runs the command, so
``--help`` and usage errors answer at once and each command pays only for itself.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from hotline_gateway import __version__
from hotline_gateway.core.errors import GatewayError

Command = Callable[[argparse.Namespace], int]


def _modules() -> list[ModuleType]:
    from hotline_gateway.cli import (
        cmd_backup,
        cmd_demo,
        cmd_doctor,
        cmd_formats,
        cmd_import,
        cmd_keys,
        cmd_lifecycle,
        cmd_operator,
        cmd_report,
        cmd_retention,
        cmd_route,
        cmd_sample,
        cmd_service,
        cmd_sign,
    )

    return [cmd_demo, cmd_service, cmd_operator, cmd_doctor, cmd_backup, cmd_retention, cmd_lifecycle, cmd_route,
            cmd_import, cmd_report, cmd_keys, cmd_sign, cmd_formats, cmd_sample]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotline-gateway",
        description="Exchange reports of illegal online content between hotlines, law enforcement and hosts.",
    )
    parser.add_argument("--version", action="version", version=f"hotline-gateway {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output (one JSON document)")
    common.add_argument("--log-level", default="warning", help="log level for events on stderr (default: warning)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _modules():
        module.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from hotline_gateway.core.log import configure  # structlog: only once a command runs

    configure(level=args.log_level)
    run: Command = args.run
    try:
        return run(args)
    except GatewayError as exc:
        sys.stderr.write(f"hotline-gateway: {exc.message}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("hotline-gateway: interrupted\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
