"""IODEF 2.0: what we write is what the official RFC 7970 schema accepts; what others write, we read."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline_gateway.adapters.iodef import IodefAdapter
from hotline_gateway.core.errors import DecodeError
from hotline_gateway.core.model import Reporter, ReporterKind, Tlp
from hotline_gateway.core.schema import validate_case
from hotline_gateway.sim.samples import generate_cases
from tests.adapters.judge import FORMATS, judge

ADAPTER = IodefAdapter()
EXAMPLES = FORMATS / "iodef-2.0" / "examples"


def test_1000_generated_cases_encode_to_documents_the_official_xsd_accepts(tmp_path: Path) -> None:
    documents = [ADAPTER.encode(case) for case in generate_cases(1000, seed=7)]
    assert judge("iodef", documents, tmp_path, ".xml") == []


def test_decoded_documents_are_valid_canonical_cases() -> None:
    for case in generate_cases(100, seed=8):
        [back] = ADAPTER.decode(ADAPTER.encode(case))
        validate_case(back)
        assert back.case_id == case.case_id and [i.url for i in back.items] == [i.url for i in case.items]


def test_rfc7970_minimal_example_has_no_content_items_and_says_so() -> None:
    with pytest.raises(DecodeError, match="no content items"):
        ADAPTER.decode((EXAMPLES / "7.1-minimal-example.xml").read_bytes())


def test_campaign_example_with_a_url_indicator_added_decodes_to_that_url() -> None:
    text = (EXAMPLES / "7.2-indicators-from-a-campaign.xml").read_text()
    text = text.replace('<iodef:BulkObservable type="ext-value" ext-type="fqdn">',
                        '<iodef:BulkObservable type="url">').replace(
        "kj290023j09r34.example.com", "https://kj290023j09r34.example.com/a.jpg").replace(
        "09ijk23jfj0k8.example.net", "").replace("klknjwfjiowjefr923.example.org", "").replace(
        "oimireik79msd.example.org", "")
    [case] = ADAPTER.decode(text.encode())
    assert [i.url for i in case.items] == ["https://kj290023j09r34.example.com/a.jpg"]
    assert case.tlp is Tlp.GREEN and case.originator == "csirt.example.com"
    validate_case(case)


def test_reporter_travels_only_when_the_case_still_carries_one() -> None:
    case = next(iter(generate_cases(1, seed=9)))
    case.reporter = Reporter(ReporterKind.PERSON, name="Anna Zeugin", email="anna@mail.test")
    assert b'role="reporter"' in ADAPTER.encode(case) and b"anna@mail.test" in ADAPTER.encode(case)
    case.reporter = Reporter(ReporterKind.WITHHELD)
    assert b'role="reporter"' not in ADAPTER.encode(case)


def test_tlp_maps_to_iodef_restriction_and_back() -> None:
    case = next(iter(generate_cases(1, seed=10)))
    for tlp, restriction in [(Tlp.CLEAR, b'restriction="white"'), (Tlp.RED, b'restriction="red"'),
                             (Tlp.AMBER_STRICT, b'ext-restriction="amber+strict"')]:
        case.tlp = tlp
        data = ADAPTER.encode(case)
        assert restriction in data and ADAPTER.decode(data)[0].tlp is tlp


def test_a_document_in_another_namespace_is_refused_by_name() -> None:
    with pytest.raises(DecodeError, match="not IODEF-Document"):
        ADAPTER.decode(b"<report xmlns='urn:example:other'/>")
