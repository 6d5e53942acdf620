"""Hardened XML for every XML adapter: one way to read documents from outside, one way to write text.

Partners' XML is hostile until proven otherwise, so reading is layered:

1. size: anything over ``MAX_BYTES`` is refused unread;
2. encoding: the document's encoding is sniffed as the XML spec's Appendix F does (BOM or the bytes of
   ``<?``); only UTF-8/16/32, ASCII and the ISO-8859 / Windows code pages are taken, because in those a
   declaration cannot hide (UTF-7, ISO-2022 or EBCDIC could spell ``<!DOCTYPE`` with other bytes);
3. declarations: any ``<!DOCTYPE`` or ``<!ENTITY``, in any letter case, is refused before the parser
   runs, so no entity can exist (billion laughs, quadratic blowup, XXE and external DTDs have nothing to
   expand or fetch);
4. the parser itself resolves no entities, loads no DTD, never uses the network, keeps libxml2's
   limits (no ``huge_tree``) and drops processing instructions and comments; it is fed in chunks so
   that depth, element count and attribute length are enforced while parsing, not after;
5. a document type that still reached the tree (defence in depth) is refused.

Values: ``xs_datetime`` reads an xs:dateTime into an aware UTC datetime; ``is_any_uri`` asks libxml2's
own XML Schema types whether a URL is an xs:anyURI (the canonical URL pattern is wider: a stray ``%``
or a second ``#`` pass it).

Writing: lxml already refuses text XML 1.0 cannot carry (control characters, U+FFFE, lone surrogates);
``set_text`` turns that refusal into an ``EncodeError`` naming the field.
"""

from __future__ import annotations

import codecs
import functools
import re
from datetime import UTC, datetime

from lxml import etree

from hotline_gateway.core.errors import DecodeError, EncodeError

MAX_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64
MAX_ELEMENTS = 250_000
MAX_ATTRIBUTE = 64 * 1024
_CHUNK = 64 * 1024

_DECLARATION = re.compile(r"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_DECLARATION_BYTES = re.compile(_DECLARATION.pattern.encode(), re.IGNORECASE)
_XML_DECL_ENCODING = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']")
#: Appendix F: byte patterns of a document's start that fix a non-ASCII-compatible encoding family
_WIDE = [
    (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"), (b"\x00<", "utf-16-be"), (b"<\x00", "utf-16-le"),
]
_EBCDIC = b"\x4c\x6f\xa7\x94"


def _parser() -> etree.XMLPullParser:
    # A fresh parser per document: lxml parsers must not be shared between threads.
    return etree.XMLPullParser(
        events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        attribute_defaults=False, huge_tree=False, remove_pis=True, remove_comments=True, collect_ids=False,
    )


def _line_of(data: bytes, offset: int) -> str:
    newlines = data.count(b"\n", 0, offset)
    return f"line {newlines + 1}"


def _ascii_family_ok(name: str) -> bool:
    """Encodings in which every ASCII character is its own single byte and no byte sequence shifts state."""
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return False
    return codec in ("utf-8", "ascii") or codec.startswith(("iso8859-", "latin", "cp125"))


def _refuse_declarations(data: bytes, fmt: str) -> None:
    """DecodeError for a DTD or entity declaration, or for an encoding in which one could hide."""
    if data.startswith(_EBCDIC):
        raise DecodeError("EBCDIC documents are not accepted", path="line 1", fmt=fmt)
    wide = next((codec for prefix, codec in _WIDE if data.startswith(prefix)), None)
    if wide is not None:
        found = _DECLARATION.search(data.decode(wide, errors="replace"))
        if found is not None:
            raise DecodeError("document type and entity declarations (DOCTYPE/ENTITY) are not accepted",
                              path=f"character {found.start()}", fmt=fmt)
        return
    declared = _XML_DECL_ENCODING.match(data)
    if declared is not None and not _ascii_family_ok(declared.group(1).decode("ascii")):
        raise DecodeError(f"encoding {declared.group(1).decode('ascii')!r} is not accepted (use UTF-8)",
                          path="line 1", fmt=fmt)
    found_bytes = _DECLARATION_BYTES.search(data)
    if found_bytes is not None:
        raise DecodeError("document type and entity declarations (DOCTYPE/ENTITY) are not accepted",
                          path=_line_of(data, found_bytes.start()), fmt=fmt)


class _Limits:
    """Depth, element count and attribute length, checked on each start tag as the parser reports it."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.depth = 0
        self.count = 0

    def check(self, parser: etree.XMLPullParser) -> None:
        for event, element in parser.read_events():
            assert isinstance(element, etree._Element)  # "start"/"end" events carry elements
            if event == "end":
                self.depth -= 1
                continue
            self.depth += 1
            self.count += 1
            where = f"line {element.sourceline}"
            if self.depth > MAX_DEPTH:
                raise DecodeError(f"elements nested deeper than {MAX_DEPTH}", path=where, fmt=self.fmt)
            if self.count > MAX_ELEMENTS:
                raise DecodeError(f"more than {MAX_ELEMENTS} elements", path=where, fmt=self.fmt)
            for name, value in element.attrib.items():
                if len(value) > MAX_ATTRIBUTE:
                    raise DecodeError(f"attribute {name!s} longer than {MAX_ATTRIBUTE} characters", path=where,
                                      fmt=self.fmt)


def parse(data: bytes, *, fmt: str) -> etree._Element:
    """The root element of a document from outside; DecodeError naming the line for anything refused."""
    if len(data) > MAX_BYTES:
        raise DecodeError(f"document of {len(data)} bytes is over the {MAX_BYTES} byte limit", fmt=fmt)
    if not data.strip():
        raise DecodeError("empty document", fmt=fmt)
    _refuse_declarations(data, fmt)
    parser = _parser()
    limits = _Limits(fmt)
    etree.clear_error_log()  # the pull parser reports into this thread's log: keep only this document's errors
    try:
        for start in range(0, len(data), _CHUNK):
            parser.feed(data[start:start + _CHUNK])
            limits.check(parser)
        root = parser.close()
        limits.check(parser)
    except etree.XMLSyntaxError as exc:
        # The log holds the root cause; the exception itself may only say how parsing ended.
        first = next(iter(exc.error_log), None)  # type: ignore[call-overload]
        line, column = (first.line, first.column) if first else (exc.position or (0, 0))
        message = (first.message if first else exc.msg.split(", line ")[0]).strip()
        raise DecodeError(f"not well-formed XML: {message}", path=f"line {line}, column {column}", fmt=fmt) from None
    except etree.LxmlError as exc:
        raise DecodeError(f"not XML: {exc}", fmt=fmt) from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise DecodeError("document type declarations are not accepted", path="line 1", fmt=fmt)
    return root


def set_text(element: etree._Element, text: str, *, field: str) -> None:
    """Set an element's text, or raise EncodeError naming the field when XML 1.0 cannot carry it."""
    try:
        element.text = text
    except ValueError:
        raise EncodeError(f"{field} holds characters XML 1.0 cannot carry (control characters or non-characters)"
                          ) from None


def set_attribute(element: etree._Element, name: str, value: str, *, field: str) -> None:
    """Set an attribute, or raise EncodeError naming the field when XML 1.0 cannot carry its value."""
    try:
        element.set(name, value)
    except ValueError:
        raise EncodeError(f"{field} holds characters XML 1.0 cannot carry (control characters or non-characters)"
                          ) from None


def xs_datetime(text: str) -> datetime:
    """An xs:dateTime as an aware UTC datetime (no zone: UTC); ValueError when it is not one within 1-9999."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} falls outside years 1-9999 in UTC") from None


@functools.cache
def _any_uri_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.fromstring(
        b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="u" type="xs:anyURI"/></xs:schema>'))


def is_any_uri(text: str) -> bool:
    """Whether XML Schema (libxml2's implementation, which the official schemas are judged by) takes
    ``text`` as an xs:anyURI."""
    element = etree.Element("u")
    try:
        element.text = text
    except ValueError:
        return False
    return _any_uri_schema().validate(element)
