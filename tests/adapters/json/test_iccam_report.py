"""``iccam``: ICCAM-style reports, numeric value lists through versioned tables, our schema both ways."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings

from hotline_gateway.adapters.iccam import IccamAdapter, mapping
from hotline_gateway.adapters.iccam.decode import read_report
from hotline_gateway.adapters.iccam.fields import FLAGS
from hotline_gateway.core.errors import DecodeError
from hotline_gateway.core.model import (
    Action,
    ActionType,
    AgeGroup,
    Case,
    Category,
    Commerciality,
    ContentType,
    Gender,
    Hash,
    HashAlgo,
    Hosting,
    LegalClass,
    Reporter,
    ReporterKind,
    SiteType,
    Tlp,
)
from hotline_gateway.schemas import path as schema_path
from hotline_gateway.sim.samples import generate_cases
from tests.adapters.json.support import CANONICAL_PATHS, carried, covered, readme_fields, schema_judge
from tests.strategies import addressed_cases as cases

ADAPTER = IccamAdapter()
JUDGE = schema_judge(schema_path("iccam/report.schema.json"))
README = Path(__file__).parents[3] / "adapters" / "iccam" / "README.md"
#: canonical value list behind each numbered ICCAM list (contentType is ICCAM's own media/website)
LISTS = {"classification": LegalClass, "ageCategorization": AgeGroup, "genderCategorization": Gender,
         "commerciality": Commerciality, "mediaType": ContentType, "siteType": SiteType, "actionType": ActionType}


def full_case() -> Case:
    """A generated case with every numbered field filled in on its first item, and an action."""
    case = next(iter(generate_cases(1, seed=401)))
    item = case.items[0]
    item.media_type, item.site_type, item.commerciality = ContentType.VIDEO, SiteType.FORUM, Commerciality.COMMERCIAL
    item.age_group, item.gender, item.legal_class = AgeGroup.PUBESCENT, Gender.BOTH, LegalClass.NATIONAL
    item.actions = [Action(ActionType.SENT_TO_ISP, datetime(2025, 3, 1, 10, tzinfo=UTC), by="analyst-01")]
    return case


@pytest.fixture
def report() -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(ADAPTER.encode(full_case()))
    return doc


def decode_doc(doc: Any) -> list[Case]:
    return ADAPTER.decode(orjson.dumps(doc))


def test_1000_generated_cases_encode_to_reports_the_schema_accepts_and_decode_keeping_every_carried_field() -> None:
    for case in generate_cases(1000, seed=402):
        data = ADAPTER.encode(case)
        assert JUDGE(data) == [], case.case_id
        [back] = ADAPTER.decode(data)
        assert carried(back, ADAPTER.carries) == carried(case, ADAPTER.carries)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases)
def test_any_valid_case_round_trips_keeping_every_carried_field_and_the_iccam_flags(case: Case) -> None:
    """Edge cases the schema allows (any script, offsets, IPv6, extreme ASNs) survive encode then decode."""
    [back] = ADAPTER.decode(ADAPTER.encode(case))
    assert carried(back, ADAPTER.carries) == carried(case, ADAPTER.carries)
    for before, after in zip(case.items, back.items, strict=True):
        assert set(after.flags) == set(before.flags) & set(FLAGS)


def test_carries_names_only_canonical_fields_and_the_readme_documents_every_field_carried_or_dropped() -> None:
    assert ADAPTER.carries <= CANONICAL_PATHS
    assert all(covered(p, readme_fields(README, "Carried")) for p in ADAPTER.carries)
    assert [p for p in CANONICAL_PATHS - ADAPTER.carries if not covered(p, readme_fields(README, "Dropped"))] == []


def test_every_canonical_value_has_a_number_in_the_current_table_that_maps_back_to_it() -> None:
    """Every value but ``retracted``, which ICCAM has no number for (see the next test)."""
    lists = mapping.load(mapping.CURRENT)
    for name, kind in LISTS.items():
        for value in kind:
            if value is ActionType.RETRACTED:
                continue
            assert lists.value(name, lists.code(name, value)) == value, (name, value)


def test_a_retraction_travels_as_a_not_illegal_action_whose_reason_says_so_and_reads_back() -> None:
    [case] = generate_cases(1, seed=31)
    at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    case.items[0].actions = [Action(ActionType.RETRACTED, at, by="FR-PDC", reason="wrong_url: mistyped")]
    adapter = IccamAdapter()
    report = orjson.loads(adapter.encode(case))
    [action] = report["urls"][0]["actions"]
    assert action["actionType"] == 7 and action["reasonText"] == "retracted: wrong_url: mistyped"
    assert report["urls"][0]["assessment"]["classification"] == mapping.load(1).code(
        "classification", case.items[0].legal_class)  # the assessment itself is not rewritten
    [back] = adapter.decode(adapter.encode(case))
    assert back.items[0].actions == case.items[0].actions


def test_the_schema_admits_exactly_the_numbers_and_versions_of_the_mapping_tables() -> None:
    """The schema's enums cannot drift from the tables: a number the schema admits is one a table reads."""
    schema = orjson.loads(schema_path("iccam/report.schema.json").read_bytes())
    defs = schema["$defs"]
    where = {"classification": defs["Assessment"], "ageCategorization": defs["Assessment"],
             "genderCategorization": defs["Assessment"], "actionType": defs["Action"]}
    tables = mapping.load_all()
    assert schema["properties"]["mappingVersion"]["enum"] == list(mapping.VERSIONS)
    for name in mapping.LISTS:
        numbers = set().union(*(t.values[name] for t in tables.values()))
        assert set(where.get(name, defs["Url"])["properties"][name]["enum"]) == numbers, name


def test_value_lists_travel_as_the_numbers_of_mapping_v1() -> None:
    url = orjson.loads(ADAPTER.encode(full_case()))["urls"][0]
    assert url["assessment"] == {**url["assessment"], "classification": 2, "ageCategorization": 4,
                                 "genderCategorization": 4}
    assert (url["mediaType"], url["contentType"], url["siteType"], url["commerciality"]) == (2, 1, 5, 2)
    assert url["actions"][0]["actionType"] == 2


@pytest.mark.parametrize("version", [2, 0, -1, "1", 1.5, True, [1], 10**18])
def test_an_unknown_mapping_version_is_refused_naming_the_field_and_the_known_versions(
    report: dict[str, Any], version: Any
) -> None:
    report["mappingVersion"] = version
    with pytest.raises(DecodeError, match=r"unknown value-list mapping version .*\(known: 1\)") as info:
        decode_doc(report)
    assert info.value.path == "$.mappingVersion"


def test_a_report_without_a_mapping_version_is_refused_naming_the_field(report: dict[str, Any]) -> None:
    del report["mappingVersion"]
    with pytest.raises(DecodeError, match="is required") as info:
        decode_doc(report)
    assert info.value.path == "$.mappingVersion"


@pytest.mark.parametrize("path", [
    ("urls", 0, "assessment", "classification"),
    ("urls", 0, "assessment", "ageCategorization"),
    ("urls", 0, "assessment", "genderCategorization"),
    ("urls", 0, "mediaType"),
    ("urls", 0, "contentType"),
    ("urls", 0, "siteType"),
    ("urls", 0, "commerciality"),
    ("urls", 0, "actions", 0, "actionType"),
])
def test_an_unknown_number_is_refused_naming_its_json_path(report: dict[str, Any], path: tuple[Any, ...]) -> None:
    target = report
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = 6 if path[-1] == "actionType" else 99  # 6 is the gap in ICCAM's action list
    with pytest.raises(DecodeError) as info:
        decode_doc(report)
    expected = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    assert info.value.path == expected
    assert "is not one of" in info.value.message


def test_a_number_missing_from_the_named_table_is_refused_even_if_the_schema_would_admit_it(
    report: dict[str, Any], tmp_path: Path
) -> None:
    """Decoding reads numbers through the table, not through the schema's enums."""
    raw = orjson.loads(schema_path("iccam/mapping-v1.json").read_bytes())
    del raw["lists"]["genderCategorization"]["4"]
    (tmp_path / "mapping-v1.json").write_bytes(orjson.dumps(raw))
    with pytest.raises(DecodeError, match="unknown genderCategorization number 4 in value-list mapping v1") as info:
        read_report(report, mapping.load(1, tmp_path), "$")
    assert info.value.path == "$.urls[0].assessment.genderCategorization"


@pytest.mark.parametrize("change, problem", [
    (lambda raw: raw.update(version=2), "says it is version 2"),
    (lambda raw: raw["lists"].pop("siteType"), "lacks the value lists siteType"),
    (lambda raw: raw["lists"]["classification"].update({"5": "baseline"}), "two numbers the same value"),
])
def test_a_broken_mapping_table_is_refused_when_loaded_not_while_decoding(
    tmp_path: Path, change: Any, problem: str
) -> None:
    raw = orjson.loads(schema_path("iccam/mapping-v1.json").read_bytes())
    change(raw)
    (tmp_path / "mapping-v1.json").write_bytes(orjson.dumps(raw))
    with pytest.raises(ValueError, match=problem):
        mapping.load(1, tmp_path)


def test_in_an_array_of_reports_the_path_names_the_failing_report(report: dict[str, Any]) -> None:
    bad = copy.deepcopy(report)
    bad["urls"][0]["assessment"]["classification"] = 0
    with pytest.raises(DecodeError) as info:
        decode_doc([report, bad])
    assert info.value.path == "$[1].urls[0].assessment.classification"
    assert len(decode_doc([report, report])) == 2


@pytest.mark.parametrize("field, value", [
    ("hotlineReceivedDate", "2025-02-30T10:00:00Z"),
    ("hotlineReceivedDate", "0000-01-01T00:00:00Z"),
    ("incidentDate", "0001-01-01T00:00:00+01:00"),
    ("hotlineCode", "-FR"),
    ("contentCategory", "spam"),
])
def test_an_impossible_report_field_is_refused_naming_it(report: dict[str, Any], field: str, value: str) -> None:
    report[field] = value
    with pytest.raises(DecodeError) as info:
        decode_doc(report)
    assert info.value.path == f"$.{field}"


def test_another_hotlines_reference_gives_the_same_case_id_every_time_and_is_kept_as_an_external_ref(
    report: dict[str, Any]
) -> None:
    report["hotlineReference"] = "PDC-2025-000123"
    report["urls"][0]["hotlineReference"] = "1"
    [first], [again] = decode_doc(report), decode_doc(report)
    assert first.case_id == again.case_id and first.items[0].item_id == again.items[0].item_id
    assert [(r.system, r.id) for r in first.external_refs] == [(report["hotlineCode"], "PDC-2025-000123")]
    report["hotlineReference"] = "PDC-2025-000124"
    [other] = decode_doc(report)
    assert other.case_id != first.case_id and other.items[0].item_id != first.items[0].item_id


def test_a_partners_spellings_of_hashes_countries_and_addresses_are_normalised(report: dict[str, Any]) -> None:
    url = report["urls"][0]
    url.update(hostingIpAddress="2001:DB8:0:0::1", hostingCountryCode="nl", assignedCountryCode="de",
               hashes=[{"hashType": "MD5", "hashValue": "9E107D9D372BB6826BD81D3542A419D6"}])
    [case] = decode_doc(report)
    item = case.items[0]
    assert item.hosting is not None and (item.hosting.ip, item.hosting.country) == ("2001:db8::1", "NL")
    assert item.assigned_country == "DE"
    assert item.hashes == [Hash(HashAlgo.MD5, "9e107d9d372bb6826bd81d3542a419d6")]


def test_fields_iccam_partners_send_without_a_canonical_place_are_read_and_dropped(report: dict[str, Any]) -> None:
    report["reportingAnalystName"] = "analyst-07"
    report["urls"][0].update(memo="seen on a forum thread")
    report["urls"][0]["assessment"]["assessingAnalystName"] = "analyst-02"
    report["urls"][0]["actions"][0]["reasonId"] = 3
    [case] = decode_doc(report)
    assert case.items[0].actions[0].type is ActionType.SENT_TO_ISP


def test_the_reporter_and_tlp_never_travel_in_a_report() -> None:
    case = full_case()
    case.reporter = Reporter(ReporterKind.PERSON, name="Oriane Exampleton", email="oriane@mail.example.test",
                             phone="+33 1 99 00 12 34")
    case.tlp = Tlp.RED
    data = ADAPTER.encode(case)
    for secret in (b"Oriane", b"Exampleton", b"oriane@mail.example.test", b"+33 1 99 00 12 34"):
        assert secret not in data
    assert b"tlp" not in data.lower()
    [back] = ADAPTER.decode(data)
    assert back.reporter == Reporter(ReporterKind.WITHHELD) and back.tlp is Tlp.AMBER


def test_content_type_is_iccams_media_or_website_and_media_type_keeps_the_detail(report: dict[str, Any]) -> None:
    case = full_case()
    for media, kind in [(ContentType.IMAGE, 1), (ContentType.CONTAINER, 1), (ContentType.TEXT, 2),
                        (ContentType.LINK, 2)]:
        case.items[0].media_type = media
        url = orjson.loads(ADAPTER.encode(case))["urls"][0]
        assert url["contentType"] == kind
    del report["urls"][0]["mediaType"]
    assert decode_doc(report)[0].items[0].media_type is None


def test_a_case_without_hosting_details_decodes_without_a_hosting_record(report: dict[str, Any]) -> None:
    for key in ("hostingCountryCode", "hostingIpAddress", "hostingIsp", "hostingOrganization"):
        report["urls"][0].pop(key, None)
    assert decode_doc(report)[0].items[0].hosting is None
    report["urls"][0]["hostingOrganization"] = {"isContentDeliveryNetwork": False}
    assert decode_doc(report)[0].items[0].hosting == Hosting(is_cdn=False)


def test_every_category_travels_as_itself() -> None:
    case = full_case()
    for category in Category:
        case.category = category
        assert ADAPTER.decode(ADAPTER.encode(case))[0].category is category
