"""X-ARF v4 reports → cases: ``content/csam`` and ``content/csem`` only, every field checked on the way in.

Reports we wrote carry a ``case:<uuid>`` tag, so the reports of one case come back as that case;
anyone else's report becomes a case of its own, reported by the X-ARF reporter organisation and
awaiting our assessment (legal class ``doubtful`` unless the report says ``baseline``).
A report carrying evidence that could be media is refused: the gateway never takes imagery.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from hotline_gateway.adapters.values import enum_or, stable_uuid
from hotline_gateway.adapters.xarf.vocab import (
    AGE,
    CATEGORIES,
    HASH_FIELDS,
    HASH_SHAPES,
    HEX_ALGOS,
    ID_NAMESPACE,
    MAX_DOCUMENT,
)
from hotline_gateway.core.errors import DecodeError, MediaRefused, ValidationError
from hotline_gateway.core.media import refuse_media
from hotline_gateway.core.model import (
    URL_FORBIDDEN,
    AgeGroup,
    Case,
    CaseStatus,
    ContentType,
    ExternalRef,
    Hash,
    HashAlgo,
    Hosting,
    IndustryClass,
    Item,
    LegalClass,
    Priority,
    Reporter,
    ReporterKind,
    SourceChannel,
    Tlp,
)
from hotline_gateway.core.schema import validate_case

FMT = "xarf"
_RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})")
_URL = re.compile(r"(https?|ftp)://[^\s/?#]+\S*")
_PARTY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_IPV6 = re.compile(r"[0-9a-f:.]*:[0-9a-f:.]*")
_MEDIA_BACK = {"image": ContentType.IMAGE, "video": ContentType.VIDEO, "text": ContentType.TEXT,
               "audio": ContentType.OTHER, "mixed": ContentType.OTHER}
_AGE_BACK = {v: k for k, v in AGE.items()} | {"toddler": AgeGroup.INFANT}
#: evidence types that are text by nature; anything else may be media and is refused
_TEXT_EVIDENCE = frozenset({"text/plain", "text/csv", "application/json"})


def fail(message: str, path: str) -> DecodeError:
    return DecodeError(message, path=path, fmt=FMT)


def documents(data: bytes) -> list[tuple[str, dict[str, Any]]]:
    """The reports in a document: one JSON object, a JSON array of them, or JSON Lines."""
    if len(data) > MAX_DOCUMENT:
        raise fail(f"document larger than {MAX_DOCUMENT} bytes", "$")
    try:
        doc = orjson.loads(data)
        docs = [(f"$[{i}]", d) for i, d in enumerate(doc)] if isinstance(doc, list) else [("$", doc)]
    except orjson.JSONDecodeError:
        docs = []
        for n, line in enumerate(data.splitlines(), start=1):
            if line.strip():
                try:
                    docs.append((f"line {n}: $", orjson.loads(line)))
                except orjson.JSONDecodeError as exc:
                    raise fail(f"not JSON ({exc})", f"line {n}") from None
    if not docs:
        raise fail("no X-ARF report in the document", "$")
    for where, d in docs:
        if not isinstance(d, dict):
            raise fail("an X-ARF report is a JSON object", where)
    return docs


def cases(data: bytes) -> list[Case]:
    """Every report as an item, reports of one of our cases gathered back into that case."""
    out: dict[str, Case] = {}
    for where, doc in documents(data):
        key, item, case = _Report(doc, where).read()
        if key in out:
            out[key].items.append(item)
            out[key].external_refs += [r for r in case.external_refs if r not in out[key].external_refs]
        else:
            case.items.append(item)
            out[key] = case
    for case in out.values():
        try:
            validate_case(case)
        except ValidationError as exc:  # a safety net: the checks below should have said it first
            raise fail(f"the reports do not make a valid case: {exc.message}", "$") from None
    return list(out.values())


@dataclass(slots=True)
class _Report:
    doc: dict[str, Any]
    where: str

    def path(self, key: str) -> str:
        return f"{self.where}.{key}"

    def need(self, key: str, kind: type) -> Any:
        value = self.doc.get(key)
        if value is None:
            raise fail(f"required field {key} is missing", self.path(key))
        if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
            raise fail(f"{key} must be a JSON {kind.__name__}", self.path(key))
        return value

    def optional(self, key: str, kind: type) -> Any:
        return None if self.doc.get(key) is None else self.need(key, kind)

    def read(self) -> tuple[str, Item, Case]:
        category, xarf_type = self.doc.get("category"), self.doc.get("type")
        if category != "content" or not isinstance(xarf_type, str) or xarf_type not in CATEGORIES:
            raise fail(f"X-ARF {category}/{xarf_type} is not a content report a hotline handles "
                       "(accepted: content/csam, content/csem)", self.path("type"))
        self._refuse_media()
        tags = self._tags()
        ours = "case" in tags
        report_id = self.need("report_id", str)
        originator, reporter = self._reporter(ours)
        url = self._url()
        item = Item(
            item_id=stable_uuid(report_id, originator, ID_NAMESPACE),
            url=url,
            legal_class=self._legal_class(tags),
            media_type=enum_or(ContentType, tags.get("media_type"),
                               _MEDIA_BACK.get(str(self.doc.get("media_type")))),
            industry_class=enum_or(IndustryClass, self.doc.get("classification"), None),
            age_group=enum_or(AgeGroup, tags.get("age_group"), _AGE_BACK.get(str(self.doc.get("victim_age_range")))),
            hashes=self._hashes(tags),
            hosting=self._hosting(tags, ours),
        )
        key = tags.get("case") or f"report:{report_id}"
        ncmec = self.optional("ncmec_report_id", str)
        case = Case(
            case_id=stable_uuid(key, originator, ID_NAMESPACE),
            received_at=self._timestamp(),
            source_channel=SourceChannel.PARTNER_HOTLINE if ours else SourceChannel.INDUSTRY,
            reporter=reporter,
            originator=originator,
            category=CATEGORIES[xarf_type],
            tlp=enum_or(Tlp, tags.get("tlp"), Tlp.AMBER),
            priority=Priority.NORMAL,
            status=CaseStatus.NEW,
            items=[],
            external_refs=[ExternalRef("ncmec", ncmec)] if ncmec and len(ncmec) <= 256 else [],
        )
        return key, item, case

    def _url(self) -> str:
        url: str = self.need("url", str)
        if (bad := URL_FORBIDDEN.search(url)) is not None:
            raise fail(f"url holds the character U+{ord(bad.group()):04X} (control or bidirectional override)",
                       self.path("url"))
        if not (8 <= len(url) <= 4096 and _URL.fullmatch(url)):
            raise fail("url must be an absolute http(s) or ftp URL without whitespace", self.path("url"))
        return url

    def _timestamp(self) -> datetime:
        text = self.need("timestamp", str)
        m = _RFC3339.fullmatch(text)
        try:
            if m is None:
                raise ValueError(text)
            day, time, fraction, offset = m.groups()
            micros = f".{(fraction or '')[:6]:0<6}"
            zone = "+00:00" if offset in "Zz" else offset
            value = datetime.fromisoformat(f"{day}T{time}{micros}{zone}").astimezone(UTC)
        except (ValueError, OverflowError):
            raise fail("timestamp is not an RFC 3339 date-time in years 0001-9999", self.path("timestamp")) from None
        return value

    def _reporter(self, ours: bool) -> tuple[str, Reporter]:
        """Our own reports name the originating hotline; anyone else's reporter organisation reported to us."""
        info = self.need("reporter", dict)
        org = info.get("org")
        if not isinstance(org, str) or not 1 <= len(org) <= 256:
            raise fail("reporter.org must be an organisation name", self.path("reporter.org"))
        domain = info.get("domain")
        if _PARTY.fullmatch(org):
            originator = org
        elif isinstance(domain, str) and _PARTY.fullmatch(domain):
            originator = domain
        else:
            originator = re.sub(r"[^A-Za-z0-9_.:-]+", "-", org).lstrip("_.:-")[:64] or "unknown"
        if ours:
            return originator, Reporter(ReporterKind.WITHHELD)
        contact = info.get("contact")
        email = contact if isinstance(contact, str) and len(contact) <= 320 and _EMAIL.fullmatch(contact) else None
        return originator, Reporter(ReporterKind.ORGANISATION, name=org, email=email)

    def _legal_class(self, tags: dict[str, str]) -> LegalClass:
        if "legal_class" in tags:
            found: LegalClass = enum_or(LegalClass, tags["legal_class"], LegalClass.DOUBTFUL)
            return found
        return LegalClass.BASELINE if self.doc.get("classification") == "baseline" else LegalClass.DOUBTFUL

    def _tags(self) -> dict[str, str]:
        """Namespaced tags as a map (first one wins); hash tags keep every value under ``algo:value``."""
        raw = self.optional("tags", list) or []
        out: dict[str, str] = {}
        for tag in raw:
            if isinstance(tag, str) and ":" in tag:
                key, _, value = tag.partition(":")
                out.setdefault(tag if key in {a.value for a in HEX_ALGOS} else key, value)
        return out

    def _hashes(self, tags: dict[str, str]) -> list[Hash]:
        key = "hash_values" if "hash_values" in self.doc else "file_hash"
        fields = self.optional(key, dict) or {}
        found: list[tuple[str, HashAlgo, str]] = []
        for algo in HASH_FIELDS:
            if algo.value in fields:
                found.append((self.path(f"{key}.{algo.value}"), algo, fields[algo.value]))
        found += [(self.path("tags"), HashAlgo(k.partition(":")[0]), v) for k, v in tags.items()
                  if k.partition(":")[0] in {a.value for a in HEX_ALGOS}]
        hashes = []
        for path, algo, value in found:
            if not isinstance(value, str):
                raise fail(f"a {algo.value} hash is a string", path)
            value = value if algo is HashAlgo.PHOTODNA else value.lower()
            if not HASH_SHAPES[algo].fullmatch(value):
                raise fail(f"{value[:80]!r} is not a {algo.value} hash", path)
            hashes.append(Hash(algo, value))
        if len(hashes) > 16:
            raise fail("more than 16 hashes for one item", self.path(key))
        return hashes

    def _hosting(self, tags: dict[str, str], ours: bool) -> Hosting | None:
        """The source identifier is the hosting address when our tag says so, or, in anyone else's report,
        when it is an IP address (a host name says no more than the URL)."""
        source = self.need("source_identifier", str).lower()
        ip = None
        if not ours or tags.get("source") == "hosting":
            try:
                ip = str(ipaddress.ip_address(source))
            except ValueError:
                ip = None
            if ip is not None and ":" in ip and not _IPV6.fullmatch(ip):
                ip = None  # a zone index (fe80::1%eth0) names an interface, not a host
        asn = self.optional("asn", int)
        if asn is not None and not 1 <= asn <= 2**32 - 1:
            raise fail("asn must be between 1 and 4294967295", self.path("asn"))
        if asn is None and tags.get("asn") == "0":
            asn = 0
        country = self.optional("country_code", str)
        if country is not None and not _COUNTRY.fullmatch(country):
            raise fail("country_code must be ISO 3166-1 alpha-2 in capitals", self.path("country_code"))
        org = self.optional("hosting_provider", str) or None
        if org is not None and len(org) > 256:
            raise fail("hosting_provider is longer than 256 characters", self.path("hosting_provider"))
        if ip is None and asn is None and country is None and org is None:
            return None
        return Hosting(ip=ip, asn=asn, country=country, organisation=org)

    def _refuse_media(self) -> None:
        evidence = self.optional("evidence", list) or []
        for n, entry in enumerate(evidence):
            path = self.path(f"evidence[{n}]")
            if not isinstance(entry, dict):
                raise fail("an evidence item is a JSON object", path)
            kind = str(entry.get("content_type", "")).split(";")[0].strip().lower()
            if kind not in _TEXT_EVIDENCE:
                raise MediaRefused(f"{path}: evidence of type {kind or 'unknown'!r} may carry media; "
                                   "the gateway only takes URLs, hashes and metadata")
            payload = entry.get("payload")
            if not isinstance(payload, str):
                raise fail("evidence payload must be base64 text", f"{path}.payload")
            try:
                head = base64.b64decode("".join(payload[:64].split())[:24], validate=True)
            except (binascii.Error, ValueError):
                raise fail("evidence payload is not base64", f"{path}.payload") from None
            refuse_media(head)
