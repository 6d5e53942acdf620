"""``dsa-notice``: an EU Digital Services Act Art. 16 notice, sent to a platform's notice endpoint.

It holds what Art. 16(2) asks for and nothing else: a substantiated explanation, the exact URLs, the
notifier (the hotline, a trusted flagger under Art. 22), and the statement of good faith. For child
sexual abuse and exploitation the notifier's name and e-mail are left out, as Art. 16(2)(c) allows
for offences under Directive 2011/93/EU. The hotline's reporter is never in a notice, whatever the
case holds: platforms never receive reporter data.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import orjson

from gateway.errors import DecodeError, EncodeError, ValidationError
from gateway.model import (
    Case,
    CaseStatus,
    Category,
    ContentType,
    Hash,
    HashAlgo,
    Item,
    LegalClass,
    Priority,
    Reporter,
    ReporterKind,
    SourceChannel,
    Tlp,
    format_timestamp,
    parse_timestamp,
)
from gateway.pipeline.validate import SchemaValidator
from schemas import path as schema_path

GOOD_FAITH = ("The notifier confirms its bona fide belief that the information and allegations contained in this "
              "notice are accurate and complete.")
LEGAL_BASIS = "Regulation (EU) 2022/2065, Article 16"
WITHHELD_GROUND = ("Art. 16(2)(c) DSA: offence referred to in Articles 3 to 7 of Directive 2011/93/EU; "
                   "the notifier's identity is not given")
#: hotline category → (DSA transparency-database statement category, keyword)
DSA_CATEGORY = {
    Category.CSAM: ("STATEMENT_CATEGORY_PROTECTION_OF_MINORS", "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"),
    Category.CSEM: ("STATEMENT_CATEGORY_PROTECTION_OF_MINORS", "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS"),
    Category.ADULT_MINOR_ACCESS: ("STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
                                  "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS"),
    Category.NCII: ("STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR", "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING"),
    Category.HATE: ("STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", "KEYWORD_HATE_SPEECH"),
    Category.TERRORISM: ("STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY", "KEYWORD_TERRORIST_CONTENT"),
    Category.PIMPING: ("STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", "KEYWORD_OTHER"),
    Category.CRIMES_AGAINST_HUMANITY: ("STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", "KEYWORD_OTHER"),
    Category.OTHER: ("STATEMENT_CATEGORY_OTHER_VIOLATION_TC", "KEYWORD_OTHER"),
}
WITHHOLD_FOR = frozenset({Category.CSAM, Category.CSEM})
CARRIES = frozenset({
    "case_id", "originator", "received_at", "category", "tlp", "explanation",
    "items[].item_id", "items[].url", "items[].legal_class", "items[].media_type",
    "items[].hashes[].algo", "items[].hashes[].value",
})


def standard_explanation(case: Case) -> str:
    return (f"Analysts of internet hotline {case.originator} assessed the content at the {len(case.items)} "
            f"address(es) below as {case.category.value.replace('_', ' ')}, illegal under the law that applies "
            "to it; each item carries its legal classification. Please remove it or disable access to it "
            "without delay.")


class DsaNoticeAdapter:
    name = "dsa-notice"
    media_type = "application/vnd.hotline-gateway.dsa-notice+json"
    schema_path: Path | None = schema_path("dsa/notice.schema.json")
    carries = CARRIES

    def __init__(self) -> None:
        assert self.schema_path is not None
        self._validator = SchemaValidator.from_file(self.schema_path)

    def encode(self, case: Case) -> bytes:
        if case.explanation is not None and len(case.explanation) < 20:
            raise EncodeError("an Art. 16 notice needs a substantiated explanation; this case's is under 20 characters")
        statement, keyword = DSA_CATEGORY[case.category]
        withheld = case.category in WITHHOLD_FOR
        notifier: dict[str, Any] = {"organisation": case.originator, "trusted_flagger": True,
                                    "identity_withheld": True, "withheld_ground": WITHHELD_GROUND}
        if not withheld:
            domain = f"{case.originator.lower()}.hotline-gateway.invalid".replace("_", "-").replace(":", "-")
            notifier = {"organisation": case.originator, "trusted_flagger": True, "identity_withheld": False,
                        "name": case.originator, "email": f"notices@{domain}"}
        notice: dict[str, Any] = {
            "notice_version": "1.0",
            "notice_id": str(case.case_id),
            "submitted_at": format_timestamp(case.received_at),
            "legal_basis": LEGAL_BASIS,
            "notifier": notifier,
            "category": {"hotline": case.category.value, "dsa_statement_category": statement, "dsa_keyword": keyword},
            "explanation": case.explanation or standard_explanation(case),
            "explanation_is_standard": case.explanation is None,
            "tlp": case.tlp.value,
            "items": [self._item(item) for item in case.items],
            "good_faith_statement": GOOD_FAITH,
        }
        problems = self._validator.problems(notice)
        if problems:
            raise EncodeError("notice does not match schemas/dsa: " + "; ".join(str(p) for p in problems[:3]))
        return orjson.dumps(notice)

    def _item(self, item: Item) -> dict[str, Any]:
        out: dict[str, Any] = {"item_id": str(item.item_id), "url": item.url, "legal_class": item.legal_class.value}
        if item.media_type is not None:
            out["content_type"] = item.media_type.value
        if item.hashes:
            out["hashes"] = [{"algo": h.algo.value, "value": h.value} for h in item.hashes]
        return out

    def decode(self, data: bytes) -> list[Case]:
        try:
            notice = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise DecodeError(f"not JSON ({exc})", fmt=self.name) from None
        try:
            self._validator.validate(notice)
        except ValidationError as exc:
            problem = exc.problems[0]
            raise DecodeError(f"{problem.message} ({len(exc.problems)} problem(s))", path=problem.path,
                              fmt=self.name) from None
        items = [Item(item_id=uuid.UUID(i["item_id"]), url=i["url"], legal_class=LegalClass(i["legal_class"]),
                      media_type=ContentType(i["content_type"]) if "content_type" in i else None,
                      hashes=[Hash(HashAlgo(h["algo"]), h["value"]) for h in i.get("hashes", [])])
                 for i in notice["items"]]
        return [Case(
            case_id=uuid.UUID(notice["notice_id"]), received_at=parse_timestamp(notice["submitted_at"]),
            source_channel=SourceChannel.PARTNER_HOTLINE, reporter=Reporter(ReporterKind.WITHHELD),
            originator=notice["notifier"]["organisation"], category=Category(notice["category"]["hotline"]),
            tlp=Tlp(notice.get("tlp", "amber")), priority=Priority.HIGH if notice["notifier"]["trusted_flagger"]
            else Priority.NORMAL, status=CaseStatus.NEW, items=items,
            explanation=None if notice.get("explanation_is_standard") else notice["explanation"],
        )]

