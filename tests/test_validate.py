"""Schema validation names every bad field by its JSON path, all at once, so a sender can fix them in one go."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from hotline_gateway.core.errors import BadInput, FieldProblem, ValidationError
from hotline_gateway.core.model import load_case
from hotline_gateway.core.schema import case_validator, message_validator, validate_case, validate_case_document


def _paths(doc: Any) -> list[str]:
    return [p.path for p in case_validator().problems(doc)]


def test_valid_document_has_no_problems_and_validates_silently(case_doc: dict[str, Any]) -> None:
    assert case_validator().problems(case_doc) == []
    validate_case_document(case_doc)
    validate_case(load_case(case_doc))


def test_three_faults_in_different_places_are_all_reported_with_their_paths(case_doc: dict[str, Any]) -> None:
    case_doc["items"][0]["hashes"][0]["value"] = "not-an-md5"
    case_doc["items"][2]["legal_class"] = "probably_bad"
    del case_doc["category"]
    with pytest.raises(ValidationError) as caught:
        validate_case_document(case_doc, source="upload.json")
    error = caught.value
    assert [p.path for p in error.problems] == ["$.category", "$.items[0].hashes[0].value", "$.items[2].legal_class"]
    assert error.problems[0].message == "is required"
    # One line that names the source and every path, for the CLI and the HTTP answer alike.
    assert error.message.startswith("upload.json: ")
    for path in ("$.category", "$.items[0].hashes[0].value", "$.items[2].legal_class"):
        assert path in error.message


def test_validation_error_is_bad_input_answered_with_422_and_exit_2(case_doc: dict[str, Any]) -> None:
    del case_doc["items"]
    with pytest.raises(ValidationError) as caught:
        validate_case_document(case_doc)
    assert isinstance(caught.value, BadInput)
    assert (caught.value.http_status, caught.value.exit_code) == (422, 2)
    assert caught.value.problems == [FieldProblem("$.items", "is required")]


@pytest.mark.parametrize(
    ("where", "value", "path"),
    [
        (("priority",), 3, "$.priority"),
        (("items", 1, "is_source_url"), "yes", "$.items[1].is_source_url"),
        (("items", 0, "hosting"), {"asn": "64500"}, "$.items[0].hosting.asn"),
        (("items",), {"url": "https://example.org/"}, "$.items"),
        (("received_at",), 1740823200, "$.received_at"),
    ],
)
def test_wrong_typed_field_is_named_by_its_path(
    case_doc: dict[str, Any], where: tuple[str | int, ...], value: Any, path: str
) -> None:
    target: Any = case_doc
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    # A wrong type may break several rules of the same field (type and enum): one path, maybe two messages.
    assert set(_paths(case_doc)) == {path}


@pytest.mark.parametrize(
    ("algo", "value"),
    [
        ("md5", "9e107d9d372bb6826bd81d3542a419d"),  # 31 digits
        ("md5", "9E107D9D372BB6826BD81D3542A419D6"),  # upper case is not canonical
        ("sha1", "9e107d9d372bb6826bd81d3542a419d6"),  # an md5's length
        ("sha256", "ab" * 31),
        ("pdq", "g" * 64),
        ("photodna", base64.b64encode(bytes(143)).decode() + "A"),  # 144 bytes need 192 characters
    ],
)
def test_hash_value_must_have_the_length_and_alphabet_of_its_algorithm(
    case_doc: dict[str, Any], algo: str, value: str
) -> None:
    case_doc["items"][0]["hashes"] = [{"algo": algo, "value": value}]
    assert _paths(case_doc) == ["$.items[0].hashes[0].value"]


@pytest.mark.parametrize(
    ("reporter", "allowed"),
    [
        ({"kind": "anonymous"}, True),
        ({"kind": "anonymous", "email": "x@example.org"}, False),
        ({"kind": "withheld"}, True),
        ({"kind": "withheld", "name": "Zoë Exampleton"}, False),
        ({"kind": "pseudonymous", "ref": "rep-42"}, True),
        ({"kind": "pseudonymous", "ref": "rep-42", "phone": "+33 1 99 00 12 34"}, False),
        ({"kind": "organisation", "name": "Example NGO", "email": "tips@example.org"}, True),
        ({"kind": "organisation", "name": "Example NGO", "ref": "org-1"}, False),
        ({"kind": "organisation", "name": "Example NGO", "phone": "+1 (555) 0100"}, False),
        ({"kind": "person", "name": "Łukasz Próba", "email": "l@example.org", "phone": "+44 20 7946 0000"}, True),
        ({"kind": "person", "name": "Łukasz Próba", "ref": "p-1"}, False),
    ],
)
def test_reporter_kind_decides_which_personal_fields_it_may_carry(
    case_doc: dict[str, Any], reporter: dict[str, str], allowed: bool
) -> None:
    case_doc["reporter"] = reporter
    problems = case_validator().problems(case_doc)
    if allowed:
        assert problems == []
    else:
        assert problems == [FieldProblem("$.reporter", "carries a field not allowed here")]


@pytest.mark.parametrize("kind", ["pseudonymous", "organisation", "person"])
def test_reporter_kind_that_identifies_someone_requires_its_identifier(case_doc: dict[str, Any], kind: str) -> None:
    case_doc["reporter"] = {"kind": kind}
    assert [p.path for p in case_validator().problems(case_doc)] in (["$.reporter.ref"], ["$.reporter.name"])


def test_unknown_field_is_rejected_rather_than_silently_dropped(case_doc: dict[str, Any]) -> None:
    case_doc["items"][1]["image_bytes"] = "iVBORw0KGgo="
    problems = case_validator().problems(case_doc)
    assert [p.path for p in problems] == ["$.items[1]"]
    assert "image_bytes" in problems[0].message


def test_empty_optional_array_is_rejected_because_canonical_json_omits_it(case_doc: dict[str, Any]) -> None:
    case_doc["items"][1]["flags"] = []
    assert _paths(case_doc) == ["$.items[1].flags"]


# --- the Message definition -------------------------------------------------------------------------


@pytest.fixture
def message() -> dict[str, Any]:
    payload = b'{"case_id":"1b4e28ba-2fa1-41d2-883f-0016d3cca427"}'
    return {
        "message_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
        "type": "case.notify",
        "sender": "FR-PDC",
        "recipient": "NL-EOKM",
        "created": "2025-03-01T10:15:00.123456Z",
        "case_id": "1b4e28ba-2fa1-41d2-883f-0016d3cca427",
        "format": "native",
        "payload": base64.b64encode(payload).decode(),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "signatures": [{"kid": "fr-pdc-2025", "jws": "eyJhbGciOiJFZERTQSJ9..c2lnbmF0dXJl"}],
    }


def test_message_definition_accepts_a_well_formed_message(message: dict[str, Any]) -> None:
    assert message_validator().problems(message) == []
    message_validator().validate(message)


def test_message_with_attached_jws_and_unknown_type_reports_both_paths(message: dict[str, Any]) -> None:
    """A JWS must be detached (empty payload part), so the signed bytes are exactly the payload field."""
    message["signatures"][0]["jws"] = "eyJhbGciOiJFZERTQSJ9.eyJ4IjoxfQ.c2ln"
    message["type"] = "case.delete"
    with pytest.raises(ValidationError) as caught:
        message_validator().validate(message)
    assert [p.path for p in caught.value.problems] == ["$.signatures[0].jws", "$.type"]


def test_message_without_signatures_is_rejected(message: dict[str, Any]) -> None:
    del message["signatures"]
    assert message_validator().problems(message) == [FieldProblem("$.signatures", "is required")]


def test_a_case_is_not_a_message(case_doc: dict[str, Any]) -> None:
    assert message_validator().problems(case_doc) != []
