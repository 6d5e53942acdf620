"""``iodef``: RFC 7970 IODEF-Document v2, one Incident per case, the format of CSIRTs and police.

Each item is an Indicator whose Observable is a File with the item's URL and hashes. The hotline is
the Contact with role ``creator``; the reporter is a Contact with role ``reporter`` only when the case
still carries one (the engine has already removed it for anyone not entitled to it). What IODEF has
no element for (category, legal class, analyst assessment) travels as AdditionalData named by
``meaning``, which other IODEF consumers may ignore.

Inbound, any schema-valid IODEF document with URL or hash indicators becomes cases; values we
cannot know from plain IODEF get cautious defaults (category ``other``, legal class ``doubtful``).
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from adapters.iodef.mapping import (
    DIGEST_URI,
    DS,
    FUZZY,
    FUZZY_BY_NAME,
    MEANING,
    NS,
    RESTRICTION_TO_TLP,
    TLP_TO_RESTRICTION,
    URI_DIGEST,
)
from adapters.values import enum_or, stable_uuid
from adapters.xmlsafe import parse
from gateway.errors import DecodeError, EncodeError
from gateway.model import (
    Case,
    CaseStatus,
    Category,
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

NSMAP = {None: NS, "ds": DS}
Q = f"{{{NS}}}"
ID_NAMESPACE = uuid.UUID("6f1c5d8e-3a47-4b8e-9a55-2b1f0c7d9e01")
CARRIES = frozenset({
    "case_id", "originator", "received_at", "incident_at", "category", "tlp", "explanation",
    "reporter.kind", "reporter.ref", "reporter.name", "reporter.email", "reporter.phone",
    "items[].item_id", "items[].url", "items[].legal_class", "items[].file_name",
    "items[].hashes[].algo", "items[].hashes[].value",
})


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    el = etree.SubElement(parent, Q + tag, {k.replace("_", "-"): v for k, v in attrib.items()})
    if text is not None:
        if _XML_ILLEGAL.search(text):
            raise EncodeError(f"{tag} holds control characters that XML 1.0 cannot carry")
        el.text = text
    return el


def _data(parent: etree._Element, meaning: str, value: str) -> None:
    _el(parent, "AdditionalData", value, dtype="string", meaning=MEANING + meaning)


class IodefAdapter:
    name = "iodef"
    media_type = "application/xml"
    schema_path: Path | None = None  # the official XSD is the judge (../shared/formats/iodef-2.0)
    carries = CARRIES

    # --- encode -----------------------------------------------------------------------------------

    def encode(self, case: Case) -> bytes:
        root = etree.Element(Q + "IODEF-Document", {"version": "2.00"}, nsmap=NSMAP)  # type: ignore[arg-type]
        root.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        restriction = TLP_TO_RESTRICTION.get(case.tlp)
        attrs = {"purpose": "reporting", "restriction": restriction or "ext-value"}
        if restriction is None:
            attrs["ext-restriction"] = case.tlp.value
        incident = _el(root, "Incident", **attrs)
        _el(incident, "IncidentID", str(case.case_id), name=case.originator)
        if case.incident_at is not None:
            _el(incident, "DetectTime", format_timestamp(case.incident_at))
        _el(incident, "ReportTime", format_timestamp(case.received_at))
        _el(incident, "GenerationTime", format_timestamp(case.received_at))
        _el(incident, "Description", f"Report of {case.category.value} content ({len(case.items)} item(s))")
        creator = _el(incident, "Contact", type="organization", role="creator")
        _el(creator, "ContactName", case.originator)
        reporter = case.reporter
        if reporter.kind in (ReporterKind.ANONYMOUS, ReporterKind.WITHHELD):
            reporter_kind_here = True
        else:
            reporter_kind_here = False
            contact = _el(incident, "Contact", role="reporter",
                          type="organization" if reporter.kind is ReporterKind.ORGANISATION else "person")
            if reporter.name:
                _el(contact, "ContactName", reporter.name)
            if reporter.email:
                _el(_el(contact, "Email"), "EmailTo", reporter.email)
            if reporter.phone:
                _el(_el(contact, "Telephone"), "TelephoneNumber", reporter.phone)
            _data(contact, "reporter_kind", reporter.kind.value)
            if reporter.ref:
                _data(contact, "reporter_ref", reporter.ref)
        indicators = _el(incident, "IndicatorData")
        for item in case.items:
            self._indicator(indicators, case, item)
        _data(incident, "category", case.category.value)
        if reporter_kind_here:
            _data(incident, "reporter_kind", reporter.kind.value)
        if case.explanation:
            _data(incident, "explanation", case.explanation)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def _indicator(self, parent: etree._Element, case: Case, item: Item) -> None:
        indicator = _el(parent, "Indicator")
        _el(indicator, "IndicatorID", f"item-{item.item_id}", name=case.originator, version="1")
        _el(indicator, "Description", f"legal class: {item.legal_class.value}")
        file = _el(_el(_el(indicator, "Observable"), "FileData"), "File")
        if item.file_name:
            _el(file, "FileName", item.file_name)
        _el(file, "URL", item.url)
        if item.hashes:
            data = _el(file, "HashData", scope="file-contents")
            for h in item.hashes:
                if h.algo in DIGEST_URI:
                    digest = _el(data, "Hash")
                    etree.SubElement(digest, f"{{{DS}}}DigestMethod", Algorithm=DIGEST_URI[h.algo])
                    etree.SubElement(digest, f"{{{DS}}}DigestValue").text = base64.b64encode(
                        bytes.fromhex(h.value)).decode("ascii")
            for h in item.hashes:
                if h.algo in FUZZY:
                    fuzzy = _el(data, "FuzzyHash")
                    _el(fuzzy, "FuzzyHashValue", h.value, dtype="string", meaning=FUZZY[h.algo])
        _data(indicator, "legal_class", item.legal_class.value)

    # --- decode -----------------------------------------------------------------------------------

    def decode(self, data: bytes) -> list[Case]:
        root = parse(data, fmt=self.name)
        if root.tag != Q + "IODEF-Document":
            raise DecodeError(f"root element is {root.tag}, not IODEF-Document ({NS})", fmt=self.name)
        incidents = root.findall(Q + "Incident")
        if not incidents:
            raise DecodeError("IODEF-Document has no Incident", fmt=self.name)
        cases = [self._incident(inc, n) for n, inc in enumerate(incidents, start=1)]
        empty = [n for n, c in enumerate(cases, start=1) if c is None]
        if empty:
            raise DecodeError("no content items: the Incident carries no URL or hash indicators",
                              path=f"Incident[{empty[0]}]", fmt=self.name)
        return [c for c in cases if c is not None]

    def _text(self, el: etree._Element | None) -> str | None:
        return None if el is None or el.text is None else " ".join(el.text.split())

    def _extras(self, el: etree._Element) -> dict[str, str]:
        out = {}
        for ad in el.findall(Q + "AdditionalData"):
            meaning = ad.get("meaning", "")
            if meaning.startswith(MEANING) and ad.text is not None:
                out[meaning[len(MEANING):]] = ad.text
        return out

    def _time(self, el: etree._Element | None, where: str) -> datetime | None:
        text = self._text(el)
        if text is None:
            return None
        try:
            return parse_timestamp(text)
        except ValueError:
            raise DecodeError(f"{text!r} is not an xs:dateTime", path=where, fmt=self.name) from None

    def _incident(self, inc: etree._Element, n: int) -> Case | None:
        where = f"Incident[{n}]"
        ident = inc.find(Q + "IncidentID")
        if ident is None or not self._text(ident):
            raise DecodeError("Incident has no IncidentID", path=where, fmt=self.name)
        id_text = self._text(ident) or ""
        originator = "".join(ch if ch.isalnum() or ch in "_.:-" else "-" for ch in ident.get("name", ""))[:64]
        extras = self._extras(inc)
        items = [item for k, ind in enumerate(inc.iterfind(f"{Q}IndicatorData/{Q}Indicator"), start=1)
                 for item in self._items(ind, f"{where}/IndicatorData/Indicator[{k}]", originator)]
        if not items:
            return None
        report_time = self._time(inc.find(Q + "ReportTime"), f"{where}/ReportTime")
        generated = self._time(inc.find(Q + "GenerationTime"), f"{where}/GenerationTime")
        restriction = inc.get("restriction", "default")
        tlp = Tlp(str(inc.get("ext-restriction"))) if restriction == "ext-value" and inc.get("ext-restriction") in \
            {t.value for t in Tlp} else RESTRICTION_TO_TLP.get(restriction, Tlp.AMBER)
        category = extras.get("category", "other")
        return Case(
            case_id=stable_uuid(id_text, originator, ID_NAMESPACE),
            received_at=report_time or generated or datetime.now(UTC),
            source_channel=SourceChannel.PARTNER_HOTLINE if MEANING + "category" in _meanings(inc)
            else SourceChannel.OTHER,
            reporter=self._reporter(inc, extras.get("reporter_kind")),
            originator=originator or "unknown",
            category=Category(category) if category in {c.value for c in Category} else Category.OTHER,
            tlp=tlp, priority=Priority.NORMAL, status=CaseStatus.NEW, items=items,
            incident_at=self._time(inc.find(Q + "DetectTime"), f"{where}/DetectTime"),
            explanation=extras.get("explanation"),
        )

    def _reporter(self, inc: etree._Element, kind_text: str | None) -> Reporter:
        """Our own documents say the kind; anyone else's reporter Contact is a person or an organisation."""
        for contact in inc.findall(Q + "Contact"):
            if contact.get("role") != "reporter":
                continue
            extras = self._extras(contact)
            default = ReporterKind.PERSON if contact.get("type") == "person" else ReporterKind.ORGANISATION
            kind = enum_or(ReporterKind, extras.get("reporter_kind"), default)
            name = self._raw(contact.find(Q + "ContactName"))
            email = self._text(contact.find(f"{Q}Email/{Q}EmailTo"))
            phone = self._raw(contact.find(f"{Q}Telephone/{Q}TelephoneNumber"))
            if kind is ReporterKind.PSEUDONYMOUS and extras.get("reporter_ref"):
                return Reporter(kind, ref=extras["reporter_ref"])
            if name:
                return Reporter(kind, name=name, email=email,
                                phone=phone if kind is ReporterKind.PERSON else None)
            return Reporter(ReporterKind.WITHHELD)
        return Reporter(enum_or(ReporterKind, kind_text, ReporterKind.ANONYMOUS)
                        if kind_text in ("anonymous", "withheld") else ReporterKind.ANONYMOUS)

    def _raw(self, el: etree._Element | None) -> str | None:
        """Free text exactly as written (names, explanations): no whitespace folding."""
        return None if el is None or el.text is None else el.text

    def _items(self, ind: etree._Element, where: str, originator: str) -> list[Item]:
        ident = self._text(ind.find(Q + "IndicatorID")) or where
        legal = self._extras(ind).get("legal_class", LegalClass.DOUBTFUL.value)
        legal_class = LegalClass(legal) if legal in {c.value for c in LegalClass} else LegalClass.DOUBTFUL
        items: list[Item] = []
        for f, file in enumerate(ind.iter(Q + "File"), start=1):
            urls = [u for u in (self._text(el) for el in file.findall(Q + "URL")) if u]
            hashes = self._hashes(file, f"{where}/File[{f}]")
            if not urls:
                continue  # a hash without an address is not something a hotline can act on
            for u, url in enumerate(urls):
                key = ident.removeprefix("item-") if len(urls) == 1 else f"{ident}/{u}"
                items.append(Item(item_id=stable_uuid(key, originator, ID_NAMESPACE), url=url, legal_class=legal_class,
                                  hashes=list(hashes), file_name=self._raw(file.find(Q + "FileName"))))
        for bulk in ind.iter(Q + "BulkObservable"):
            if bulk.get("type") == "url":
                text = self._text(bulk.find(Q + "BulkObservableList")) or ""
                for u, url in enumerate(text.split()):
                    items.append(Item(item_id=stable_uuid(f"{ident}/bulk/{u}", originator, ID_NAMESPACE), url=url,
                                      legal_class=legal_class))
        return items

    def _hashes(self, file: etree._Element, where: str) -> list[Hash]:
        out: list[Hash] = []
        for h in file.iterfind(f"{Q}HashData/{Q}Hash"):
            method = h.find(f"{{{DS}}}DigestMethod")
            value = self._text(h.find(f"{{{DS}}}DigestValue"))
            algo = URI_DIGEST.get(method.get("Algorithm", "") if method is not None else "")
            if algo is None or value is None:
                continue
            try:
                out.append(Hash(algo, base64.b64decode(value, validate=True).hex()))
            except (binascii.Error, ValueError):
                raise DecodeError("DigestValue is not base64", path=f"{where}/HashData/Hash", fmt=self.name) from None
        for v in file.iterfind(f"{Q}HashData/{Q}FuzzyHash/{Q}FuzzyHashValue"):
            algo2: HashAlgo | None = FUZZY_BY_NAME.get(v.get("meaning", ""))
            value = self._text(v)
            if algo2 is not None and value:
                out.append(Hash(algo2, value))
        return out



def _meanings(el: etree._Element) -> set[str]:
    return {ad.get("meaning", "") for ad in el.findall(Q + "AdditionalData")}

