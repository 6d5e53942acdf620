"""DSA Art. 16 notices: the four elements, never the reporter, the notifier withheld for CSAM."""

from __future__ import annotations

import orjson
import pytest

from hotline_gateway.adapters.dsa import DsaNoticeAdapter
from hotline_gateway.core.errors import DecodeError
from hotline_gateway.core.model import Category, Reporter, ReporterKind
from hotline_gateway.sim.samples import generate_cases

ADAPTER = DsaNoticeAdapter()


def test_a_csam_notice_contains_no_reporter_data_and_withholds_the_notifier() -> None:
    case = next(c for c in generate_cases(300, seed=32) if c.category is Category.CSAM)
    case.reporter = Reporter(ReporterKind.PERSON, name="Lena Zeugin", email="lena@mail.test", phone="+49 30 1234")
    data = ADAPTER.encode(case)
    for secret in (b"Lena", b"Zeugin", b"lena@mail.test", b"+49 30 1234", b"reporter"):
        assert secret not in data
    notifier = orjson.loads(data)["notifier"]
    assert notifier["identity_withheld"] is True and "name" not in notifier and "email" not in notifier
    assert "Directive 2011/93/EU" in notifier["withheld_ground"]


def test_a_notice_holds_the_four_art16_elements_and_every_exact_url() -> None:
    case = next(c for c in generate_cases(300, seed=33) if c.category is Category.HATE)
    notice = orjson.loads(ADAPTER.encode(case))
    assert len(notice["explanation"]) >= 20
    assert [i["url"] for i in notice["items"]] == [i.url for i in case.items]
    assert notice["notifier"]["identity_withheld"] is False and notice["notifier"]["email"]
    assert notice["good_faith_statement"].startswith("The notifier confirms its bona fide belief")
    assert notice["notifier"]["trusted_flagger"] is True


def test_1000_generated_cases_encode_to_notices_our_schema_accepts_and_decode_back() -> None:
    for case in generate_cases(1000, seed=34):
        [back] = ADAPTER.decode(ADAPTER.encode(case))
        assert back.case_id == case.case_id and back.reporter.kind is ReporterKind.WITHHELD
        assert [i.url for i in back.items] == [i.url for i in case.items]


def test_a_notice_missing_its_good_faith_statement_is_refused_naming_the_field() -> None:
    notice = orjson.loads(ADAPTER.encode(next(iter(generate_cases(1, seed=35)))))
    del notice["good_faith_statement"]
    with pytest.raises(DecodeError, match="good_faith_statement"):
        ADAPTER.decode(orjson.dumps(notice))
