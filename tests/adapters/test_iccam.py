"""ICCAM-style reports: numeric value lists through versioned mapping tables, checked by our schema."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from hotline_gateway.adapters.iccam import IccamAdapter
from hotline_gateway.core.errors import DecodeError
from hotline_gateway.core.model import AgeGroup, LegalClass, ReporterKind
from hotline_gateway.core.schema import SchemaValidator, validate_case
from hotline_gateway.sim.samples import generate_cases

ADAPTER = IccamAdapter()


@pytest.fixture
def report() -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(ADAPTER.encode(next(iter(generate_cases(1, seed=71)))))
    return doc


def test_1000_generated_cases_encode_to_reports_our_schema_accepts_and_decode_to_valid_cases() -> None:
    assert ADAPTER.schema_path is not None
    validator = SchemaValidator.from_file(ADAPTER.schema_path)
    for case in generate_cases(1000, seed=72):
        data = ADAPTER.encode(case)
        assert validator.problems(orjson.loads(data)) == []
        [back] = ADAPTER.decode(data)
        validate_case(back)


def test_value_lists_travel_as_the_numbers_of_mapping_v1() -> None:
    case = next(iter(generate_cases(1, seed=73)))
    case.items[0].legal_class, case.items[0].age_group = LegalClass.NATIONAL, AgeGroup.PRE_PUBESCENT
    url = orjson.loads(ADAPTER.encode(case))["urls"][0]
    assert url["assessment"]["classification"] == 2 and url["assessment"]["ageCategorization"] == 3


def test_an_unknown_mapping_version_is_refused_by_name(report: dict[str, Any]) -> None:
    report["mappingVersion"] = 9
    with pytest.raises(DecodeError, match="unknown value-list mapping version 9") as info:
        ADAPTER.decode(orjson.dumps(report))
    assert info.value.path == "$.mappingVersion"


def test_an_unknown_numeric_value_is_refused_naming_its_json_path(report: dict[str, Any]) -> None:
    report["urls"][0]["assessment"]["classification"] = 9
    with pytest.raises(DecodeError) as info:
        ADAPTER.decode(orjson.dumps(report))
    assert info.value.path == "$.urls[0].assessment.classification"


def test_the_reporter_never_travels_between_hotlines_in_iccam() -> None:
    case = next(c for c in generate_cases(100, seed=74) if c.reporter.name)
    data = ADAPTER.encode(case)
    assert case.reporter.name and case.reporter.name.encode() not in data
    assert ADAPTER.decode(data)[0].reporter.kind is ReporterKind.WITHHELD
