"""IODEF-Document → cases: one case per Incident that carries content, valid canonical cases or DecodeError.

Any schema-valid IODEF document is read, not only ours. Content items are URLs where RFC 7970 puts
them: ``File/URL`` (with that File's hashes), ``Address category="site-uri"`` and ``BulkObservable
type="site-uri"`` (``ext-value`` spelt url/uri is accepted too), wherever they sit in the Incident
(indicators, event data). A file named only by its digests (``File`` with ``HashData`` and no URL, a
``BulkObservable`` of type ``file-hash``) becomes an item with hashes and no URL, so a document is refused
only when it names neither a URL nor a hash.

Our own documents (recognised by ``AdditionalData`` whose ``meaning`` starts with ``hotline-gateway:``)
come back exactly as they went out. Anyone else's get cautious defaults: category ``other``, legal
class ``doubtful``, reporter ``withheld`` when none is named (or when the named one does not fit the
canonical model), source channel ``other``; their free text is whitespace-folded, since pretty-printing
is not content.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from lxml import etree

from hotline_gateway.adapters.iodef.mapping import (
    DEFAULT_RESTRICTION,
    DIGEST_BYTES,
    DOMAIN_KINDS,
    DS,
    EXT_DOMAIN_KINDS,
    EXT_URL_KINDS,
    FUZZY_BY_NAME,
    HASH_KINDS,
    IODEF_TO_STATUS,
    MEANING,
    NS,
    RESTRICTION_TO_TLP,
    UNREADABLE_TLP,
    URI_DIGEST,
    URL_KINDS,
)
from hotline_gateway.adapters.values import enum_or, stable_uuid
from hotline_gateway.core.errors import DecodeError
from hotline_gateway.core.model import (
    Case,
    CaseStatus,
    Category,
    ExternalRef,
    Hash,
    HashAlgo,
    Hosting,
    Item,
    LegalClass,
    ObservedAs,
    Priority,
    Reporter,
    ReporterKind,
    SourceChannel,
    Tlp,
)
from hotline_gateway.core.xmlsafe import xs_datetime

FMT = "iodef"
_Q = f"{{{NS}}}"
#: namespace of the name-based UUIDs given to other systems' incident and indicator ids
ID_NAMESPACE = uuid.UUID("6f1c5d8e-3a47-4b8e-9a55-2b1f0c7d9e01")
_MAX_EXPLANATION = 4000
_HEX = re.compile(r"[0-9a-fA-F]+")
_NOT_PARTY = re.compile(r"[^A-Za-z0-9_.:-]+")
_DOMAIN = re.compile(r"(?=.{1,253}\.?$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\.?")
#: URLs under these name who to contact or say more about a value, not a location the incident is about
_NOT_CONTENT = frozenset({"Contact", "AdditionalData", "DomainContacts", "RelatedDNS", "Nameservers"})
#: the context RFC 7970 gives a URL, innermost first
_ROLES = {"RelatedActivity": ObservedAs.RELATED_ACTIVITY, "Reference": ObservedAs.REFERENCE,
          "Method": ObservedAs.REFERENCE, "Record": ObservedAs.EVENT_RECORD, "Service": ObservedAs.SERVICE,
          "Flow": ObservedAs.EVENT_FLOW}


def _token(el: etree._Element | None) -> str | None:
    """Text with whitespace folded (ids, URLs, times): None when there is none."""
    text = " ".join((el.text or "").split()) if el is not None else ""
    return text or None


def _party(name: str) -> str:
    """Someone else's name for its organisation as a canonical PartyId."""
    return _NOT_PARTY.sub("-", name).lstrip("_.:-")[:64] or "unknown"


@dataclass(slots=True)
class IncidentReader:
    """Reads one Incident; ``own`` says whether hotline-gateway wrote it (then text is taken exactly)."""

    el: etree._Element
    where: str
    own: bool
    originator: str

    @classmethod
    def of(cls, el: etree._Element, n: int) -> IncidentReader:
        own = any(m.startswith(MEANING) for m in (a.get("meaning", "") for a in el.iter(_Q + "AdditionalData")))
        ident = el.find(_Q + "IncidentID")
        name = ident.get("name", "") if ident is not None else ""
        return cls(el, f"Incident[{n}]", own, name if own and name else _party(name))

    # --- text -------------------------------------------------------------------------------------

    def free(self, el: etree._Element | None) -> str | None:
        """Free text (names, explanations): exact in our documents, whitespace-folded in others'."""
        if el is None or not el.text:
            return None
        return el.text if self.own else _token(el)

    def extras(self, el: etree._Element) -> dict[str, str]:
        out = {}
        for ad in el.findall(_Q + "AdditionalData"):
            meaning = ad.get("meaning", "")
            if meaning.startswith(MEANING) and ad.text is not None:
                out[meaning.removeprefix(MEANING)] = ad.text
        return out

    def time(self, tag: str) -> datetime | None:
        text = _token(self.el.find(_Q + tag))
        if text is None:
            return None
        try:
            return xs_datetime(text)
        except ValueError:
            raise DecodeError(f"{text!r} is not an xs:dateTime within years 1-9999", path=f"{self.where}/{tag}",
                              fmt=FMT) from None

    # --- the case ---------------------------------------------------------------------------------

    def case(self) -> Case | None:
        """The case, or None when the Incident holds no content item at all."""
        items = self.items()
        if not items:
            return None
        ident = _token(self.el.find(_Q + "IncidentID"))
        if ident is None:
            raise DecodeError("IncidentID is empty", path=f"{self.where}/IncidentID", fmt=FMT)
        received = self.time("ReportTime") or self.time("GenerationTime")
        if received is None:
            raise DecodeError("Incident has no GenerationTime", path=self.where, fmt=FMT)
        extras = self.extras(self.el)
        explanation = self.free(self.el.find(_Q + "Description"))
        if explanation is not None and not self.own and len(explanation) > _MAX_EXPLANATION:
            explanation = explanation[:_MAX_EXPLANATION - 1] + "…"
        return Case(
            case_id=stable_uuid(ident, self.originator, ID_NAMESPACE),
            received_at=received,
            source_channel=SourceChannel.PARTNER_HOTLINE if self.own else SourceChannel.OTHER,
            reporter=self.reporter(extras.get("reporter_kind")),
            originator=self.originator,
            category=enum_or(Category, extras.get("category"), Category.OTHER),
            tlp=self.tlp(),
            priority=Priority.NORMAL,
            status=self.status(),
            items=items,
            external_refs=self.external_refs(),
            incident_at=self.time("DetectTime") or (None if self.own else self.time("StartTime")),
            explanation=explanation,
        )

    def tlp(self) -> Tlp:
        restriction = self.el.get("restriction", DEFAULT_RESTRICTION)
        if restriction == "ext-value":
            ext = self.el.get("ext-restriction", "").strip().lower().removeprefix("tlp:")
            tlp: Tlp = enum_or(Tlp, ext, UNREADABLE_TLP)
            return tlp
        return RESTRICTION_TO_TLP.get(restriction, UNREADABLE_TLP)

    def status(self) -> CaseStatus:
        status = self.el.get("status", "new")
        if status == "ext-value":
            extended: CaseStatus = enum_or(CaseStatus, self.el.get("ext-status"), CaseStatus.NEW)
            return extended
        return IODEF_TO_STATUS.get(status, CaseStatus.NEW)

    def external_refs(self) -> list[ExternalRef]:
        refs = []
        for alt in self.el.iterfind(f"{_Q}AlternativeID/{_Q}IncidentID"):
            system = alt.get("name", "") if self.own else " ".join(alt.get("name", "").split())
            ref_id = self.free(alt)
            if system and ref_id and (self.own or (len(system) <= 64 and len(ref_id) <= 256)):
                refs.append(ExternalRef(system, ref_id))
        return refs

    def reporter(self, kind_text: str | None) -> Reporter:
        """The reporter Contact; without one, what our documents say (anonymous/withheld) or withheld."""
        contact = next((c for c in self.el.findall(_Q + "Contact") if c.get("role") == "reporter"), None)
        if contact is None:
            return Reporter(enum_or(ReporterKind, kind_text, ReporterKind.WITHHELD)
                            if kind_text in ("anonymous", "withheld") else ReporterKind.WITHHELD)
        extras = self.extras(contact)
        default = ReporterKind.ORGANISATION if contact.get("type") == "organization" else ReporterKind.PERSON
        kind: ReporterKind = enum_or(ReporterKind, extras.get("reporter_kind"), default)
        if kind is ReporterKind.PSEUDONYMOUS:
            return Reporter(kind, ref=extras.get("reporter_ref"))
        name = self.free(contact.find(_Q + "ContactName"))
        if name is None:
            return Reporter(ReporterKind.WITHHELD)
        email = self.free(contact.find(f"{_Q}Email/{_Q}EmailTo"))
        phone = self.free(contact.find(f"{_Q}Telephone/{_Q}TelephoneNumber")) if kind is ReporterKind.PERSON else None
        return Reporter(kind, name=name, email=email, phone=phone)

    # --- content ----------------------------------------------------------------------------------

    def items(self) -> list[Item]:
        """Every URL the Incident names, wherever RFC 7970 puts one, with where it came from; and every
        file it names only by its digests (a File with HashData and no URL, a BulkObservable of file hashes)."""
        found: dict[tuple[object, ...], Item] = {}
        domains: list[tuple[str, Item]] = []
        for el in self.el.iter(_Q + "URL", _Q + "Address", _Q + "BulkObservable", _Q + "DomainData", _Q + "File"):
            if _under(el, self.el, _NOT_CONTENT):
                continue
            where = f"{self.where}/{_path(el, self.el)}"
            indicator = next(el.iterancestors(_Q + "Indicator"), None)
            legal = self.extras(indicator).get("legal_class") if indicator is not None else None
            legal_class = enum_or(LegalClass, legal, LegalClass.DOUBTFUL)
            key = _token(indicator.find(_Q + "IndicatorID")) if indicator is not None else None
            entries, file_name, role = self.content(el, where)
            single = len(entries) == 1 and key is not None and key.startswith("item-") and self.own
            hosting = _hosting(el)
            for k, (url, hashes) in enumerate(entries):
                item_key = key.removeprefix("item-") if single and key else f"{key or where}/{el.tag}/{k}"
                observed = None if self.own else role
                item = Item(item_id=stable_uuid(item_key, self.originator, ID_NAMESPACE), url=url,
                            legal_class=legal_class, hashes=list(hashes), file_name=file_name, hosting=hosting,
                            observed_as=observed)
                if observed is ObservedAs.DOMAIN and url is not None:
                    domains.append((url, item))
                elif self.own:
                    found[(item.item_id,)] = item  # ours come back exactly, items sharing a URL included
                else:  # the same location said twice in one Incident is one item
                    found.setdefault((url, observed, tuple((h.algo, h.value) for h in hashes), file_name), item)
        hosts = {urlsplit(item.url).hostname for item in found.values() if item.url is not None}
        for url, item in domains:  # a domain says nothing more when a URL on it is already named
            if urlsplit(url).hostname not in hosts:
                found.setdefault((url, ObservedAs.DOMAIN), item)
        return list(found.values())

    def content(self, el: etree._Element, where: str
                ) -> tuple[list[tuple[str | None, list[Hash]]], str | None, ObservedAs]:
        """The entries (a URL or None, with its hashes), file name and place of one URL, File, Address,
        BulkObservable or DomainData."""
        local = etree.QName(el).localname
        role = _role(el, self.el)
        if local == "File":
            if el.find(_Q + "URL") is not None:
                return [], None, role  # the File's URL stands for it, with these hashes
            hashes = self.hashes(el.find(_Q + "HashData"), where)
            return ([(None, hashes)] if hashes else []), self.free(el.find(_Q + "FileName")), role
        if local == "URL":
            url = _token(el)
            parent = el.getparent()
            if parent is not None and etree.QName(parent).localname == "File":
                data = parent.find(_Q + "HashData")
                return ([(url, self.hashes(data, where))] if url else []), self.free(parent.find(_Q + "FileName")), \
                    role
            return ([(url, [])] if url else []), None, role
        if local == "DomainData":
            name = _token(el.find(_Q + "Name"))
            return ([(f"http://{name.lower().rstrip('.')}/", [])] if name and _DOMAIN.fullmatch(name) else []), \
                None, ObservedAs.DOMAIN
        kind = el.get("category", "ipv6-addr") if local == "Address" else el.get("type", "")
        ext = ((el.get("ext-category") if local == "Address" else el.get("ext-type")) or "").strip().lower()
        is_url = kind in URL_KINDS or (kind == "ext-value" and ext in EXT_URL_KINDS)
        if local == "Address":
            url = _token(el)
            return ([(url, [])] if is_url and url else []), None, role
        listed = (_token(el.find(_Q + "BulkObservableList")) or "").split()
        if is_url:
            return [(u, []) for u in listed], None, role
        if kind in DOMAIN_KINDS or (kind == "ext-value" and ext in EXT_DOMAIN_KINDS):
            return [(f"http://{d.lower().rstrip('.')}/", []) for d in listed if _DOMAIN.fullmatch(d)], None, \
                ObservedAs.DOMAIN
        if kind in HASH_KINDS:
            return [(None, [_listed_hash(h, f"{where}/BulkObservableList")]) for h in listed], None, role
        return [], None, role

    def hashes(self, data: etree._Element | None, where: str) -> list[Hash]:
        """Digests we have an algorithm for (md5, sha1, sha256, pdq, photodna); others are not carried."""
        if data is None:
            return []
        out: list[Hash] = []
        for n, h in enumerate(data.iterfind(_Q + "Hash"), start=1):
            method = h.find(f"{{{DS}}}DigestMethod")
            algo = URI_DIGEST.get((method.get("Algorithm") or "").strip() if method is not None else "")
            value = _token(h.find(f"{{{DS}}}DigestValue"))
            if algo is not None and value is not None:
                out.append(Hash(algo, _digest_hex(algo, value, f"{where}/HashData/Hash[{n}]")))
        for v in data.iterfind(f"{_Q}FuzzyHash/{_Q}FuzzyHashValue"):
            fuzzy = FUZZY_BY_NAME.get((v.get("meaning") or "").strip().lower())
            value = _token(v)
            if fuzzy is not None and value is not None:
                out.append(Hash(fuzzy, value))
        return out


def _ancestors(el: etree._Element, stop: etree._Element) -> list[str]:
    names = []
    for a in el.iterancestors():
        if a is stop:
            break
        names.append(etree.QName(a).localname)
    return names


def _under(el: etree._Element, stop: etree._Element, names: frozenset[str]) -> bool:
    return bool(names.intersection(_ancestors(el, stop)))


def _role(el: etree._Element, stop: etree._Element) -> ObservedAs:
    """Where RFC 7970 placed a URL: the first (innermost) context that says what it is to the incident."""
    for name in _ancestors(el, stop):
        if name in _ROLES:
            return _ROLES[name]
    return ObservedAs.CONTENT


def _hosting(el: etree._Element) -> Hosting | None:
    """The address a URL was served from, when the Node, System or Observable naming it also names one."""
    for container in el.iterancestors(_Q + "Node", _Q + "System", _Q + "Observable"):
        for address in container.iter(_Q + "Address"):
            text = _token(address) or ""
            if address.get("category", "ipv6-addr") in ("ipv4-addr", "ipv6-addr"):
                try:
                    ip = ipaddress.ip_address(text)
                except ValueError:
                    continue
                return Hosting(ip=ip.compressed)
    return None


#: a file hash listed without its algorithm (BulkObservable type file-hash) is known by its length
_HASH_BY_LENGTH = {32: HashAlgo.MD5, 40: HashAlgo.SHA1, 64: HashAlgo.SHA256}


def _listed_hash(text: str, where: str) -> Hash:
    algo = _HASH_BY_LENGTH.get(len(text))
    if algo is None or not all(c in "0123456789abcdefABCDEF" for c in text):
        raise DecodeError(f"{text[:80]!r} is not an MD5, SHA-1 or SHA-256 digest in hex", path=where, fmt=FMT)
    return Hash(algo, text.lower())


def _path(el: etree._Element, stop: etree._Element) -> str:
    """Readable place of ``el`` below ``stop``, e.g. ``IndicatorData/Indicator[2]/Observable/FileData/File``."""
    steps = []
    while el is not stop and (parent := el.getparent()) is not None:
        same = [c for c in parent if c.tag == el.tag]
        name = etree.QName(el).localname
        steps.append(f"{name}[{same.index(el) + 1}]" if len(same) > 1 else name)
        el = parent
    return "/".join(reversed(steps))


def _digest_hex(algo: HashAlgo, value: str, where: str) -> str:
    """ds:DigestValue is base64; some producers write hex there, which is taken when its length fits."""
    size = DIGEST_BYTES[algo]
    if len(value) == 2 * size and _HEX.fullmatch(value):
        return value.lower()
    try:
        return base64.b64decode(value.replace(" ", ""), validate=True).hex()
    except (binascii.Error, ValueError):
        raise DecodeError("DigestValue is neither base64 nor hex", path=where, fmt=FMT) from None


def read_incidents(root: etree._Element) -> list[tuple[IncidentReader, Case]]:
    """Every Incident that carries content, with its case; DecodeError when the document has none."""
    if root.tag != _Q + "IODEF-Document":
        raise DecodeError(f"root element is {root.tag}, not IODEF-Document in {NS}", path="/", fmt=FMT)
    incidents = root.findall(_Q + "Incident")
    if not incidents:
        raise DecodeError("IODEF-Document has no Incident", path="/IODEF-Document", fmt=FMT)
    out = []
    for n, el in enumerate(incidents, start=1):
        reader = IncidentReader.of(el, n)
        case = reader.case()
        if case is not None:
            out.append((reader, case))
    if not out:
        raise DecodeError("no content items: no Incident names a URL, a domain or a file hash where RFC 7970 puts "
                          "them (a URL element in File, Record, Service, RelatedActivity or Reference; Address or "
                          "BulkObservable of category site-uri; DomainData/Name; BulkObservable of domain names or "
                          "file hashes; a File's HashData)", path="/IODEF-Document", fmt=FMT)
    return out
