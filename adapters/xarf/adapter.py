"""``xarf``: X-ARF v4 content reports, the notice a hosting provider's abuse desk can process by machine.

X-ARF is one report per abusive URL, so a case becomes one report per item, written as JSON Lines
(a one-item case is a plain JSON document). Only the content types a hotline meets are written:
``csam`` and ``csem`` (X-ARF has no type for NCII, hate or terrorism content, so those cases are
refused with EncodeError rather than mislabelled). The report's reporter and sender are the hotline
itself; the case's reporter never appears (hosts never receive reporter data). Values X-ARF has no
field for travel as namespaced ``tags`` (``case:<id>``, ``legal_class:...``), which X-ARF allows.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from adapters.values import enum_or, stable_uuid
from gateway.errors import DecodeError, EncodeError
from gateway.model import (
    AgeGroup,
    Case,
    CaseStatus,
    Category,
    ContentType,
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
    format_timestamp,
    parse_timestamp,
)

VERSION = "4.2.0"
TYPES = {Category.CSAM: "csam", Category.CSEM: "csem"}
MEDIA = {ContentType.IMAGE: "image", ContentType.VIDEO: "video", ContentType.TEXT: "text"}
AGE = {AgeGroup.INFANT: "infant", AgeGroup.PRE_PUBESCENT: "prepubescent", AgeGroup.PUBESCENT: "pubescent",
       AgeGroup.NOT_DETERMINED: "unknown"}
HASH_FIELDS = (HashAlgo.MD5, HashAlgo.SHA1, HashAlgo.SHA256, HashAlgo.PHOTODNA)
#: hashes that fit a tag (lower-case hex): PDQ always, others beyond the first of their algorithm
HEX_TAGS = frozenset({"md5", "sha1", "sha256", "pdq"})
_DOMAIN = re.compile(r"^([a-z0-9]+(-[a-z0-9]+)*\.)+[a-z]{2,}$")
_PARTY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
ID_NAMESPACE = uuid.UUID("2b0f6c3e-9d0a-4c55-8f7e-1e2d3c4b5a69")
CARRIES = frozenset({
    "case_id", "originator", "received_at", "category", "tlp",
    "items[].item_id", "items[].url", "items[].legal_class", "items[].industry_class", "items[].media_type",
    "items[].age_group", "items[].hashes[].algo", "items[].hashes[].value",
    "items[].hosting.ip", "items[].hosting.asn", "items[].hosting.country", "items[].hosting.organisation",
})


def _slug(party: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", party.lower()).strip("-") or "hotline"


def _contact(originator: str) -> dict[str, str]:
    domain = f"{_slug(originator)}.hotline-gateway.invalid"
    return {"org": originator, "contact": f"notices@{domain}", "domain": domain}


class XarfAdapter:
    name = "xarf"
    media_type = "application/json"
    schema_path: Path | None = None  # the official X-ARF v4 master schema is the judge
    carries = CARRIES

    # --- encode -----------------------------------------------------------------------------------

    def encode(self, case: Case) -> bytes:
        xarf_type = TYPES.get(case.category)
        if xarf_type is None:
            raise EncodeError(f"X-ARF v4 has no content type for category {case.category.value} "
                              "(it carries csam and csem)")
        lines = [orjson.dumps(self._report(case, item, xarf_type)) for item in case.items]
        return b"\n".join(lines) + b"\n"

    def _report(self, case: Case, item: Item, xarf_type: str) -> dict[str, Any]:
        host = (urlsplit(item.url).hostname or "").lower()
        hosting = item.hosting or Hosting()
        tags = [f"case:{case.case_id}", f"legal_class:{item.legal_class.value}", f"tlp:{case.tlp.value}"]
        if hosting.ip:
            tags.append("source:hosting")  # source_identifier is where the content is hosted
        if item.media_type is not None:
            tags.append(f"media_type:{item.media_type.value}")
        if item.age_group is not None:
            tags.append(f"age_group:{item.age_group.value}")
        hashes: dict[str, str] = {}
        for h in item.hashes:
            if h.algo in HASH_FIELDS and h.algo.value not in hashes:
                hashes[h.algo.value] = h.value
            elif h.algo is HashAlgo.PHOTODNA:
                raise EncodeError(f"item {item.item_id}: X-ARF carries one PhotoDNA hash per report")
            else:
                tags.append(f"{h.algo.value}:{h.value}")  # PDQ, and further hex hashes of one algorithm
        report: dict[str, Any] = {
            "xarf_version": VERSION,
            "report_id": str(item.item_id),
            "timestamp": format_timestamp(case.received_at),
            "reporter": _contact(case.originator),
            "sender": _contact(case.originator),
            "source_identifier": hosting.ip or host or item.url,
            "category": "content",
            "type": xarf_type,
            "url": item.url,
            "detection_method": "manual_review",
            "description": f"{xarf_type.upper()} assessed by internet hotline {case.originator}; please remove it.",
            "tags": tags,
        }
        if _DOMAIN.match(host):
            report["domain"] = host
        if hashes:
            report["hash_values"] = hashes
        if xarf_type == "csam":
            report["classification"] = (item.industry_class.value if item.industry_class else "baseline")
            if item.media_type in MEDIA:
                report["media_type"] = MEDIA[item.media_type]
        else:
            report["exploitation_type"] = "distribution"
            if item.industry_class is not None:
                report["classification"] = item.industry_class.value
            if item.age_group is not None:
                report["victim_age_range"] = AGE[item.age_group]
        if hosting.asn:
            report["asn"] = hosting.asn
        elif hosting.asn == 0:
            tags.append("asn:0")  # AS0 (RFC 7607) is below X-ARF's asn minimum
        if hosting.country:
            report["country_code"] = hosting.country
        if hosting.organisation:
            report["hosting_provider"] = hosting.organisation
        if any(a.type.value in ("content_removed", "content_unavailable") for a in item.actions):
            report["content_removed"] = True
        if len(tags) > 20:
            raise EncodeError(f"item {item.item_id}: more hashes than X-ARF's 20 tags can carry")
        return report

    # --- decode -----------------------------------------------------------------------------------

    def decode(self, data: bytes) -> list[Case]:
        reports = self._documents(data)
        cases: dict[str, Case] = {}
        for where, report in reports:
            case_key, item, partial = self._item(report, where)
            if case_key not in cases:
                cases[case_key] = partial
            cases[case_key].items.append(item)
        return list(cases.values())

    def _documents(self, data: bytes) -> list[tuple[str, dict[str, Any]]]:
        try:
            doc = orjson.loads(data)
            docs = [("$", doc)] if not isinstance(doc, list) else [(f"$[{i}]", d) for i, d in enumerate(doc)]
        except orjson.JSONDecodeError:
            docs = []
            for n, line in enumerate(data.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    docs.append((f"line {n}", orjson.loads(line)))
                except orjson.JSONDecodeError as exc:
                    raise DecodeError(f"not JSON ({exc})", path=f"line {n}", fmt=self.name) from None
        if not docs:
            raise DecodeError("no X-ARF report in the document", fmt=self.name)
        for where, d in docs:
            if not isinstance(d, dict):
                raise DecodeError("an X-ARF report is a JSON object", path=where, fmt=self.name)
        return docs

    def _need(self, report: dict[str, Any], key: str, where: str) -> Any:
        if key not in report:
            raise DecodeError(f"required field {key} is missing", path=f"{where}.{key}", fmt=self.name)
        return report[key]

    def _item(self, report: dict[str, Any], where: str) -> tuple[str, Item, Case]:
        category, xarf_type = report.get("category"), report.get("type")
        if category != "content" or xarf_type not in ("csam", "csem"):
            raise DecodeError(f"X-ARF {category}/{xarf_type} is not a content report a hotline handles "
                              "(accepted: content/csam, content/csem)", path=f"{where}.type", fmt=self.name)
        url = self._need(report, "url", where)
        if not isinstance(url, str) or not url.startswith(("http://", "https://", "ftp://")):
            raise DecodeError("url must be an http(s) or ftp URL", path=f"{where}.url", fmt=self.name)
        tags = self._tags(report.get("tags", []), where)
        try:
            received = parse_timestamp(str(self._need(report, "timestamp", where)))
        except ValueError:
            raise DecodeError("timestamp is not an RFC 3339 date-time", path=f"{where}.timestamp",
                              fmt=self.name) from None
        reporter_info = report.get("reporter") if isinstance(report.get("reporter"), dict) else {}
        assert isinstance(reporter_info, dict)
        org = str(reporter_info.get("org") or "")
        originator = org if _PARTY.match(org) else str(reporter_info.get("domain") or "unknown")[:64]
        ours = "case" in tags
        report_id = str(self._need(report, "report_id", where))
        item = Item(
            item_id=stable_uuid(report_id, originator, ID_NAMESPACE),
            url=url,
            legal_class=enum_or(LegalClass, tags.get("legal_class"),
                              LegalClass.BASELINE if xarf_type == "csam" else LegalClass.DOUBTFUL),
            media_type=enum_or(ContentType, tags.get("media_type") or report.get("media_type"), None),
            industry_class=enum_or(IndustryClass, report.get("classification"), None),
            age_group=enum_or(AgeGroup, tags.get("age_group"), None),
            hashes=self._hashes(report, tags, where),
            hosting=self._hosting(report, (urlsplit(url).hostname or "").lower(), tags),
        )
        case_key = tags.get("case") or report_id
        reporter = (Reporter(ReporterKind.WITHHELD) if ours else
                    Reporter(ReporterKind.ORGANISATION, name=org or originator,
                             email=str(reporter_info["contact"]) if "@" in str(reporter_info.get("contact", ""))
                             else None))
        partial = Case(
            case_id=stable_uuid(case_key, originator, ID_NAMESPACE), received_at=received,
            source_channel=SourceChannel.PARTNER_HOTLINE if ours else SourceChannel.INDUSTRY,
            reporter=reporter, originator=originator, category=Category(xarf_type),
            tlp=enum_or(Tlp, tags.get("tlp"), Tlp.AMBER) or Tlp.AMBER, priority=Priority.NORMAL,
            status=CaseStatus.NEW, items=[],
        )
        return case_key, item, partial

    def _tags(self, raw: Any, where: str) -> dict[str, str]:
        if not isinstance(raw, list):
            raise DecodeError("tags must be an array", path=f"{where}.tags", fmt=self.name)
        out: dict[str, str] = {}
        for tag in raw:
            if not isinstance(tag, str) or ":" not in tag:
                continue
            key, _, value = tag.partition(":")
            if key in HEX_TAGS:
                key = tag  # an item may have several hashes of one algorithm
            out.setdefault(key, value)
        return out

    def _hashes(self, report: dict[str, Any], tags: dict[str, str], where: str) -> list[Hash]:
        values = report.get("hash_values") or report.get("file_hash") or {}
        if not isinstance(values, dict):
            raise DecodeError("hash_values must be an object", path=f"{where}.hash_values", fmt=self.name)
        out = []
        for algo in HASH_FIELDS:
            value = values.get(algo.value)
            if isinstance(value, str) and value:
                out.append(Hash(algo, value if algo is HashAlgo.PHOTODNA else value.lower()))
        out += [Hash(HashAlgo(k.partition(":")[0]), v) for k, v in tags.items() if k.partition(":")[0] in HEX_TAGS]
        return out

    def _hosting(self, report: dict[str, Any], url_host: str, tags: dict[str, str]) -> Hosting | None:
        """The source identifier is the hosting address: ours say so with a tag; others', unless it merely
        repeats the URL's own host."""
        source = str(report.get("source_identifier", "")).lower()
        if ("case" in tags and tags.get("source") != "hosting") or ("case" not in tags and source == url_host):
            source = ""
        try:
            ip: str | None = str(ipaddress.ip_address(str(source)))
        except ValueError:
            ip = None
        asn = report.get("asn") if isinstance(report.get("asn"), int) else (0 if tags.get("asn") == "0" else None)
        country = report.get("country_code") if isinstance(report.get("country_code"), str) else None
        org = report.get("hosting_provider") if isinstance(report.get("hosting_provider"), str) else None
        if ip is None and asn is None and country is None and org is None:
            return None
        return Hosting(ip=ip, asn=asn, country=country, organisation=org)



