"""The typed model and the schema describe the same documents, and the schema has the last word."""

from __future__ import annotations

import inspect
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from functools import cache
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline_gateway.core import model
from hotline_gateway.core.model import (
    Case,
    CaseStatus,
    Category,
    Item,
    LegalClass,
    Priority,
    Reporter,
    ReporterKind,
    SourceChannel,
    Tlp,
    dump_case,
    load_case,
)
from hotline_gateway.core.schema import case_validator, validate_case_document
from hotline_gateway.core.timefmt import format_timestamp, parse_timestamp
from hotline_gateway.schemas import path as schema_path
from tests.strategies import cases, timestamps


@cache
def schema() -> dict[str, Any]:
    result: dict[str, Any] = json.loads(schema_path("case.schema.json").read_text(encoding="utf-8"))
    return result


# --- canonical JSON round trip ------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(cases)
def test_dump_of_any_valid_case_is_schema_valid_and_loads_back_to_the_same_case(case: Case) -> None:
    doc = dump_case(case)
    validate_case_document(doc)
    assert load_case(doc) == case
    assert dump_case(load_case(doc)) == doc


@settings(max_examples=100, deadline=None)
@given(cases)
def test_canonical_json_survives_serialisation_to_bytes_unchanged(case: Case) -> None:
    """What goes over the wire is bytes: encoding and decoding them must not alter the document."""
    doc = dump_case(case)
    wire = orjson.loads(orjson.dumps(doc))
    assert wire == doc
    assert dump_case(load_case(wire)) == doc


def test_dump_omits_absent_values_and_empty_lists_so_that_the_schema_accepts_it() -> None:
    case = Case(
        case_id=uuid.UUID("1b4e28ba-2fa1-41d2-883f-0016d3cca427"),
        received_at=datetime(2025, 3, 1, 10, 15, tzinfo=UTC),
        source_channel=SourceChannel.WEB_FORM,
        reporter=Reporter(ReporterKind.ANONYMOUS),
        originator="FR-PDC",
        category=Category.CSAM,
        tlp=Tlp.AMBER,
        priority=Priority.HIGH,
        status=CaseStatus.NEW,
        items=[Item(uuid.UUID(int=1), LegalClass.BASELINE, "https://example.org/a.jpg")],
    )
    doc = dump_case(case)
    assert set(doc) == set(schema()["$defs"]["Case"]["required"])
    assert doc["items"] == [
        {"item_id": str(uuid.UUID(int=1)), "url": "https://example.org/a.jpg", "legal_class": "baseline"}
    ]
    assert doc["reporter"] == {"kind": "anonymous"}
    validate_case_document(doc)


def test_hand_written_canonical_document_round_trips_exactly(case_doc: dict[str, Any]) -> None:
    assert dump_case(load_case(case_doc)) == case_doc


# --- enums: the schema is the single source of truth ------------------------------------------------------

#: model enums whose schema value list is inline in a property rather than a ``$defs`` entry of the same name
_INLINE = {
    "ReporterKind": ("Reporter", "kind"),
    "CustodyEvent": ("CustodyEntry", "event"),
    "MessageType": ("Message", "type"),
    "LifecycleKind": ("Lifecycle", "kind"),
}


def _model_enums() -> list[type[StrEnum]]:
    return [
        cls
        for _, cls in inspect.getmembers(model, inspect.isclass)
        if issubclass(cls, StrEnum) and cls is not StrEnum and cls.__module__ == model.__name__
    ]


def _schema_location(name: str) -> str:
    if name in _INLINE:
        definition, prop = _INLINE[name]
        return f"/$defs/{definition}/properties/{prop}"
    return f"/$defs/{name}"


def _resolve(pointer: str) -> dict[str, Any]:
    node: Any = schema()
    for part in pointer.strip("/").split("/"):
        node = node[part]
    assert isinstance(node, dict)
    return node


def _schema_enum_locations(node: Any, pointer: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        if "enum" in node:
            yield pointer
        for key, value in node.items():
            yield from _schema_enum_locations(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _schema_enum_locations(value, f"{pointer}/{i}")


@pytest.mark.parametrize("enum_cls", _model_enums(), ids=lambda c: c.__name__)
def test_model_enum_has_exactly_the_schema_values_in_schema_order(enum_cls: type[StrEnum]) -> None:
    """Order matters too: ``Tlp.rank`` compares sensitivity by position."""
    location = _schema_location(enum_cls.__name__)
    assert [member.value for member in enum_cls] == _resolve(location)["enum"], location


def test_every_value_list_in_the_schema_has_a_model_enum() -> None:
    """A value list added to the schema without a model enum would be invisible to typed code."""
    modelled = {_schema_location(cls.__name__) for cls in _model_enums()}
    assert set(_schema_enum_locations(schema())) == modelled


def test_tlp_rank_orders_by_sensitivity() -> None:
    assert [t.rank for t in (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED)] == [0, 1, 2, 3, 4]


# --- timestamps -------------------------------------------------------------------------------------------


def _timestamp_pattern() -> re.Pattern[str]:
    return re.compile(schema()["$defs"]["Timestamp"]["pattern"])


def test_whole_second_timestamp_is_written_without_fraction() -> None:
    assert format_timestamp(datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2025-01-02T03:04:05Z"


def test_microseconds_are_written_as_exactly_six_digits() -> None:
    assert format_timestamp(datetime(2025, 1, 2, 3, 4, 5, 7, tzinfo=UTC)) == "2025-01-02T03:04:05.000007Z"
    assert format_timestamp(datetime(2025, 1, 2, 3, 4, 5, 120000, tzinfo=UTC)) == "2025-01-02T03:04:05.120000Z"


def test_other_offsets_are_converted_to_utc() -> None:
    paris = timezone(timedelta(hours=1))
    assert format_timestamp(datetime(2025, 1, 1, 0, 30, tzinfo=paris)) == "2024-12-31T23:30:00Z"


def test_naive_datetime_is_taken_as_utc() -> None:
    assert format_timestamp(datetime(2025, 1, 2, 3, 4, 5)) == "2025-01-02T03:04:05Z"


def test_parse_gives_an_aware_utc_datetime() -> None:
    parsed = parse_timestamp("2025-01-02T03:04:05.250000Z")
    assert parsed == datetime(2025, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(0)


@given(timestamps)
def test_formatted_timestamp_matches_the_schema_and_parses_back_to_the_same_instant(moment: datetime) -> None:
    text = format_timestamp(moment)
    assert _timestamp_pattern().fullmatch(text), text
    assert parse_timestamp(text) == moment
    assert format_timestamp(parse_timestamp(text)) == text


@given(st.sampled_from(["2025-06-30T23:59:59Z", "2000-02-29T00:00:00.000001Z", "1999-12-31T12:00:00.999999Z"]))
def test_canonical_timestamp_text_is_a_fixed_point_of_parse_then_format(text: str) -> None:
    assert format_timestamp(parse_timestamp(text)) == text


def test_non_canonical_timestamp_is_rejected_by_the_schema(case_doc: dict[str, Any]) -> None:
    """Offsets and fraction lengths other than six digits are not canonical: the schema refuses them."""
    for bad in ("2025-03-01T11:15:00+01:00", "2025-03-01T10:15:00.5Z", "2025-03-01 10:15:00Z"):
        case_doc["received_at"] = bad
        assert [p.path for p in case_validator().problems(case_doc)] == ["$.received_at"], bad


@settings(max_examples=300, deadline=None)
@given(case=cases)
def test_the_native_encoding_is_the_canonical_json_with_sorted_keys_byte_for_byte(case: Case) -> None:
    """The native adapter writes cases with msgspec; what it writes must be exactly the canonical bytes
    (orjson over the canonical document, keys sorted), which signatures and stored digests are over."""
    from hotline_gateway.adapters import registry

    assert registry.get("native").encode(case) == orjson.dumps(dump_case(case), option=orjson.OPT_SORT_KEYS)
