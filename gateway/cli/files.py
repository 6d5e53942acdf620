"""Reading command inputs, so that every unreadable file gives the same one-line error (exit 2)."""

from __future__ import annotations

import sys
from pathlib import Path

from hotline_gateway.core.errors import BadInput
from hotline_gateway.core.files import atomic_write


def read_input(name: str) -> bytes:
    """Bytes of a file, or of standard input for ``-``."""
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{name}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"{name}: is a directory") from None
    except OSError as exc:
        raise BadInput(f"{name}: cannot read ({exc.strerror})") from None


def write_output(name: str | None, data: bytes) -> None:
    if name is None or name == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        atomic_write(Path(name), data)  # what we write may hold case data: owner-only, never through a link
    except OSError as exc:
        raise BadInput(f"{name}: cannot write ({exc.strerror})") from None
