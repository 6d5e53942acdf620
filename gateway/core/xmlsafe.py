"""Hardened XML for every XML path: one way to read documents from outside, one way to write text.

Partners' XML (and API answers) is hostile until proven otherwise. The defence is the parser itself,
whatever the document's encoding or byte order mark:

- libxml2 is configured never to substitute entities, load a DTD, validate, add attribute defaults,
  use the network or lift its own limits (``huge_tree``); processing instructions and comments are
  dropped and XInclude is never run;
- libxml2 still asks for an external DTD subset or an external parameter entity even with DTD loading
  off, so every parser carries a resolver that answers *every* request with nothing: no file is
  opened (not even to see whether it exists) and no connection is made, so the answer is the same
  whether a named file exists or not;
- the document type is checked on the first start tag, before the body is read, and after parsing
  (a document that has one at all is refused: no partner format needs a DTD);
- size is bounded before parsing; depth, element count and attribute length while parsing (the
  document is fed in chunks and each chunk's start tags are counted before the next is read).

A cheap byte-level look for ``<!DOCTYPE``/``<!ENTITY`` runs first, as an optimisation only: it spares
the parse of an obviously refused document. The tests prove the parser alone is safe with it bypassed
(``parse(..., early_refusal=False)``). A fresh parser per document keeps decoding thread-safe.

Values: ``xs_datetime`` reads an xs:dateTime into an aware UTC datetime; ``is_any_uri`` asks libxml2's
own XML Schema types whether a URL is an xs:anyURI (the canonical URL pattern is wider: a stray ``%``
or a second ``#`` pass it).

Writing: lxml already refuses text XML 1.0 cannot carry (control characters, U+FFFE, lone surrogates);
``set_text`` turns that refusal into an ``EncodeError`` naming the field.
"""

from __future__ import annotations

import codecs
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree

from hotline_gateway.core.errors import DecodeError, EncodeError

MAX_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64
MAX_ELEMENTS = 250_000
MAX_ATTRIBUTE = 64 * 1024
_CHUNK = 64 * 1024
#: the one answer for any document that declares a document type, however it was found
DOCTYPE_REFUSED = "document type declarations (DOCTYPE, ENTITY) are not accepted"

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


class _RefuseEveryResolution(etree.Resolver):
    """Answers every request for an external DTD subset or entity with an empty document.

    Returning None would hand the request to libxml2's default loader, which opens files; answering
    ourselves means nothing outside the document is ever opened or fetched. ``asked`` records that the
    document tried, which only a document type declaration can do: it is refused for that.
    """

    def __init__(self) -> None:
        super().__init__()
        self.asked = False

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:  # type: ignore[override]
        # (lxml-stubs lack the context argument lxml passes)
        self.asked = True
        return self.resolve_string("", context, base_url=None)


def _parser() -> tuple[etree.XMLPullParser, _RefuseEveryResolution]:
    """A fresh parser per document (lxml parsers must not be shared between threads) and its resolver."""
    parser = etree.XMLPullParser(
        events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        attribute_defaults=False, huge_tree=False, remove_pis=True, remove_comments=True, collect_ids=False,
    )
    resolver = _RefuseEveryResolution()
    parser.resolvers.add(resolver)
    return parser, resolver


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


def _declaration_at(data: bytes) -> str | None:
    """Where a ``<!DOCTYPE``/``<!ENTITY`` stands in the document, read in its sniffed encoding (None: none)."""
    wide = next((codec for prefix, codec in _WIDE if data.startswith(prefix)), None)
    if wide is not None:
        found = _DECLARATION.search(data.decode(wide, errors="replace"))
        return None if found is None else f"character {found.start()}"
    found_bytes = _DECLARATION_BYTES.search(data)
    return None if found_bytes is None else _line_of(data, found_bytes.start())


def _early_refusal(data: bytes, fmt: str) -> None:
    """An optimisation, not the defence: refuse without parsing a document that plainly declares a DTD or
    entity, or that is in an encoding we do not take (EBCDIC, UTF-7, ISO-2022...)."""
    if data.startswith(_EBCDIC):
        raise DecodeError("EBCDIC documents are not accepted", path="line 1", fmt=fmt)
    declared = _XML_DECL_ENCODING.match(data)
    if declared is not None and not _ascii_family_ok(declared.group(1).decode("ascii")):
        raise DecodeError(f"encoding {declared.group(1).decode('ascii')!r} is not accepted (use UTF-8)",
                          path="line 1", fmt=fmt)
    where = _declaration_at(data)
    if where is not None:
        raise DecodeError(DOCTYPE_REFUSED, path=where, fmt=fmt)


def _has_doctype(tree: etree._ElementTree) -> bool:
    info: Any = tree.docinfo  # (lxml-stubs lack doctype)
    return bool(info.doctype or info.internalDTD is not None or info.externalDTD is not None or info.system_url
                or info.public_id)


class _Limits:
    """Depth, element count and attribute length, checked on each start tag as the parser reports it; the
    document type on the first one, before any of the body has been read."""

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
            if self.count == 1 and _has_doctype(element.getroottree()):
                raise DecodeError(DOCTYPE_REFUSED, path="prolog", fmt=self.fmt)
            where = f"line {element.sourceline}"
            if self.depth > MAX_DEPTH:
                raise DecodeError(f"elements nested deeper than {MAX_DEPTH}", path=where, fmt=self.fmt)
            if self.count > MAX_ELEMENTS:
                raise DecodeError(f"more than {MAX_ELEMENTS} elements", path=where, fmt=self.fmt)
            for name, value in element.attrib.items():
                if len(value) > MAX_ATTRIBUTE:
                    raise DecodeError(f"attribute {name!s} longer than {MAX_ATTRIBUTE} characters", path=where,
                                      fmt=self.fmt)


def parse(data: bytes, *, fmt: str, early_refusal: bool = True) -> etree._Element:
    """The root element of a document from outside; DecodeError naming the place for anything refused.

    ``early_refusal=False`` skips the byte-level shortcut, leaving the parser alone as the defence (tests).
    """
    if len(data) > MAX_BYTES:
        raise DecodeError(f"document of {len(data)} bytes is over the {MAX_BYTES} byte limit", fmt=fmt)
    if not data.strip():
        raise DecodeError("empty document", fmt=fmt)
    if early_refusal:
        _early_refusal(data, fmt)
    parser, resolver = _parser()
    limits = _Limits(fmt)
    etree.clear_error_log()  # the pull parser reports into this thread's log: keep only this document's errors
    try:
        for start in range(0, len(data), _CHUNK):
            parser.feed(data[start:start + _CHUNK])
            limits.check(parser)
        root = parser.close()
        limits.check(parser)
    except etree.XMLSyntaxError as exc:
        if resolver.asked or _declaration_at(data) is not None:
            # The parser stopped safely (nothing was loaded); the answer names the declaration rather than
            # whatever libxml2 tripped on inside it, so it is one answer for every such document.
            raise DecodeError(DOCTYPE_REFUSED, path="prolog", fmt=fmt) from None
        # The log holds the root cause; the exception itself may only say how parsing ended.
        first = next(iter(exc.error_log), None)  # type: ignore[call-overload]
        line, column = (first.line, first.column) if first else (exc.position or (0, 0))
        message = (first.message if first else exc.msg.split(", line ")[0]).strip()
        raise DecodeError(f"not well-formed XML: {message}", path=f"line {line}, column {column}", fmt=fmt) from None
    except etree.LxmlError as exc:
        raise DecodeError(f"not XML: {type(exc).__name__}", fmt=fmt) from None
    if resolver.asked or _has_doctype(root.getroottree()):
        raise DecodeError(DOCTYPE_REFUSED, path="prolog", fmt=fmt)
    return root


def trusted_schema(file: Path) -> etree.XMLSchema:
    """An XML Schema we ship (our own file), read through the same refusing resolver: a schema that tried
    to import or include anything from outside would fail to compile rather than fetch it.

    One compiled schema per thread (``_per_thread``): decoding runs in worker threads, and lxml does not
    promise that one validator may be used by several threads at once."""
    return _per_thread(("schema", str(file)), lambda: _compile(file.read_bytes()))


_THREAD = threading.local()


def _per_thread(key: Any, make: Callable[[], etree.XMLSchema]) -> etree.XMLSchema:
    cache: dict[Any, etree.XMLSchema] = _THREAD.__dict__.setdefault("schemas", {})
    if key not in cache:
        cache[key] = make()
    return cache[key]


def _compile(data: bytes) -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    parser.resolvers.add(_RefuseEveryResolution())
    return etree.XMLSchema(etree.fromstring(data, parser))


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


def _any_uri_schema() -> etree.XMLSchema:
    return _per_thread("any-uri", lambda: _compile(
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
