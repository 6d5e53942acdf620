"""``iccam``: the ICCAM-style report of the INHOPE network: a report with urls[], each with its hosting,
the analyst's assessment and the actions taken, value lists as numbers (see ``mapping.py``).

Hotline-to-hotline traffic: the reporter never travels in it, and neither does TLP (the network is
closed); decoding sets them (reporter ``withheld``, TLP ``amber``). Every report is checked against
``schemas/iccam/report.schema.json`` on the way out and on the way in, and every decoded case against
the canonical schema, so decode returns valid cases or raises DecodeError, never anything else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from hotline_gateway.adapters.iccam import mapping
from hotline_gateway.adapters.iccam.decode import read_report
from hotline_gateway.adapters.iccam.encode import write_report
from hotline_gateway.core.errors import DecodeError, EncodeError, FieldProblem, ValidationError
from hotline_gateway.core.model import Case
from hotline_gateway.core.schema import SchemaValidator, validate_case
from hotline_gateway.schemas import path as schema_path

SCHEMA = schema_path("iccam/report.schema.json")
CARRIES = frozenset({
    "case_id", "originator", "received_at", "incident_at", "category", "explanation",
    "items[].item_id", "items[].url", "items[].legal_class", "items[].is_source_url", "items[].referrer",
    "items[].file_name", "items[].media_type", "items[].site_type", "items[].commerciality",
    "items[].payment_methods[]", "items[].assigned_country", "items[].industry_class", "items[].age_group",
    "items[].gender", "items[].hashes[].algo", "items[].hashes[].value",
    "items[].hosting.ip", "items[].hosting.asn", "items[].hosting.country", "items[].hosting.organisation",
    "items[].hosting.isp", "items[].hosting.is_cdn",
    "items[].actions[].type", "items[].actions[].at", "items[].actions[].by", "items[].actions[].reason",
})


def _summary(problems: list[FieldProblem]) -> str:
    rest = "; ".join(str(p) for p in problems[1:3])
    return problems[0].message + (f" (also {rest})" if rest else "")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class IccamAdapter:
    name = "iccam"
    media_type = "application/vnd.hotline-gateway.iccam-report+json"
    schema_path: Path | None = SCHEMA
    carries = CARRIES
    #: ICCAM reports addresses: routing leaves out items known only by their hashes
    needs_url = True
    #: a retraction or correction is the report again with the change applied (the transport posts the
    #: changed assessments and the retraction's action to the network's report)
    states_lifecycle = True

    def __init__(self) -> None:
        self._validator = SchemaValidator.from_file(SCHEMA)
        self._tables = mapping.load_all()
        self._current = self._tables[mapping.CURRENT]

    def encode(self, case: Case) -> bytes:
        report = write_report(case, self._current)
        problems = self._validator.problems(report)
        if problems:
            raise EncodeError(f"the ICCAM report cannot carry this case: {problems[0].path}: {_summary(problems)}")
        return orjson.dumps(report)

    def decode(self, data: bytes) -> list[Case]:
        """One report, or a JSON array of reports (paths then start ``$[i]``)."""
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise DecodeError(f"not JSON ({exc})", fmt=self.name) from None
        if not isinstance(doc, list):
            return [self._report(doc, "$")]
        if not doc:
            raise DecodeError("an empty array holds no report", fmt=self.name)
        return [self._report(d, f"$[{i}]") for i, d in enumerate(doc)]

    def _report(self, doc: Any, where: str) -> Case:
        if not isinstance(doc, dict):
            raise DecodeError("an ICCAM report is a JSON object", path=where, fmt=self.name)
        lists = self._lists(doc, where)
        problems = self._validator.problems(doc)
        if problems:
            raise DecodeError(_summary(problems), path=where + problems[0].path[1:], fmt=self.name)
        case = read_report(doc, lists, where)
        try:
            validate_case(case)
        except ValidationError as exc:
            raise DecodeError(f"does not describe a valid case: {exc.problems[0]}", path=where, fmt=self.name) from None
        return case

    def _lists(self, doc: dict[str, Any], where: str) -> mapping.ValueLists:
        """The table the report's numbers follow, checked before anything else is read with it."""
        known = ", ".join(str(v) for v in sorted(self._tables))
        version = doc.get("mappingVersion")
        if version is None:
            raise DecodeError(f"is required: it names the value-list mapping the numbers follow (known: {known})",
                              path=f"{where}.mappingVersion", fmt=self.name)
        if type(version) is not int or version not in self._tables:
            raise DecodeError(f"unknown value-list mapping version {_short(version)} (known: {known})",
                              path=f"{where}.mappingVersion", fmt=self.name)
        return self._tables[version]
