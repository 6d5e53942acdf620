"""X-ARF v4: notices hosts can process by machine, accepted by the official master schema."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from hotline_gateway.adapters.xarf import XarfAdapter
from hotline_gateway.core.errors import DecodeError, EncodeError
from hotline_gateway.core.model import Category, Reporter, ReporterKind
from hotline_gateway.core.schema import validate_case
from hotline_gateway.sim.samples import generate_cases
from tests.adapters import official
from tests.adapters.judge import FORMATS, judge

ADAPTER = XarfAdapter()
SAMPLES = FORMATS / "xarf-v4" / "samples"


def carried(count: int, seed: int) -> list[bytes]:
    """The X-ARF documents of every generated case X-ARF can carry, one per item."""
    out = []
    for case in generate_cases(count, seed=seed):
        if case.category in (Category.CSAM, Category.CSEM):
            out += ADAPTER.encode_many(case)
    return out


def test_reports_from_1000_generated_cases_are_accepted_by_the_official_master_schema(tmp_path: Path) -> None:
    """Each document as written: in process with the official schemas, and judge.py itself on a batch."""
    documents = carried(1000, 11)
    assert len(documents) > 1000
    assert [(n, e) for n, d in enumerate(documents) for e in official.xarf_errors(orjson.loads(d))] == []
    assert judge("xarf", documents[:200], tmp_path, ".json") == []


def test_the_outbox_container_splits_into_exactly_the_documents_and_is_not_x_arf() -> None:
    """Several items: the payload is a JSON array (our container, which the official schema refuses as X-ARF)
    and ``split`` gives back the very bytes ``encode_many`` wrote; one item: the payload is the report."""
    for case in generate_cases(300, seed=12):
        if case.category not in (Category.CSAM, Category.CSEM):
            continue
        payload, docs = ADAPTER.encode(case), ADAPTER.encode_many(case)
        assert ADAPTER.split(payload) == docs
        if len(docs) == 1:
            assert payload == docs[0]
        else:
            assert payload.startswith(b"[") and official.xarf_errors(orjson.loads(payload)) != []
        [back] = ADAPTER.decode(payload)
        assert back.case_id == case.case_id


@pytest.mark.parametrize("sample", ["content-csam.json", "content-csem.json"])
def test_official_samples_decode_to_valid_cases(sample: str) -> None:
    [case] = ADAPTER.decode((SAMPLES / sample).read_bytes())
    validate_case(case)
    assert case.items[0].url == "https://example.com/illegal-content"
    assert case.category.value == sample.removeprefix("content-").removesuffix(".json")
    assert case.reporter.kind is ReporterKind.ORGANISATION and case.reporter.name == "Content Safety Service"


def test_each_item_is_one_document_and_they_decode_back_to_one_case() -> None:
    case = next(c for c in generate_cases(200, seed=3) if c.category is Category.CSAM and len(c.items) > 2)
    docs = ADAPTER.encode_many(case)
    assert len(docs) == len(case.items) and all(b"\n" not in d for d in docs)
    [back] = ADAPTER.decode(b"\n".join(docs))  # reports of ours read together (JSON Lines, as we wrote before)
    assert back.case_id == case.case_id and [i.item_id for i in back.items] == [i.item_id for i in case.items]


def test_a_notice_never_carries_reporter_data() -> None:
    case = next(c for c in generate_cases(200, seed=4) if c.category is Category.CSAM)
    case.reporter = Reporter(ReporterKind.PERSON, name="Marie Zeugin", email="marie@mail.test", phone="+33 1 23")
    data = ADAPTER.encode(case)
    assert b"Marie" not in data and b"marie@mail.test" not in data and b"+33 1 23" not in data


def test_categories_without_an_x_arf_type_are_refused_with_the_reason() -> None:
    case = next(c for c in generate_cases(200, seed=5) if c.category is Category.HATE)
    with pytest.raises(EncodeError, match="no content type for category hate"):
        ADAPTER.encode(case)


@pytest.mark.parametrize("category,xarf_type", [("messaging", "spam"), ("connection", "ddos"),
                                                ("content", "phishing")])
def test_reports_that_are_not_hotline_content_fail_clearly(category: str, xarf_type: str) -> None:
    doc = orjson.loads((SAMPLES / "content-csam.json").read_bytes())
    doc.update(category=category, type=xarf_type)
    with pytest.raises(DecodeError, match="not a content report a hotline handles"):
        ADAPTER.decode(orjson.dumps(doc))
