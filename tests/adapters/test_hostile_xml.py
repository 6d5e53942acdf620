"""Hostile XML against every XML adapter: refused with a DecodeError, no file read, no network touched.

Timings are printed (``pytest -s``) rather than asserted; the bound that matters, no expansion at
all, is proved by the refusal happening before any entity exists.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline_gateway.adapters import registry
from hotline_gateway.core.errors import DecodeError

XML_ADAPTERS = [name for name in registry.names() if "xml" in registry.get(name).media_type]


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP port on loopback that records every connection attempt (there must be none)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    hits: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            hits.append(conn.recv(1024))
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], hits
    stop.set()
    thread.join()
    server.close()


def corpus(secret: Path, port: int) -> dict[str, bytes]:
    lol = b"".join(b'<!ENTITY lol%d "&lol%d;&lol%d;&lol%d;&lol%d;&lol%d;&lol%d;&lol%d;&lol%d;&lol%d;&lol%d;">'
                   % ((i,) + (i - 1,) * 10) for i in range(1, 10))
    big = b"x" * 100_000
    return {
        "billion-laughs": b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">' + lol + b"]><r>&lol9;</r>",
        "xxe-local-file": b'<!DOCTYPE r [<!ENTITY x SYSTEM "file://' + str(secret).encode() + b'">]><r>&x;</r>',
        "xxe-network": b'<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:%d/x">]><r>&x;</r>' % port,
        "external-dtd": b'<!DOCTYPE r SYSTEM "http://127.0.0.1:%d/r.dtd"><r/>' % port,
        "parameter-entity": b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:' + str(port).encode()
                            + b'/p.dtd"> %p;]><r/>',
        "quadratic-blowup": b'<!DOCTYPE r [<!ENTITY a "' + big + b'">]><r>' + b"&a;" * 100_000 + b"</r>",
        "lowercase-doctype": b'<!doctype r [<!entity x SYSTEM "file://' + str(secret).encode() + b'">]><r>&x;</r>',
        "xinclude": b'<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file://'
                    + str(secret).encode() + b'" parse="text"/></r>',
        "deep-nesting": b"<a>" * 100_000 + b"</a>" * 100_000,
        "huge-attribute": b'<r a="' + b"x" * 10_000_000 + b'"/>',
        "not-xml": b"\x00\xff\xfe garbage",
    }


@pytest.mark.parametrize("name", XML_ADAPTERS)
def test_hostile_documents_are_refused_quickly_without_reading_files_or_the_network(
    name: str, tmp_path: Path, listener: tuple[int, list[bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    adapter = registry.get(name)
    secret = tmp_path / "secret.txt"
    marker = "MARKER-7f3a9c-never-read"
    secret.write_text(marker)
    port, hits = listener
    timings = {}
    for label, data in corpus(secret, port).items():
        started = time.perf_counter()
        with pytest.raises(DecodeError) as info:
            adapter.decode(data)
        timings[label] = time.perf_counter() - started
        assert marker not in str(info.value), label
    time.sleep(0.3)
    assert hits == [], "the parser connected to the network"
    with capsys.disabled():
        print(f"\n{name} hostile XML refusal times (s): " + ", ".join(f"{k}={v:.4f}" for k, v in timings.items()))
