"""Canonical case to Art. 16 notice and back.

The notice is built from named case fields only; nothing from ``case.reporter`` is ever written. The one
free text that goes out, the analyst's explanation, is also cleared of the reporter's identifiers, since
an analyst may have quoted them.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from hotline_gateway.adapters.dsa.wording import (
    DSA_CATEGORY,
    GOOD_FAITH,
    LEGAL_BASIS,
    NOTICE_VERSION,
    WITHHELD_GROUND,
    WITHHOLD_FOR,
    substantiation,
)
from hotline_gateway.adapters.values import address
from hotline_gateway.core.errors import DecodeError
from hotline_gateway.core.model import (
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
)
from hotline_gateway.core.timefmt import format_timestamp, parse_timestamp

FMT = "dsa-notice"
REDACTED = "[withheld]"
MAX_EXPLANATION = 4000


def redact(text: str, reporter: Reporter) -> str:
    """``text`` with the reporter's name, e-mail, phone and reference (and a person's single names) replaced.

    Only whole words of three characters or more are replaced, so short names do not mangle the text.
    """
    found = [v for v in (reporter.name, reporter.email, reporter.phone, reporter.ref) if v]
    if reporter.kind is ReporterKind.PERSON and reporter.name:
        found += reporter.name.split()
    secrets = sorted({s.strip() for s in found if len(s.strip()) >= 3}, key=len, reverse=True)
    if not secrets:
        return text
    pattern = re.compile("|".join(rf"(?<!\w){re.escape(s)}(?!\w)" for s in secrets), re.IGNORECASE)
    return pattern.sub(REDACTED, text)[:MAX_EXPLANATION]


def _contact(originator: str) -> str:
    """The notifier's e-mail address. Adapters hold no configuration, so this is a stable placeholder under
    the reserved ``.invalid`` domain (see the README: the real address has yet to come from configuration)."""
    label = re.sub(r"[^a-z0-9]+", "-", originator.lower()).strip("-")[:63].strip("-")
    return f"notices@{label}.hotline-gateway.invalid"


def write_notice(case: Case) -> dict[str, Any]:
    """Art. 16(2): (a) ``explanation``, (b) ``items[].url``, (c) ``notifier``, (d) ``good_faith_statement``."""
    dsa = DSA_CATEGORY[case.category]
    notifier: dict[str, Any] = {"organisation": case.originator, "trusted_flagger": True}
    if case.category in WITHHOLD_FOR:
        notifier.update(identity_withheld=True, withheld_ground=WITHHELD_GROUND)
    else:
        notifier.update(identity_withheld=False, name=case.originator, email=_contact(case.originator))
    category = {"hotline": case.category.value, "dsa_statement_category": dsa.statement_category,
                "dsa_keyword": dsa.keyword}
    if dsa.other:
        category["dsa_keyword_other"] = dsa.other
    notice: dict[str, Any] = {
        "notice_version": NOTICE_VERSION,
        "notice_id": str(case.case_id),
        "reported_at": format_timestamp(case.received_at),
        "legal_basis": LEGAL_BASIS,
        "notifier": notifier,
        "category": category,
        "explanation": substantiation(case),
        "tlp": case.tlp.value,
        "items": [_item(item) for item in case.items],
        "good_faith_statement": GOOD_FAITH,
    }
    if case.explanation is not None:
        notice["analyst_explanation"] = redact(case.explanation, case.reporter)
    return notice


def _item(item: Item) -> dict[str, Any]:
    out: dict[str, Any] = {"item_id": str(item.item_id), "url": address(item, "dsa-notice"),
                           "legal_class": item.legal_class.value}
    if item.media_type is not None:
        out["content_type"] = item.media_type.value
    if item.hashes:
        out["hashes"] = [{"algo": h.algo.value, "value": h.value} for h in item.hashes]
    return out


def _time(text: str, path: str) -> datetime:
    try:
        return parse_timestamp(text)
    except (ValueError, OverflowError) as exc:
        raise DecodeError(f"not a representable timestamp ({exc})", path=path, fmt=FMT) from None


def read_notice(notice: dict[str, Any]) -> Case:
    """The case a schema-valid notice describes. A notice holds no reporter (``withheld``); a trusted
    flagger's notice is handled with priority (Art. 22), hence ``high``."""
    return Case(
        case_id=uuid.UUID(notice["notice_id"]),
        received_at=_time(notice["reported_at"], "$.reported_at"),
        source_channel=SourceChannel.PARTNER_HOTLINE,
        reporter=Reporter(ReporterKind.WITHHELD),
        originator=notice["notifier"]["organisation"],
        category=Category(notice["category"]["hotline"]),
        tlp=Tlp(notice["tlp"]),
        priority=Priority.HIGH if notice["notifier"]["trusted_flagger"] else Priority.NORMAL,
        status=CaseStatus.NEW,
        explanation=notice.get("analyst_explanation"),
        items=[Item(item_id=uuid.UUID(i["item_id"]), url=i["url"], legal_class=LegalClass(i["legal_class"]),
                    media_type=ContentType(i["content_type"]) if "content_type" in i else None,
                    hashes=[Hash(HashAlgo(h["algo"]), h["value"]) for h in i.get("hashes", [])])
               for i in notice["items"]],
    )
