"""CyberTipline-style submission → one case, from a tree our XSD has already accepted.

Our own submissions come back as they went out (ids, times, TLP, priority from the head lines and
annotations). Anyone else's get stable name-based ids, ``incidentDateTime`` as receipt time, TLP red
(never share more widely than an unknown sender may have meant), legal class ``doubtful``, and every
``webPageIncident`` URL that no ``fileDetails`` describes becomes an item of its own.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from lxml import etree

from hotline_gateway.adapters.cybertip.mapping import (
    CATEGORIES,
    FILE_KEYS,
    HASH_ALGOS,
    PRIORITY_NOTE,
    REPORT_KEYS,
    TLP_NOTE,
    read_head,
)
from hotline_gateway.adapters.values import enum_or, stable_uuid
from hotline_gateway.core.errors import DecodeError
from hotline_gateway.core.model import (
    Case,
    CaseStatus,
    Flag,
    Hash,
    IndustryClass,
    Item,
    LegalClass,
    Priority,
    Reporter,
    ReporterKind,
    SourceChannel,
    Tlp,
)
from hotline_gateway.core.xmlsafe import xs_datetime

FMT = "cybertip"
#: namespace of the name-based UUIDs given to submissions that do not carry our ids
ID_NAMESPACE = uuid.UUID("0b6f2a51-4d0e-4c1e-8f57-6a3c9d21e7b4")
_MAX_EXPLANATION = 4000


def _time(text: str | None, where: str) -> datetime | None:
    if text is None:
        return None
    try:
        return xs_datetime(text)
    except ValueError:
        raise DecodeError(f"{text!r} is not a date-time within years 1-9999", path=where, fmt=FMT) from None


def read_submission(root: etree._Element) -> Case:
    """The case a schema-valid submission describes (the canonical schema is checked by the caller)."""
    report = root.find("report")
    assert report is not None  # the XSD requires it
    head, body = read_head(report.findtext("additionalInfo") or "", REPORT_KEYS)
    own = "caseId" in head
    originator = report.findtext("reporter/reportingOrganization") or "unknown"
    incident_time = _time(report.findtext("incidentSummary/incidentDateTime"), "report/incidentSummary")
    urls = [(u.text or "").strip() for u in report.iterfind("internetDetails/webPageIncident/url")]
    case_key = head.get("caseId") or f"{incident_time}|{' '.join(urls)}"
    case_id = stable_uuid(case_key, originator, ID_NAMESPACE)
    notes = [a.text or "" for a in report.iterfind("incidentSummary/reportAnnotations/annotation")]
    items = [_item(fd, n, case_id) for n, fd in enumerate(root.iterfind("fileDetails"), start=1)]
    described = {item.url for item in items}
    items += [Item(item_id=uuid.uuid5(case_id, f"url/{k}"), url=url, legal_class=LegalClass.DOUBTFUL)
              for k, url in enumerate(urls) if url not in described]
    escalated = report.findtext("incidentSummary/escalateToHighPriority") in ("true", "1")
    explanation = body.strip() if body is not None and not own else body
    if explanation is not None and not own and len(explanation) > _MAX_EXPLANATION:
        explanation = explanation[:_MAX_EXPLANATION - 1] + "…"
    return Case(
        case_id=case_id,
        received_at=_time(head.get("receivedAt"), "report/additionalInfo") or incident_time or _missing_time(),
        source_channel=SourceChannel.PARTNER_HOTLINE if own else SourceChannel.OTHER,
        reporter=_reporter(report, head.get("reporterKind")),
        originator=originator,
        category=CATEGORIES[report.findtext("incidentSummary/incidentType") or ""],
        tlp=enum_or(Tlp, _note(notes, TLP_NOTE), Tlp.RED),
        priority=enum_or(Priority, _note(notes, PRIORITY_NOTE), Priority.URGENT if escalated else Priority.NORMAL),
        status=CaseStatus.NEW,
        items=items,
        incident_at=_time(head.get("incidentAt"), "report/additionalInfo") if own else incident_time,
        explanation=explanation or None,
    )


def _missing_time() -> datetime:
    raise DecodeError("incidentDateTime is missing", path="report/incidentSummary", fmt=FMT)


def _note(notes: list[str], prefix: str) -> str | None:
    return next((n.removeprefix(prefix) for n in notes if n.startswith(prefix)), None)


def _reporter(report: etree._Element, kind_text: str | None) -> Reporter:
    person = report.find("reporter/reportingPerson")
    if person is None:
        kind: ReporterKind = enum_or(ReporterKind, kind_text, ReporterKind.WITHHELD)
        return Reporter(kind if kind in (ReporterKind.ANONYMOUS, ReporterKind.WITHHELD) else ReporterKind.WITHHELD)
    return Reporter(ReporterKind(person.get("kind", "person")), ref=person.findtext("screenName"),
                    name=person.findtext("firstName"), email=person.findtext("email"), phone=person.findtext("phone"))


def _item(details: etree._Element, n: int, case_id: uuid.UUID) -> Item:
    head, _ = read_head(details.findtext("additionalInfo") or "", FILE_KEYS)
    try:
        item_id = uuid.UUID(head["itemId"]) if "itemId" in head else uuid.uuid5(case_id, f"fileDetails/{n}")
    except ValueError:
        raise DecodeError(f"itemId {head['itemId']!r} is not a UUID", path=f"fileDetails[{n}]/additionalInfo",
                          fmt=FMT) from None
    industry = details.findtext("industryClassification")
    return Item(
        item_id=item_id,
        url=(details.findtext("locationOfFile") or "").strip(),
        legal_class=enum_or(LegalClass, head.get("legalClass"), LegalClass.DOUBTFUL),
        file_name=details.findtext("originalFileName"),
        industry_class=IndustryClass(industry) if industry else None,
        flags=[Flag(a.text) for a in details.iterfind("fileAnnotations/annotation") if a.text in set(Flag)],
        hashes=[Hash(HASH_ALGOS[h.get("hashType", "")], (h.text or "").strip())
                for h in details.iterfind("originalFileHash")],
    )
