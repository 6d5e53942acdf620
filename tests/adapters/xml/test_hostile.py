"""Hostile XML: every attack in the corpus is refused with a DecodeError, reads no file, opens no connection.

Proof is behavioural, not a stopwatch: a secret file holds a unique marker that must never appear in any
result or error, and a loopback listener records every connection attempt (there must be none). libxml2
does its own I/O in C, past any Python-level patch, which is why the listener and the marker are the
real witnesses; Python's ``open`` and ``socket.connect`` are made to fail as well, for any Python code
on the path. Refusal times are printed (``pytest -s``), not asserted.
"""

from __future__ import annotations

import builtins
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lxml import etree

from hotline_gateway.core import xmlsafe
from hotline_gateway.core.errors import DecodeError
from hotline_gateway.sim.samples import generate_cases
from tests.adapters.xml.support import CYBERTIP, IODEF

MARKER = "MARKER-5b1e0c9d-must-never-be-read"
TARGETS: dict[str, Callable[[bytes], object]] = {
    "xmlsafe": lambda data: xmlsafe.parse(data, fmt="test"),
    "iodef": IODEF.decode,
    "cybertip": CYBERTIP.decode,
}


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback TCP port that records every connection made to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.1)
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


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(MARKER)
    return path


@pytest.fixture
def no_python_io(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any Python-level file open or socket connect during parsing fails the test loudly."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"I/O attempted during parsing: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(builtins, "open", refuse)


def corpus(secret: Path, port: int) -> dict[str, bytes]:
    file_uri = secret.as_uri().encode()
    net = b"http://127.0.0.1:%d/x" % port
    lol = b"".join(b'<!ENTITY l%d "%s">' % (i, b"&l%d;" % (i - 1) * 10) for i in range(1, 11))
    blob = b"A" * 100_000
    xxe_utf16 = f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x SYSTEM "{secret.as_uri()}">]>' \
                "<r>&x;</r>"
    return {
        "billion-laughs": b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">' + lol + b"]><r>&l10;</r>",
        "xxe-local-file": b'<!DOCTYPE r [<!ENTITY x SYSTEM "' + file_uri + b'">]><r>&x;</r>',
        "xxe-network-listener": b'<!DOCTYPE r [<!ENTITY x SYSTEM "' + net + b'">]><r>&x;</r>',
        "xxe-network-port-9": b'<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:9/">]><r>&x;</r>',
        "external-dtd": b'<!DOCTYPE r SYSTEM "' + net + b'"><r/>',
        "parameter-entity": b'<!DOCTYPE r [<!ENTITY % p SYSTEM "' + net + b'"> %p;]><r/>',
        "quadratic-blowup": b'<!DOCTYPE r [<!ENTITY a "' + blob + b'">]><r>' + b"&a;" * 100_000 + b"</r>",
        "lowercase-doctype-after-bom": b'\xef\xbb\xbf<!doctype r [<!entity x SYSTEM "' + file_uri + b'">]><r>&x;</r>',
        "doctype-in-utf16": xxe_utf16.encode("utf-16"),
        "doctype-smuggled-in-utf7": b'<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE r+AD4-<r/>',
        "ebcdic": "<?xml version='1.0'?><r/>".encode("cp037"),
        "deep-nesting-100k": b"<a>" * 100_000 + b"</a>" * 100_000,
        "huge-attribute-10MB": b'<r a="' + b"x" * 10_000_000 + b'"/>',
        "over-size-limit": b"<r>" + b" " * xmlsafe.MAX_BYTES + b"</r>",
        "undefined-entity": b"<r>&x;</r>",
        "not-xml": b"\x00\xff\xfe garbage",
    }


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_hostile_document_is_refused_without_reading_files_or_the_network(
    target: str, secret: Path, listener: tuple[int, list[bytes]], no_python_io: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port, hits = listener
    timings = {}
    for label, data in corpus(secret, port).items():
        started = time.perf_counter()
        with pytest.raises(DecodeError) as refused:
            TARGETS[target](data)
        timings[label] = time.perf_counter() - started
        assert MARKER not in str(refused.value), label
        assert refused.value.path != "$" or "limit" in str(refused.value), f"{label}: no place named"
    time.sleep(0.2)  # let a connection, had there been one, reach the listener
    assert hits == [], "the parser connected to the network"
    with capsys.disabled():
        print(f"\n{target} refusal times (ms): " + ", ".join(f"{k} {v * 1000:.1f}" for k, v in timings.items()))


def test_the_parser_alone_neither_expands_nor_fetches_entities(secret: Path, listener: tuple[int, list[bytes]]) -> None:
    """Defence in depth: were a declaration to slip past the pre-check, the parser still would not read the
    file, fetch the URL or expand the entity."""
    port, hits = listener
    data = (b'<!DOCTYPE r [<!ENTITY x SYSTEM "' + secret.as_uri().encode() + b'">'
            b'<!ENTITY y SYSTEM "http://127.0.0.1:%d/y"><!ENTITY z "zzzz">]><r>&x;&y;&z;</r>' % port)
    parser = xmlsafe._parser()
    parser.feed(data)
    root = parser.close()
    time.sleep(0.2)
    assert root.text is None and [type(child) for child in root] == [etree._Entity] * 3  # references, unexpanded
    assert MARKER not in etree.tostring(root, method="text", encoding="unicode")
    assert hits == []


def test_xinclude_is_never_processed(secret: Path) -> None:
    """An XInclude in an otherwise good document is inert: decoding works and the file never shows up."""
    case = next(generate_cases(1, seed=3))
    data = IODEF.encode(case).replace(
        b"<GenerationTime>",
        b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="' + secret.as_uri().encode()
        + b'" parse="text"/><GenerationTime>', 1)
    assert b"xi:include" in data
    cases = IODEF.decode(data)
    assert all(MARKER not in repr(c) for c in cases)


@pytest.mark.parametrize(("depth", "refused"), [(xmlsafe.MAX_DEPTH, False), (xmlsafe.MAX_DEPTH + 1, True)])
def test_nesting_is_bounded_at_max_depth_and_the_error_names_the_line(depth: int, refused: bool) -> None:
    data = b"<a>\n" * depth + b"</a>" * depth
    if not refused:
        assert xmlsafe.parse(data, fmt="test").tag == "a"
        return
    with pytest.raises(DecodeError, match=f"deeper than {xmlsafe.MAX_DEPTH}") as info:
        xmlsafe.parse(data, fmt="test")
    assert info.value.path == f"line {xmlsafe.MAX_DEPTH + 1}"


@pytest.mark.parametrize(("size", "refused"), [(xmlsafe.MAX_ATTRIBUTE, False), (xmlsafe.MAX_ATTRIBUTE + 1, True)])
def test_attributes_are_bounded_at_max_attribute(size: int, refused: bool) -> None:
    data = b'<r>\n<e big="' + b"x" * size + b'"/></r>'
    if not refused:
        xmlsafe.parse(data, fmt="test")
        return
    with pytest.raises(DecodeError, match="attribute big longer than") as info:
        xmlsafe.parse(data, fmt="test")
    assert info.value.path == "line 2"


def test_element_count_is_bounded() -> None:
    data = b"<r>" + b"<e/>" * xmlsafe.MAX_ELEMENTS + b"</r>"
    with pytest.raises(DecodeError, match=f"more than {xmlsafe.MAX_ELEMENTS} elements"):
        xmlsafe.parse(data, fmt="test")


def test_syntax_errors_name_line_and_column() -> None:
    with pytest.raises(DecodeError, match="mismatch") as info:
        xmlsafe.parse(b"<r>\n  <a></b>\n</r>", fmt="test")
    assert info.value.path.startswith("line 2, column ")


@pytest.mark.parametrize("data", [
    "<?xml version='1.0' encoding='UTF-16'?><r>Zoë</r>".encode("utf-16"),
    "<?xml version='1.0' encoding='ISO-8859-1'?><r>Zoë</r>".encode("iso-8859-1"),
    "<?xml version='1.0' encoding='windows-1252'?><r>Zoë</r>".encode("cp1252"),
    "\ufeff<r>Zoë</r>".encode(),
], ids=["utf-16", "iso-8859-1", "windows-1252", "utf-8-bom"])
def test_ordinary_encodings_are_read(data: bytes) -> None:
    """The encoding gate refuses only encodings a declaration could hide in, not everyday ones."""
    assert xmlsafe.parse(data, fmt="test").text == "Zoë"


def test_a_declaration_is_refused_wherever_it_stands() -> None:
    """Even after the root element (where XML forbids it anyway) the pre-check names its line."""
    with pytest.raises(DecodeError, match="DOCTYPE/ENTITY") as info:
        xmlsafe.parse(b"<r>\n\n<![CDATA[ <!ENTITY x 'y'> ]]></r>", fmt="test")
    assert info.value.path == "line 3"
