"""``cybertip``: a CyberTipline-style submission — the ``<report>`` for /submit and one ``<fileDetails>``
per item for /fileinfo — checked against ``schemas/cybertip/submission.xsd`` both ways.

Only child-exploitation categories have a CyberTipline incident type; other cases are refused with
EncodeError. The ``cybertip-api`` transport splits a submission into its API calls.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from hotline_gateway.adapters.cybertip.decode import FMT, read_submission
from hotline_gateway.adapters.cybertip.encode import build_submission
from hotline_gateway.core.errors import DecodeError, EncodeError, ValidationError
from hotline_gateway.core.model import Case
from hotline_gateway.core.schema import validate_case
from hotline_gateway.core.xmlsafe import parse, trusted_schema
from hotline_gateway.schemas import path as schema_path

SCHEMA = schema_path("cybertip/submission.xsd")
CARRIES = frozenset({
    "case_id", "originator", "received_at", "incident_at", "category", "tlp", "priority", "explanation",
    "reporter.kind", "reporter.ref", "reporter.name", "reporter.email", "reporter.phone",
    "items[].item_id", "items[].url", "items[].legal_class", "items[].file_name", "items[].industry_class",
    "items[].flags[]", "items[].hashes[].algo", "items[].hashes[].value",
})


def _schema() -> etree.XMLSchema:
    """Our XSD, compiled once per thread (our own file, still read without network or entities)."""
    return trusted_schema(SCHEMA)


class CybertipAdapter:
    name = FMT
    media_type = "application/xml"
    schema_path: Path | None = SCHEMA
    carries = CARRIES
    #: a CyberTipline report reports addresses: routing leaves out items known only by their hashes
    needs_url = True

    def encode(self, case: Case) -> bytes:
        root = build_submission(case)
        try:
            _schema().assertValid(root)
        except etree.DocumentInvalid as exc:
            raise EncodeError(f"submission does not match schemas/cybertip: {exc}") from None
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def decode(self, data: bytes) -> list[Case]:
        root = parse(data, fmt=FMT)
        if root.tag != "submission":
            raise DecodeError(f"root element is {root.tag}, not submission", path="/", fmt=FMT)
        try:
            _schema().assertValid(root)
        except etree.DocumentInvalid as exc:
            message, _, line = str(exc).rpartition(", line ")
            raise DecodeError(f"not a valid submission: {message or exc}", path=f"line {line}", fmt=FMT) from None
        case = read_submission(root)
        try:
            validate_case(case)
        except ValidationError as exc:
            detail = "; ".join(str(p) for p in exc.problems)
            raise DecodeError(f"does not make a valid case: {detail}", path="/submission", fmt=FMT) from None
        return [case]
