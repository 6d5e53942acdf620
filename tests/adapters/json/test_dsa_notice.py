"""``dsa-notice``: Art. 16 notices hold the four elements, never any reporter data, and the notifier's
identity is left out for child sexual abuse and exploitation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline_gateway.adapters.dsa import DsaNoticeAdapter
from hotline_gateway.adapters.dsa.notice import redact
from hotline_gateway.adapters.dsa.wording import DSA_CATEGORY
from hotline_gateway.core.errors import DecodeError
from hotline_gateway.core.model import Case, Category, LegalClass, Priority, Reporter, ReporterKind
from hotline_gateway.schemas import path as schema_path
from hotline_gateway.sim.samples import generate_cases
from tests.adapters.json.support import CANONICAL_PATHS, carried, covered, readme_fields, schema_judge
from tests.strategies import addressed_cases as cases
from tests.strategies import party_ids, text

ADAPTER = DsaNoticeAdapter()
JUDGE = schema_judge(schema_path("dsa/notice.schema.json"))
README = Path(__file__).parents[3] / "adapters" / "dsa" / "README.md"
CHILD = [Category.CSAM, Category.CSEM]


def expected(case: Case) -> Any:
    """What a notice must give back: the carried fields, the explanation as sent (reporter identifiers out)."""
    sent = msgspec.structs.replace(case, explanation=case.explanation and redact(case.explanation, case.reporter))
    return carried(sent, ADAPTER.carries)


def sample(category: Category, seed: int = 501) -> Case:
    return next(c for c in generate_cases(500, seed=seed) if c.category is category)


def notice_of(case: Case) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(ADAPTER.encode(case))
    return doc


def test_1000_generated_cases_encode_to_notices_the_schema_accepts_and_decode_keeping_every_carried_field() -> None:
    for case in generate_cases(1000, seed=502):
        data = ADAPTER.encode(case)
        assert JUDGE(data) == [], case.case_id
        [back] = ADAPTER.decode(data)
        assert carried(back, ADAPTER.carries) == expected(case)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases)
def test_any_valid_case_makes_a_notice_that_round_trips_every_carried_field(case: Case) -> None:
    """No valid case is refused (IRIs, one-letter explanations, odd originators) and nothing carried is lost."""
    [back] = ADAPTER.decode(ADAPTER.encode(case))
    assert carried(back, ADAPTER.carries) == expected(case)
    assert back.reporter == Reporter(ReporterKind.WITHHELD)


def test_carries_names_only_canonical_fields_and_the_readme_documents_every_field_carried_or_dropped() -> None:
    assert ADAPTER.carries <= CANONICAL_PATHS
    assert "reporter" not in {p.split(".")[0] for p in ADAPTER.carries}
    assert all(covered(p, readme_fields(README, "Carried")) for p in ADAPTER.carries)
    assert [p for p in CANONICAL_PATHS - ADAPTER.carries if not covered(p, readme_fields(README, "Dropped"))] == []


@pytest.mark.parametrize("category", CHILD)
def test_a_child_abuse_notice_holds_no_reporter_data_even_when_the_explanation_quotes_the_reporter(
    category: Category,
) -> None:
    case = sample(category)
    case.reporter = Reporter(ReporterKind.PERSON, name="Lena Zeugenfeld", email="lena.z@mail.example.test",
                             phone="+44 20 7946 0123")
    case.explanation = "Reported by Lena Zeugenfeld (lena.z@mail.example.test, +44 20 7946 0123); Lena saw it twice."
    data = ADAPTER.encode(case)
    for secret in (b"Lena", b"Zeugenfeld", b"lena.z@mail.example.test", b"+44 20 7946 0123", b"7946",
                   b"reporter", b"phone"):
        assert secret not in data, secret
    notifier = orjson.loads(data)["notifier"]
    assert notifier["identity_withheld"] is True and "name" not in notifier and "email" not in notifier
    assert "Directive 2011/93/EU" in notifier["withheld_ground"]


_TOKEN = st.from_regex(r"[a-z]{8}", fullmatch=True)


@st.composite
def identified_reporters(draw: st.DrawFn) -> Reporter:
    """Reporters whose every identifier is distinctive, so finding one in a notice can only mean a leak."""
    first, last, mailbox, ref = draw(_TOKEN), draw(_TOKEN), draw(_TOKEN), draw(_TOKEN)
    phone = f"+33 1 99 00 {draw(st.integers(10, 99))} {draw(st.integers(10, 99))}"
    kind = draw(st.sampled_from([ReporterKind.PERSON, ReporterKind.ORGANISATION, ReporterKind.PSEUDONYMOUS]))
    if kind is ReporterKind.PSEUDONYMOUS:
        return Reporter(kind, ref=f"Qx{ref}")
    name = f"Qx{first.title()} Zv{last.title()}"
    return Reporter(kind, name=name, email=f"qx{mailbox}@mail.example.test",
                    phone=phone if kind is ReporterKind.PERSON else None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases, reporter=identified_reporters(), category=st.sampled_from(CHILD), quote=st.booleans(),
       note=text(max_size=200))
def test_no_reporter_identifier_reaches_the_bytes_of_any_child_abuse_notice(
    case: Case, reporter: Reporter, category: Category, quote: bool, note: str
) -> None:
    case.category, case.reporter = category, reporter
    identifiers = [v for v in (reporter.name, reporter.email, reporter.phone, reporter.ref) if v]
    if quote:
        case.explanation = f"{note} — {' / '.join(identifiers)}"
    data = ADAPTER.encode(case)
    lowered = data.decode().lower()
    for value in identifiers + (reporter.name or "").split():
        assert value.lower() not in lowered
    assert orjson.loads(data)["notifier"]["identity_withheld"] is True


def test_other_categories_name_the_notifier_but_still_never_the_reporter() -> None:
    case = sample(Category.HATE)
    case.reporter = Reporter(ReporterKind.ORGANISATION, name="Example Watch Collective", email="tips@watch.example.org")
    notice = notice_of(case)
    notifier = notice["notifier"]
    assert notifier["identity_withheld"] is False and notifier["name"] == case.originator
    assert notifier["email"].endswith(".hotline-gateway.invalid")
    data = orjson.dumps(notice)
    assert b"Example Watch Collective" not in data and b"tips@watch.example.org" not in data


@settings(max_examples=100, deadline=None)
@given(originator=party_ids)
def test_the_notifier_address_is_a_valid_email_for_every_party_id(originator: str) -> None:
    case = sample(Category.TERRORISM)
    case.originator = originator
    assert JUDGE(ADAPTER.encode(case)) == []


def test_a_notice_holds_the_four_art16_elements_and_every_exact_url_in_order() -> None:
    case = sample(Category.CSAM)
    case.items[0].legal_class = LegalClass.BASELINE
    notice = notice_of(case)
    assert "child sexual abuse material" in notice["explanation"] and "baseline" in notice["explanation"]
    assert [i["url"] for i in notice["items"]] == [i.url for i in case.items]
    assert notice["notifier"]["trusted_flagger"] is True
    assert notice["good_faith_statement"].startswith("The notifier confirms its bona fide belief")
    assert notice["legal_basis"] == "Regulation (EU) 2022/2065, Article 16"


def test_every_category_names_a_transparency_database_category_and_keyword_and_explains_keyword_other() -> None:
    case = sample(Category.HATE)
    for category in Category:
        case.category = category
        given_ = notice_of(case)["category"]
        assert given_["hotline"] == category.value
        assert given_["dsa_statement_category"] == DSA_CATEGORY[category].statement_category
        assert (given_["dsa_keyword"] == "KEYWORD_OTHER") == ("dsa_keyword_other" in given_)


def test_decoding_a_notice_gives_a_case_without_reporter_handled_with_priority_for_a_trusted_flagger() -> None:
    case = sample(Category.NCII)
    case.explanation = "Intimate images published without consent, according to the person shown."
    notice = notice_of(case)
    [back] = ADAPTER.decode(orjson.dumps(notice))
    assert back.reporter == Reporter(ReporterKind.WITHHELD) and back.priority is Priority.HIGH
    assert back.explanation == case.explanation
    notice["notifier"]["trusted_flagger"] = False
    assert ADAPTER.decode(orjson.dumps(notice))[0].priority is Priority.NORMAL


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        doc = doc[part]
    if value is ...:
        del doc[path[-1]]
    else:
        doc[path[-1]] = value


@pytest.mark.parametrize("path, value, where", [
    (("good_faith_statement",), ..., "$.good_faith_statement"),
    (("good_faith_statement",), "We think so.", "$.good_faith_statement"),
    (("explanation",), "too short", "$.explanation"),
    (("items", 0, "url"), "file:///etc/passwd", "$.items[0].url"),
    (("items", 0, "legal_class"), 1, "$.items[0].legal_class"),
    (("reported_at",), "2025-02-30T00:00:00Z", "$.reported_at"),
    (("notifier", "name"), "FR-PDC", "$.notifier"),
    (("notifier", "reporter"), "anyone", "$.notifier"),
    (("tlp",), ..., "$.tlp"),
])
def test_a_broken_notice_is_refused_naming_the_json_path(path: tuple[Any, ...], value: Any, where: str) -> None:
    notice = notice_of(sample(Category.CSAM))
    _set(notice, path, value)
    with pytest.raises(DecodeError) as info:
        ADAPTER.decode(orjson.dumps(notice))
    assert info.value.path == where and info.value.fmt == "dsa-notice"
