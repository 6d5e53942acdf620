"""CyberTipline-style submissions: schema order, checked by our XSD both ways, one fileDetails per item."""

from __future__ import annotations

import pytest
from lxml import etree

from hotline_gateway.adapters.cybertip import CybertipAdapter
from hotline_gateway.core.errors import DecodeError, EncodeError
from hotline_gateway.core.model import Category
from hotline_gateway.core.schema import validate_case
from hotline_gateway.sim.samples import generate_cases

ADAPTER = CybertipAdapter()
REPORT_ORDER = ["incidentSummary", "internetDetails", "reporter", "additionalInfo"]


def test_1000_generated_cases_encode_in_schema_order_and_decode_to_valid_cases() -> None:
    written = 0
    for case in generate_cases(1000, seed=81):
        if case.category not in (Category.CSAM, Category.CSEM, Category.ADULT_MINOR_ACCESS, Category.PIMPING):
            continue
        data = ADAPTER.encode(case)
        root = etree.fromstring(data)
        report = root.find("report")
        assert report is not None and [el.tag for el in report] == REPORT_ORDER
        assert len(root.findall("fileDetails")) == len(case.items)
        [back] = ADAPTER.decode(data)
        validate_case(back)
        written += 1
    assert written > 300


def test_categories_the_clearinghouse_does_not_take_are_refused() -> None:
    case = next(c for c in generate_cases(300, seed=82) if c.category is Category.TERRORISM)
    with pytest.raises(EncodeError, match="no incident type for category terrorism"):
        ADAPTER.encode(case)


def test_children_out_of_sequence_are_refused_like_the_clearinghouse_does() -> None:
    case = next(c for c in generate_cases(300, seed=83) if c.category is Category.CSAM)
    root = etree.fromstring(ADAPTER.encode(case))
    report = root.find("report")
    assert report is not None
    summary = report.find("incidentSummary")
    assert summary is not None
    report.remove(summary)
    report.append(summary)
    with pytest.raises(DecodeError, match="not a valid submission"):
        ADAPTER.decode(etree.tostring(root))
