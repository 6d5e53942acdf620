"""Properties both XML adapters keep, checked with hypothesis over thousands of inputs.

- decode(encode(case)) gives back every field the adapter lists in ``carries``, value for value;
- whatever bytes arrive (random, truncated, or a real document with its tree mutated), decode either
  returns valid canonical cases or raises DecodeError, never anything else;
- text XML 1.0 cannot carry is refused with EncodeError naming the field, not written broken.
"""

from __future__ import annotations

import contextlib
import copy
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from hotline_gateway.adapters.registry import Adapter
from hotline_gateway.core.errors import DecodeError, EncodeError
from hotline_gateway.core.model import Case, Category, Reporter, ReporterKind
from hotline_gateway.core.schema import validate_case
from hotline_gateway.sim.samples import generate_cases
from tests.adapters.xml.support import ADAPTERS, CYBERTIP, carried, cases_for

SAMPLES = [case for case in generate_cases(60, seed=4242)
           if case.category in (Category.CSAM, Category.CSEM, Category.PIMPING, Category.ADULT_MINOR_ACCESS)]
ENCODED = {adapter.name: [adapter.encode(case) for case in SAMPLES] for adapter in ADAPTERS}
BY_NAME = {adapter.name: adapter for adapter in ADAPTERS}
NAMES = sorted(BY_NAME)
FUZZ = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decode_or_refuse(adapter: Adapter, data: bytes) -> None:
    """Decode; a DecodeError is a fine answer, and anything decoded must be a valid canonical case."""
    with contextlib.suppress(DecodeError):
        for case in adapter.decode(data):
            validate_case(case)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_round_trip_keeps_every_carried_field(name: str, data: st.DataObject) -> None:
    adapter = BY_NAME[name]
    case: Case = data.draw(cases_for(adapter), label="case")
    decoded = adapter.decode(adapter.encode(case))
    assert len(decoded) == 1
    assert carried(decoded[0], adapter.carries) == carried(case, adapter.carries)


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes_raise_only_decode_error(name: str, data: bytes) -> None:
    decode_or_refuse(BY_NAME[name], data)


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(index=st.integers(0, len(SAMPLES) - 1), cut=st.floats(0, 1, exclude_max=True))
def test_truncated_documents_raise_only_decode_error(name: str, index: int, cut: float) -> None:
    data = ENCODED[name][index]
    decode_or_refuse(BY_NAME[name], data[: int(len(data) * cut)])


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Cn"]), max_size=40)


@st.composite
def mutated(draw: st.DrawFn, name: str) -> bytes:
    """One of our documents, well-formed still, with elements dropped, doubled, moved or rewritten."""
    root = etree.fromstring(ENCODED[name][draw(st.integers(0, len(SAMPLES) - 1))])
    for _ in range(draw(st.integers(1, 6))):
        elements = list(root.iter())
        target = elements[draw(st.integers(0, len(elements) - 1))]
        parent = target.getparent()
        match draw(st.sampled_from(["drop", "double", "move", "text", "attribute"])):
            case "drop" if parent is not None:
                parent.remove(target)
            case "double" if parent is not None:
                parent.insert(parent.index(target), copy.deepcopy(target))
            case "move" if parent is not None:
                parent.remove(target)
                parent.append(target)
            case "text":
                target.text = draw(_TEXT)
            case "attribute":
                names = list(target.attrib) or ["extra"]
                target.set(draw(st.sampled_from(names)), draw(_TEXT))
            case _:
                pass
    return etree.tostring(root)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_documents_give_valid_cases_or_decode_error(name: str, data: st.DataObject) -> None:
    decode_or_refuse(BY_NAME[name], data.draw(mutated(name)))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("field", "change"), [
    ("explanation", lambda c: setattr(c, "explanation", "line one\x00line two")),
    ("reporter.name", lambda c: setattr(c, "reporter", Reporter(ReporterKind.PERSON, name="Zoë\x1bExampleton"))),
    ("items[].file_name", lambda c: setattr(c.items[0], "file_name", "IMG_\ufffe.jpg")),
])
def test_text_xml_cannot_carry_is_refused_naming_the_field(name: str, field: str, change: object) -> None:
    case = copy.deepcopy(SAMPLES[0])
    assert callable(change)
    change(case)
    with pytest.raises(EncodeError, match=field.replace("[", r"\[").replace("]", r"\]")):
        BY_NAME[name].encode(case)


@pytest.mark.parametrize("name", NAMES)
def test_an_xml_document_of_another_kind_is_refused_by_its_root(name: str) -> None:
    with pytest.raises(DecodeError, match="root element"):
        BY_NAME[name].decode(b"<?xml version='1.0'?><rss version='2.0'><channel/></rss>")


def test_decode_gives_back_the_ids_it_was_given() -> None:
    """Our own case and item ids survive, so a resend is recognised as the same case downstream."""
    case = SAMPLES[1]
    for adapter in ADAPTERS:
        [back] = adapter.decode(adapter.encode(case))
        assert back.case_id == case.case_id and isinstance(back.case_id, uuid.UUID)
        assert [i.item_id for i in back.items] == [i.item_id for i in case.items]
    assert CYBERTIP.name == "cybertip"
