"""``cybertip``: a CyberTipline-style submission — the ``<report>`` for /submit and one ``<fileDetails>``
per item for /fileinfo — checked against ``schemas/cybertip/submission.xsd`` both ways.

The clearinghouse rejects a report whose child elements are out of sequence, so documents are built
in schema order and validated before they leave. Only child-exploitation categories have a
CyberTipline incident type; other cases are refused with EncodeError. Identifiers the format has no
element for (our case and item ids, legal class) are ``key: value`` lines at the head of the
``additionalInfo`` text, which analysts read anyway.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from lxml import etree

from adapters.xmlsafe import parse
from gateway.errors import DecodeError, EncodeError
from gateway.model import (
    Case,
    CaseStatus,
    Category,
    Flag,
    Hash,
    HashAlgo,
    IndustryClass,
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
from schemas import path as schema_path

INCIDENT_TYPES = {
    Category.CSAM: "Child Pornography (possession, manufacture, and distribution)",
    Category.CSEM: "Online Enticement of Children for Sexual Acts",
    Category.ADULT_MINOR_ACCESS: "Unsolicited Obscene Material Sent to a Child",
    Category.PIMPING: "Child Sex Trafficking",
}
CATEGORIES = {v: k for k, v in INCIDENT_TYPES.items()}
HASH_TYPES = {HashAlgo.MD5: "MD5", HashAlgo.SHA1: "SHA1", HashAlgo.SHA256: "SHA256", HashAlgo.PDQ: "PDQ",
              HashAlgo.PHOTODNA: "PHOTODNA"}
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
CARRIES = frozenset({
    "case_id", "originator", "received_at", "incident_at", "category", "priority", "explanation",
    "reporter.kind", "reporter.ref", "reporter.name", "reporter.email", "reporter.phone",
    "items[].item_id", "items[].url", "items[].legal_class", "items[].file_name", "items[].industry_class",
    "items[].flags[]", "items[].hashes[].algo", "items[].hashes[].value",
})


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, tag)
    if text is not None:
        if _ILLEGAL.search(text):
            raise EncodeError(f"{tag} holds control characters that XML 1.0 cannot carry")
        el.text = text
    return el


def _header(fields: dict[str, str], body: str | None) -> str:
    head = "\n".join(f"{k}: {v}" for k, v in fields.items())
    return head + "\n\n" + body if body is not None else head


def _read_header(text: str) -> tuple[dict[str, str], str | None]:
    head, sep, body = text.partition("\n\n")
    fields = dict(line.split(": ", 1) for line in head.splitlines() if ": " in line)
    return fields, body if sep else None


class CybertipAdapter:
    name = "cybertip"
    media_type = "application/xml"
    schema_path: Path | None = schema_path("cybertip/submission.xsd")
    carries = CARRIES

    def __init__(self) -> None:
        assert self.schema_path is not None
        self._schema = etree.XMLSchema(etree.parse(str(self.schema_path)))

    def encode(self, case: Case) -> bytes:
        incident_type = INCIDENT_TYPES.get(case.category)
        if incident_type is None:
            raise EncodeError(f"the CyberTipline has no incident type for category {case.category.value}")
        root = etree.Element("submission")
        report = _sub(root, "report")
        summary = _sub(report, "incidentSummary")
        _sub(summary, "incidentType", incident_type)
        _sub(summary, "escalateToHighPriority", "true" if case.priority.value == "urgent" else "false")
        _sub(_sub(summary, "reportAnnotations"), "annotation", f"priority:{case.priority.value}")
        _sub(summary, "incidentDateTime", format_timestamp(case.incident_at or case.received_at))
        web = _sub(_sub(report, "internetDetails"), "webPageIncident")
        for item in case.items:
            _sub(web, "url", item.url)
        reporter = _sub(report, "reporter")
        _sub(reporter, "reportingOrganization", case.originator)
        r = case.reporter
        if r.identifies_someone:
            person = _sub(reporter, "reportingPerson")
            person.set("kind", r.kind.value)
            for tag, value in (("firstName", r.name), ("screenName", r.ref), ("email", r.email), ("phone", r.phone)):
                if value is not None:
                    _sub(person, tag, value)
        fields = {"caseId": str(case.case_id), "receivedAt": format_timestamp(case.received_at),
                  "reporterKind": r.kind.value}
        if case.incident_at is not None:
            fields["incidentAt"] = format_timestamp(case.incident_at)
        _sub(report, "additionalInfo", _header(fields, case.explanation))
        for item in case.items:
            self._file(root, item)
        if not self._schema.validate(root):
            raise EncodeError(f"submission does not match schemas/cybertip: {self._schema.error_log}")
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def _file(self, root: etree._Element, item: Item) -> None:
        details = _sub(root, "fileDetails")
        if item.file_name:
            _sub(details, "originalFileName", item.file_name)
        _sub(details, "locationOfFile", item.url)
        _sub(details, "publiclyAvailable", "true")
        if item.flags:
            annotations = _sub(details, "fileAnnotations")
            for flag in item.flags:
                _sub(annotations, "annotation", flag.value)
        if item.industry_class is not None:
            _sub(details, "industryClassification", item.industry_class.value)
        for h in item.hashes:
            _sub(details, "originalFileHash", h.value).set("hashType", HASH_TYPES[h.algo])
        _sub(details, "additionalInfo", _header({"itemId": str(item.item_id), "legalClass": item.legal_class.value},
                                                None))

    # --- decode -----------------------------------------------------------------------------------

    def decode(self, data: bytes) -> list[Case]:
        root = parse(data, fmt=self.name)
        if root.tag != "submission":
            raise DecodeError(f"root element is {root.tag}, not submission", fmt=self.name)
        if not self._schema.validate(root):
            errors = list(self._schema.error_log)  # type: ignore[call-overload]
            first = errors[0] if errors else None
            raise DecodeError(f"not a valid submission: {first.message if first else 'schema error'}",
                              path=f"line {first.line if first else 0}", fmt=self.name)
        report = root.find("report")
        assert report is not None
        info, explanation = _read_header(report.findtext("additionalInfo") or "")
        try:
            case_id = uuid.UUID(info["caseId"])
            received = parse_timestamp(info["receivedAt"])
        except (KeyError, ValueError):
            raise DecodeError("additionalInfo lacks caseId/receivedAt lines", path="report/additionalInfo",
                              fmt=self.name) from None
        annotations = report.iterfind("incidentSummary/reportAnnotations/annotation")
        priority = next((a.text.split(":", 1)[1] for a in annotations if a.text and a.text.startswith("priority:")),
                        "normal")
        items = [self._item(fd, n) for n, fd in enumerate(root.iterfind("fileDetails"), start=1)]
        return [Case(
            case_id=case_id, received_at=received, source_channel=SourceChannel.PARTNER_HOTLINE,
            reporter=self._reporter(report, info.get("reporterKind")),
            originator=report.findtext("reporter/reportingOrganization") or "unknown",
            category=CATEGORIES[report.findtext("incidentSummary/incidentType") or ""], tlp=Tlp.AMBER,
            priority=Priority(priority) if priority in {p.value for p in Priority} else Priority.NORMAL,
            status=CaseStatus.NEW, items=items,
            incident_at=parse_timestamp(info["incidentAt"]) if "incidentAt" in info else None,
            explanation=explanation,
        )]

    def _reporter(self, report: etree._Element, kind_text: str | None) -> Reporter:
        person = report.find("reporter/reportingPerson")
        if person is None:
            return Reporter(ReporterKind(kind_text) if kind_text in ("anonymous", "withheld") else
                            ReporterKind.ANONYMOUS)
        return Reporter(ReporterKind(person.get("kind", "person")), ref=person.findtext("screenName"),
                        name=person.findtext("firstName"), email=person.findtext("email"),
                        phone=person.findtext("phone"))

    def _item(self, fd: etree._Element, n: int) -> Item:
        info, _ = _read_header(fd.findtext("additionalInfo") or "")
        try:
            item_id = uuid.UUID(info["itemId"])
        except (KeyError, ValueError):
            raise DecodeError("additionalInfo lacks an itemId line", path=f"fileDetails[{n}]", fmt=self.name) from None
        industry = fd.findtext("industryClassification")
        legal = info.get("legalClass", "doubtful")
        return Item(
            item_id=item_id, url=fd.findtext("locationOfFile") or "",
            legal_class=LegalClass(legal) if legal in {c.value for c in LegalClass} else LegalClass.DOUBTFUL,
            file_name=fd.findtext("originalFileName"),
            industry_class=IndustryClass(industry) if industry else None,
            flags=[Flag(a.text) for a in fd.iterfind("fileAnnotations/annotation")
                   if a.text in {f.value for f in Flag}],
            hashes=[Hash(next(k for k, v in HASH_TYPES.items() if v == h.get("hashType")), h.text or "")
                    for h in fd.iterfind("originalFileHash")],
        )
