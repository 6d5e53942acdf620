"""JSON from outside is RFC 8259 JSON exchanged between systems: UTF-8 only, whatever Python could guess."""

from __future__ import annotations

import json

import pytest

from hotline_gateway.core.errors import ValidationError
from hotline_gateway.core.jsonstrict import loads_document

DOC = {"case_id": "c-1", "note": "Zürich ✓"}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "utf-8-sig"])
def test_json_in_another_encoding_than_plain_utf8_is_refused_naming_it(encoding: str) -> None:
    data = json.dumps(DOC, indent=1).encode(encoding)
    with pytest.raises(ValidationError) as err:
        loads_document(data)
    assert "UTF-8" in str(err.value) or "BOM" in str(err.value)


def test_utf8_json_in_any_layout_is_read() -> None:
    assert loads_document(json.dumps(DOC, indent=1, ensure_ascii=False).encode()) == DOC
    assert loads_document(json.dumps(DOC, separators=(",", ":"), ensure_ascii=False).encode()) == DOC
