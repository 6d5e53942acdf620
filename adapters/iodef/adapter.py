"""``iodef``: RFC 7970 IODEF-Document v2, one Incident per case, the exchange format of CSIRTs and police.

The official schema is the judge of what we write (tests run ``../shared/formats/judge.py iodef``);
it is not shipped, so ``schema_path`` is None. Decoding goes through ``core.xmlsafe`` and ends
with the canonical schema: whatever document came in, only valid cases come out.
"""

from __future__ import annotations

from pathlib import Path

from hotline_gateway.adapters.iodef.decode import FMT, IncidentReader, read_incidents
from hotline_gateway.adapters.iodef.encode import encode_case
from hotline_gateway.core.errors import DecodeError, ValidationError
from hotline_gateway.core.model import Case, Reporter, ReporterKind
from hotline_gateway.core.schema import validate_case
from hotline_gateway.core.xmlsafe import parse

CARRIES = frozenset({
    "case_id", "originator", "received_at", "incident_at", "category", "tlp", "status", "explanation",
    "external_refs[].system", "external_refs[].id",
    "reporter.kind", "reporter.ref", "reporter.name", "reporter.email", "reporter.phone",
    "items[].item_id", "items[].url", "items[].legal_class", "items[].file_name",
    "items[].hashes[].algo", "items[].hashes[].value",
})


class IodefAdapter:
    name = FMT
    media_type = "application/xml"
    schema_path: Path | None = None
    carries = CARRIES
    #: a retraction or correction is the case again with the change applied: its History says what was
    #: retracted or corrected, when and why, with the Incident's status
    states_lifecycle = True

    def encode(self, case: Case) -> bytes:
        return encode_case(case)

    def decode(self, data: bytes) -> list[Case]:
        return [_checked(reader, case) for reader, case in read_incidents(parse(data, fmt=FMT))]


def _checked(reader: IncidentReader, case: Case) -> Case:
    """The case once the canonical schema accepts it; someone else's unfit reporter becomes ``withheld``."""
    try:
        validate_case(case)
    except ValidationError as exc:
        if reader.own or not all(p.path.startswith("$.reporter") for p in exc.problems):
            detail = "; ".join(str(p) for p in exc.problems)
            raise DecodeError(f"does not make a valid case: {detail}", path=reader.where, fmt=FMT) from None
        case.reporter = Reporter(ReporterKind.WITHHELD)
        validate_case(case)
    return case
