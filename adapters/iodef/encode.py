"""Case → IODEF-Document: one Incident, one Indicator per item, children in the RFC 7970 schema's order.

Each item is an Indicator whose Observable is a File: the item's URL, file name and hashes, which is
what RFC 7970's File class is for (a file at a URL, identified by its digests). Our hotline is the
Contact with role ``creator``; the reporter is a second Contact (role ``reporter``) only when the case
still carries someone's identity, since the engine has already stripped it for any partner not entitled
to it. Fields IODEF has no element for travel as ``AdditionalData`` named by ``meaning``.
"""

from __future__ import annotations

import base64

from lxml import etree

from hotline_gateway.adapters.iodef.mapping import (
    DIGEST_URI,
    DS,
    FUZZY,
    MEANING,
    NS,
    STATUS_TO_IODEF,
    TLP_TO_RESTRICTION,
    XML_NS,
)
from hotline_gateway.core.errors import EncodeError
from hotline_gateway.core.model import ActionType, Case, CustodyEvent, Item, Reporter, ReporterKind
from hotline_gateway.core.timefmt import format_timestamp
from hotline_gateway.core.xmlsafe import is_any_uri, set_attribute, set_text

_Q = f"{{{NS}}}"


def _el(parent: etree._Element, tag: str, text: str | None = None, *, field: str = "", **attrib: str) -> etree._Element:
    """A child in the IODEF namespace; ``field`` names the canonical field its text came from, for errors."""
    el = etree.SubElement(parent, _Q + tag)
    for name, value in attrib.items():
        set_attribute(el, name.replace("_", "-"), value, field=field or tag)
    if text is not None:
        set_text(el, text, field=field or tag)
    return el


def _extra(parent: etree._Element, meaning: str, value: str, field: str) -> None:
    _el(parent, "AdditionalData", value, field=field, dtype="string", meaning=MEANING + meaning)


def encode_case(case: Case) -> bytes:
    """The IODEF-Document of one case, as UTF-8 bytes with an XML declaration."""
    root = etree.Element(_Q + "IODEF-Document", {"version": "2.00", f"{{{XML_NS}}}lang": "en"},
                         nsmap={None: NS, "ds": DS})  # type: ignore[dict-item]
    restriction = TLP_TO_RESTRICTION.get(case.tlp)
    attrs = {"purpose": "reporting", "restriction": restriction or "ext-value"}
    if restriction is None:
        attrs["ext_restriction"] = case.tlp.value
    status = STATUS_TO_IODEF.get(case.status)
    attrs["status"] = status or "ext-value"
    if status is None:
        attrs["ext_status"] = case.status.value
    incident = _el(root, "Incident", **attrs)
    _el(incident, "IncidentID", str(case.case_id), field="originator", name=case.originator)
    if case.external_refs:
        alternative = _el(incident, "AlternativeID")
        for ref in case.external_refs:
            _el(alternative, "IncidentID", ref.id, field="external_refs", name=ref.system)
    if case.incident_at is not None:
        _el(incident, "DetectTime", format_timestamp(case.incident_at))
    _el(incident, "ReportTime", format_timestamp(case.received_at))
    # GenerationTime is required; the receipt time keeps encoding pure (same case, same bytes).
    _el(incident, "GenerationTime", format_timestamp(case.received_at))
    if case.explanation is not None:
        _el(incident, "Description", case.explanation, field="explanation")
    creator = _el(incident, "Contact", type="organization", role="creator")
    _el(creator, "ContactName", case.originator)
    if case.reporter.identifies_someone:
        _reporter(incident, case.reporter)
    indicators = _el(incident, "IndicatorData")
    for item in case.items:
        _indicator(indicators, case.originator, item)
    _history(incident, case)
    _extra(incident, "category", case.category.value, "category")
    if not case.reporter.identifies_someone:
        _extra(incident, "reporter_kind", case.reporter.kind.value, "reporter.kind")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


#: custody events that change what the document says (RFC 7970 History): a retraction, a correction
LIFECYCLE = {CustodyEvent.RETRACTED: {"action": "ext-value", "ext_action": "retracted"},
             CustodyEvent.UPDATED: {"action": "status-new-info"}}


def _history(incident: etree._Element, case: Case) -> None:
    """The case's retractions and corrections as HistoryItems, each with its time, who and why; a retracted
    item is named by its URL, so a reader knows which Indicator no longer stands."""
    entries = [c for c in case.custody if c.event in LIFECYCLE]
    if not entries:
        return
    history = _el(incident, "History")
    retracted = [i.url or str(i.item_id) for i in case.items if any(a.type is ActionType.RETRACTED for a in i.actions)]
    for entry in entries:
        item = _el(history, "HistoryItem", **LIFECYCLE[entry.event])
        _el(item, "DateTime", format_timestamp(entry.at))
        text = entry.note or entry.event.value
        if entry.event is CustodyEvent.RETRACTED and retracted:
            text += " (" + ", ".join(retracted[:50]) + ")"
        _el(item, "Description", f"{entry.by}: {text}"[:4000], field="custody")


def _reporter(incident: etree._Element, reporter: Reporter) -> None:
    kind = "organization" if reporter.kind is ReporterKind.ORGANISATION else "person"
    contact = _el(incident, "Contact", type=kind, role="reporter")
    if reporter.name is not None:
        _el(contact, "ContactName", reporter.name, field="reporter.name")
    if reporter.email is not None:
        _el(_el(contact, "Email"), "EmailTo", reporter.email, field="reporter.email")
    if reporter.phone is not None:
        _el(_el(contact, "Telephone"), "TelephoneNumber", reporter.phone, field="reporter.phone")
    _extra(contact, "reporter_kind", reporter.kind.value, "reporter.kind")
    if reporter.ref is not None:
        _extra(contact, "reporter_ref", reporter.ref, "reporter.ref")


def _indicator(parent: etree._Element, originator: str, item: Item) -> None:
    indicator = _el(parent, "Indicator")
    # IndicatorID is an xs:ID (an NCName, unique in the document), hence the prefix.
    _el(indicator, "IndicatorID", f"item-{item.item_id}", name=originator, version="1")
    _el(indicator, "Description", f"legal class: {item.legal_class.value}")
    file = _el(_el(_el(indicator, "Observable"), "FileData"), "File")
    if item.file_name is not None:
        _el(file, "FileName", item.file_name, field="items[].file_name")
    if item.url is not None:  # an item known only by its digests is a File of hashes alone
        if not is_any_uri(item.url):
            raise EncodeError(f"items[].url {item.url!r} is not an xs:anyURI, which IODEF's URL must be "
                              "(a malformed %-escape, a second '#', or brackets outside the host)")
        _el(file, "URL", item.url, field="items[].url")
    if item.hashes:
        data = _el(file, "HashData", scope="file-contents")
        for h in item.hashes:  # the schema wants every Hash before any FuzzyHash
            if h.algo in DIGEST_URI:
                digest = _el(data, "Hash")
                etree.SubElement(digest, f"{{{DS}}}DigestMethod", Algorithm=DIGEST_URI[h.algo])
                etree.SubElement(digest, f"{{{DS}}}DigestValue").text = base64.b64encode(
                    bytes.fromhex(h.value)).decode("ascii")
        for h in item.hashes:
            if h.algo in FUZZY:
                fuzzy = _el(data, "FuzzyHash")
                _el(fuzzy, "FuzzyHashValue", h.value, field="items[].hashes", dtype="string", meaning=FUZZY[h.algo])
    _extra(indicator, "legal_class", item.legal_class.value, "items[].legal_class")
