"""The hardened XML reader's limits and everyday behaviour (the hostile corpus itself is in tests/hostile):
depth, attribute length and element count bounded while parsing, errors naming the place, ordinary
encodings read."""

from __future__ import annotations

import pytest

from hotline_gateway.core import xmlsafe
from hotline_gateway.core.errors import DecodeError


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
    with pytest.raises(DecodeError, match=r"\(DOCTYPE, ENTITY\)") as info:
        xmlsafe.parse(b"<r>\n\n<![CDATA[ <!ENTITY x 'y'> ]]></r>", fmt="test")
    assert info.value.path == "line 3"
