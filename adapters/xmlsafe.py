"""One hardened way to parse XML from outside, shared by every XML adapter.

Partners' XML is hostile until proven otherwise. A document type declaration is refused before the
parser sees it (no entity can then be defined, so billion laughs, quadratic blowup and XXE have
nothing to expand); the parser itself resolves no entities, loads no DTD, never touches the network,
and keeps libxml2's limits on; depth and size are bounded, and so is every attribute.
"""

from __future__ import annotations

import re

from lxml import etree

from gateway.errors import DecodeError

MAX_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64
MAX_ATTRIBUTE = 64 * 1024
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_pis=True, collect_ids=False)


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def parse(data: bytes, *, fmt: str) -> etree._Element:
    """The document's root element; DecodeError names the line or the element for anything refused."""
    if len(data) > MAX_BYTES:
        raise DecodeError(f"document of {len(data)} bytes is over the {MAX_BYTES} byte limit", fmt=fmt)
    declared = _DOCTYPE.search(data[:1024 * 1024]) or (_DOCTYPE.search(data) if len(data) > 1024 * 1024 else None)
    if declared is not None:
        raise DecodeError("document type declarations (DOCTYPE/ENTITY) are not accepted",
                          path=f"line {_line_of(data, declared.start())}", fmt=fmt)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else 0
        raise DecodeError(f"not well-formed XML: {exc.msg}", path=f"line {line}", fmt=fmt) from None
    except ValueError as exc:
        raise DecodeError(f"not XML: {exc}", fmt=fmt) from None
    if root is None:
        raise DecodeError("empty document", fmt=fmt)
    _check_shape(root, fmt)
    return root


def _check_shape(root: etree._Element, fmt: str) -> None:
    stack: list[tuple[etree._Element, int]] = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise DecodeError(f"elements nested deeper than {MAX_DEPTH}", path=f"line {element.sourceline}", fmt=fmt)
        for name, value in element.attrib.items():
            if len(value) > MAX_ATTRIBUTE:
                label = name.decode() if isinstance(name, bytes) else name
                raise DecodeError(f"attribute {label} longer than {MAX_ATTRIBUTE} characters",
                                  path=f"line {element.sourceline}", fmt=fmt)
        stack.extend((child, depth + 1) for child in element)
