"""STIX 2.1: bundles the official schemas accept and the OASIS library parses; others' bundles read."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import stix2

from hotline_gateway.adapters.stix import StixAdapter
from hotline_gateway.adapters.stix.markings import IDS
from hotline_gateway.core.errors import DecodeError
from hotline_gateway.core.model import Reporter, ReporterKind, Tlp
from hotline_gateway.core.schema import validate_case
from hotline_gateway.sim.samples import generate_cases
from tests.adapters.judge import FORMATS, judge

ADAPTER = StixAdapter()


def test_bundles_from_1000_generated_cases_are_accepted_by_the_official_schemas(tmp_path: Path) -> None:
    documents = [ADAPTER.encode(case) for case in generate_cases(1000, seed=13)]
    assert judge("stix", documents, tmp_path, ".json") == []


def test_bundles_parse_with_the_oasis_stix2_library() -> None:
    for case in generate_cases(100, seed=14):
        bundle = stix2.parse(orjson.loads(ADAPTER.encode(case)), allow_custom=True)  # PDQ/PhotoDNA hash keys
        report = next(o for o in bundle.objects if o.type == "report")
        assert report.id == f"report--{case.case_id}"
        assert report.object_marking_refs == [IDS[case.tlp]]


def test_the_same_case_always_gives_the_same_bundle() -> None:
    case = next(iter(generate_cases(1, seed=15)))
    assert ADAPTER.encode(case) == ADAPTER.encode(case)


def test_reporter_data_never_reaches_a_sharing_platform() -> None:
    case = next(iter(generate_cases(1, seed=16)))
    case.reporter = Reporter(ReporterKind.PERSON, name="Ola Vitne", email="ola@mail.test", phone="+47 123")
    data = ADAPTER.encode(case)
    assert b"Ola Vitne" not in data and b"ola@mail.test" not in data


def test_decoded_bundles_are_valid_cases_with_their_tlp() -> None:
    for case in generate_cases(50, seed=17):
        [back] = ADAPTER.decode(ADAPTER.encode(case))
        validate_case(back)
        assert back.tlp is case.tlp and [i.url for i in back.items] == [i.url for i in case.items]


def test_a_bundle_of_url_indicators_without_a_report_decodes_to_one_case() -> None:
    bundle = {"type": "bundle", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982", "objects": [
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--33fe3b22-0201-47cf-85d0-97c02164528d",
         "created": "2026-05-08T09:00:00.000Z", "modified": "2026-05-08T09:00:00.000Z", "pattern_type": "stix",
         "pattern": "[url:value = 'https://bad.example.org/x.jpg'] OR [file:hashes.'SHA-256' = 'aa']",
         "valid_from": "2026-05-08T09:00:00Z",
         "object_marking_refs": ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]},
        {"type": "url", "spec_version": "2.1", "id": "url--0b2c9a35-0f8e-5b0e-8a74-64c9a6a4d1b1",
         "value": "https://other.example.net/y.png"},
    ]}
    [case] = ADAPTER.decode(orjson.dumps(bundle))
    validate_case(case)
    assert sorted(i.url for i in case.items) == ["https://bad.example.org/x.jpg", "https://other.example.net/y.png"]
    assert case.tlp is Tlp.GREEN


@pytest.mark.parametrize("example", ["indicator-for-c2-ip-address.json", "infrastructure.json"])
def test_official_examples_without_urls_fail_saying_there_are_no_content_items(example: str) -> None:
    with pytest.raises(DecodeError, match="no content items"):
        ADAPTER.decode((FORMATS / "stix-2.1" / "examples" / example).read_bytes())


def test_a_malformed_pattern_is_a_decode_error_naming_the_indicator() -> None:
    bundle = {"type": "bundle", "id": "bundle--1", "objects": [
        {"type": "indicator", "id": "indicator--x", "pattern_type": "stix", "pattern": "[url:value = "}]}
    with pytest.raises(DecodeError, match="indicator--x"):
        ADAPTER.decode(orjson.dumps(bundle))
