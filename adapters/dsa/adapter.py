"""``dsa-notice``: an EU Digital Services Act Art. 16 notice, sent to a platform's notice endpoint.

It holds what Art. 16(2) asks for and little else: a substantiated explanation, the exact URLs, the
notifier (the hotline, a trusted flagger under Art. 22) and the statement of good faith. For child sexual
abuse and exploitation the notifier's name and e-mail are left out, as Art. 16(2)(c) allows for offences
under Directive 2011/93/EU. The hotline's reporter is never in a notice, whatever the case holds:
platforms never receive reporter data. No EU machine format for notices exists; ours is
``schemas/dsa/notice.schema.json``, checked on encode and decode.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from hotline_gateway.adapters.dsa.notice import read_notice, write_notice
from hotline_gateway.core.errors import DecodeError, EncodeError, FieldProblem, ValidationError
from hotline_gateway.core.model import Case
from hotline_gateway.core.schema import SchemaValidator, validate_case
from hotline_gateway.schemas import path as schema_path

SCHEMA = schema_path("dsa/notice.schema.json")
CARRIES = frozenset({
    "case_id", "originator", "received_at", "category", "tlp", "explanation",
    "items[].item_id", "items[].url", "items[].legal_class", "items[].media_type",
    "items[].hashes[].algo", "items[].hashes[].value",
})


def _summary(problems: list[FieldProblem]) -> str:
    rest = "; ".join(str(p) for p in problems[1:3])
    return problems[0].message + (f" (also {rest})" if rest else "")


class DsaNoticeAdapter:
    name = "dsa-notice"
    media_type = "application/vnd.hotline-gateway.dsa-notice+json"
    schema_path: Path | None = SCHEMA
    carries = CARRIES
    #: a DSA notice reports addresses: routing leaves out items known only by their hashes
    needs_url = True

    def __init__(self) -> None:
        self._validator = SchemaValidator.from_file(SCHEMA)

    def encode(self, case: Case) -> bytes:
        notice = write_notice(case)
        problems = self._validator.problems(notice)
        if problems:
            raise EncodeError(f"the notice cannot carry this case: {problems[0].path}: {_summary(problems)}")
        return orjson.dumps(notice)

    def decode(self, data: bytes) -> list[Case]:
        try:
            notice = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise DecodeError(f"not JSON ({exc})", fmt=self.name) from None
        problems = self._validator.problems(notice)
        if problems:
            raise DecodeError(_summary(problems), path=problems[0].path, fmt=self.name)
        case = read_notice(notice)
        try:
            validate_case(case)
        except ValidationError as exc:
            raise DecodeError(f"does not describe a valid case: {exc.problems[0]}", fmt=self.name) from None
        return [case]
