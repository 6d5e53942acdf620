"""Case → CyberTipline-style submission: the ``<report>`` then one ``<fileDetails>`` per item.

Elements are built in the schema's sequence, since the clearinghouse rejects a report whose children
are out of order (4100); the adapter then checks the result against our XSD before it leaves.
"""

from __future__ import annotations

from lxml import etree

from hotline_gateway.adapters.cybertip.mapping import HASH_TYPES, INCIDENT_TYPES, PRIORITY_NOTE, TLP_NOTE, write_head
from hotline_gateway.adapters.values import address
from hotline_gateway.core.errors import EncodeError
from hotline_gateway.core.model import Case, Item, Priority
from hotline_gateway.core.timefmt import format_timestamp
from hotline_gateway.core.xmlsafe import set_text


def _sub(parent: etree._Element, tag: str, text: str | None = None, *, field: str = "") -> etree._Element:
    el = etree.SubElement(parent, tag)
    if text is not None:
        set_text(el, text, field=field or tag)
    return el


def build_submission(case: Case) -> etree._Element:
    """The submission tree; EncodeError for a category the clearinghouse has no incident type for."""
    incident_type = INCIDENT_TYPES.get(case.category)
    if incident_type is None:
        raise EncodeError(f"the CyberTipline has no incident type for category {case.category.value}")
    root = etree.Element("submission")
    report = _sub(root, "report")
    summary = _sub(report, "incidentSummary")
    _sub(summary, "incidentType", incident_type)
    _sub(summary, "escalateToHighPriority", "true" if case.priority is Priority.URGENT else "false")
    notes = _sub(summary, "reportAnnotations")
    _sub(notes, "annotation", TLP_NOTE + case.tlp.value)
    _sub(notes, "annotation", PRIORITY_NOTE + case.priority.value)
    _sub(summary, "incidentDateTime", format_timestamp(case.incident_at or case.received_at))
    web = _sub(_sub(report, "internetDetails"), "webPageIncident")
    for item in case.items:
        _sub(web, "url", address(item, "cybertip"), field="items[].url")
    reporter = _sub(report, "reporter")
    _sub(reporter, "reportingOrganization", case.originator)
    r = case.reporter
    if r.identifies_someone:  # the engine has already removed it for anyone not entitled to it
        person = _sub(reporter, "reportingPerson")
        person.set("kind", r.kind.value)
        for tag, value, field in (("firstName", r.name, "reporter.name"), ("screenName", r.ref, "reporter.ref"),
                                  ("email", r.email, "reporter.email"), ("phone", r.phone, "reporter.phone")):
            if value is not None:
                _sub(person, tag, value, field=field)
    head = {"caseId": str(case.case_id), "receivedAt": format_timestamp(case.received_at),
            "reporterKind": r.kind.value}
    if case.incident_at is not None:
        head["incidentAt"] = format_timestamp(case.incident_at)
    _sub(report, "additionalInfo", write_head(head, case.explanation), field="explanation")
    for item in case.items:
        _file_details(root, item)
    return root


def _file_details(root: etree._Element, item: Item) -> None:
    details = _sub(root, "fileDetails")
    if item.file_name is not None:
        _sub(details, "originalFileName", item.file_name, field="items[].file_name")
    _sub(details, "locationOfFile", address(item, "cybertip"), field="items[].url")
    _sub(details, "publiclyAvailable", "true")
    if item.flags:
        annotations = _sub(details, "fileAnnotations")
        for flag in item.flags:
            _sub(annotations, "annotation", flag.value)
    if item.industry_class is not None:
        _sub(details, "industryClassification", item.industry_class.value)
    for h in item.hashes:
        _sub(details, "originalFileHash", h.value).set("hashType", HASH_TYPES[h.algo])
    _sub(details, "additionalInfo", write_head({"itemId": str(item.item_id), "legalClass": item.legal_class.value},
                                               None))
