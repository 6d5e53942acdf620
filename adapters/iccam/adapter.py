"""``iccam``: the ICCAM-style report of the INHOPE network — a report with urls[], each with its hosting,
the analyst's assessment and the actions taken, value lists as numbers (see ``mapping.py``).

Hotline-to-hotline traffic: the reporter never travels in it, and neither does TLP (ICCAM is a closed
network); both are set on decode (reporter ``withheld``, TLP ``amber``). Checked against
``schemas/iccam/report.schema.json`` on the way out and on the way in.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import orjson

from adapters.iccam.mapping import CURRENT, mapping
from gateway.errors import DecodeError, EncodeError, ValidationError
from gateway.model import (
    Action,
    ActionType,
    AgeGroup,
    Case,
    CaseStatus,
    Category,
    Commerciality,
    ContentType,
    Flag,
    Gender,
    Hash,
    HashAlgo,
    Hosting,
    IndustryClass,
    Item,
    LegalClass,
    Priority,
    Reporter,
    ReporterKind,
    SiteType,
    SourceChannel,
    Tlp,
    format_timestamp,
    parse_timestamp,
)
from gateway.pipeline.validate import SchemaValidator
from schemas import path as schema_path

HASH_TYPES = {HashAlgo.MD5: "MD5", HashAlgo.SHA1: "SHA1", HashAlgo.SHA256: "SHA256", HashAlgo.PDQ: "PDQ",
              HashAlgo.PHOTODNA: "PHOTODNA"}
FLAGS = {Flag.VIRTUAL: "virtual", Flag.USER_GENERATED: "userGenerated", Flag.CHILD_MODELLING: "childModelling"}
CARRIES = frozenset({
    "case_id", "originator", "received_at", "incident_at", "category", "explanation",
    "items[].item_id", "items[].url", "items[].legal_class", "items[].is_source_url", "items[].referrer",
    "items[].file_name", "items[].media_type", "items[].site_type", "items[].commerciality",
    "items[].payment_methods[]", "items[].assigned_country", "items[].industry_class", "items[].age_group",
    "items[].gender", "items[].hashes[].algo", "items[].hashes[].value",
    "items[].hosting.ip", "items[].hosting.asn", "items[].hosting.country", "items[].hosting.organisation",
    "items[].hosting.isp", "items[].hosting.is_cdn",
    "items[].actions[].type", "items[].actions[].at", "items[].actions[].by", "items[].actions[].reason",
})


class IccamAdapter:
    name = "iccam"
    media_type = "application/vnd.inhope.iccam-report+json"
    schema_path: Path | None = schema_path("iccam/report.schema.json")
    carries = CARRIES

    def __init__(self) -> None:
        assert self.schema_path is not None
        self._validator = SchemaValidator.from_file(self.schema_path)
        current = mapping(CURRENT)
        assert current is not None
        self._map = current

    # --- encode -----------------------------------------------------------------------------------

    def encode(self, case: Case) -> bytes:
        report: dict[str, Any] = {
            "mappingVersion": self._map.version,
            "hotlineReference": str(case.case_id),
            "hotlineCode": case.originator,
            "hotlineReceivedDate": format_timestamp(case.received_at),
            "contentCategory": case.category.value,
            "urls": [self._url(item) for item in case.items],
        }
        if case.incident_at is not None:
            report["incidentDate"] = format_timestamp(case.incident_at)
        if case.explanation is not None:
            report["memo"] = case.explanation
        problems = self._validator.problems(report)
        if problems:
            raise EncodeError("the ICCAM report cannot carry this case: " + "; ".join(str(p) for p in problems[:3]))
        return orjson.dumps(report)

    def _url(self, item: Item) -> dict[str, Any]:
        m = self._map
        assessment: dict[str, Any] = {"classification": m.code("classification", item.legal_class.value)}
        if item.age_group is not None:
            assessment["ageCategorization"] = m.code("ageCategorization", item.age_group.value)
        if item.gender is not None:
            assessment["genderCategorization"] = m.code("genderCategorization", item.gender.value)
        if item.industry_class is not None:
            assessment["industryClassification"] = item.industry_class.value
        for flag, key in FLAGS.items():
            if flag in item.flags:
                assessment[key] = True
        url: dict[str, Any] = {"urlString": item.url, "hotlineReference": str(item.item_id), "assessment": assessment}
        optional = {
            "isSourceUrl": item.is_source_url, "referrer": item.referrer, "fileName": item.file_name,
            "contentType": m.code("contentType", item.media_type.value) if item.media_type else None,
            "siteType": m.code("siteType", item.site_type.value) if item.site_type else None,
            "commerciality": m.code("commerciality", item.commerciality.value) if item.commerciality else None,
            "paymentMethods": item.payment_methods or None, "assignedCountryCode": item.assigned_country,
        }
        url.update({k: v for k, v in optional.items() if v is not None})
        if item.hosting is not None:
            h = item.hosting
            url.update({k: v for k, v in {"hostingCountryCode": h.country, "hostingIpAddress": h.ip,
                                          "hostingIsp": h.isp}.items() if v is not None})
            org = {k: v for k, v in {"organizationName": h.organisation, "autonomousSystemNumber": h.asn,
                                     "isContentDeliveryNetwork": h.is_cdn}.items() if v is not None}
            if org:
                url["hostingOrganization"] = org
        if item.hashes:
            url["hashes"] = [{"hashType": HASH_TYPES[h.algo], "hashValue": h.value} for h in item.hashes]
        if item.actions:
            url["actions"] = [self._action(a) for a in item.actions]
        return url

    def _action(self, action: Action) -> dict[str, Any]:
        if action.type.value not in self._map.to_code["actionType"]:
            raise EncodeError(f"ICCAM has no action type for {action.type.value}")
        out: dict[str, Any] = {"actionType": self._map.code("actionType", action.type.value),
                               "actionDate": format_timestamp(action.at)}
        if action.by is not None:
            out["actioningAnalystName"] = action.by
        if action.reason is not None:
            out["reasonText"] = action.reason
        return out

    # --- decode -----------------------------------------------------------------------------------

    def decode(self, data: bytes) -> list[Case]:
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise DecodeError(f"not JSON ({exc})", fmt=self.name) from None
        docs = doc if isinstance(doc, list) else [doc]
        return [self._report(d, f"$[{i}]" if isinstance(doc, list) else "$") for i, d in enumerate(docs)]

    def _report(self, doc: Any, where: str) -> Case:
        if not isinstance(doc, dict):
            raise DecodeError("an ICCAM report is a JSON object", path=where, fmt=self.name)
        version = doc.get("mappingVersion")
        table = mapping(version) if isinstance(version, int) and not isinstance(version, bool) else None
        if table is None:
            raise DecodeError(f"unknown value-list mapping version {version!r} (known: 1)",
                              path=f"{where}.mappingVersion", fmt=self.name)
        try:
            self._validator.validate(doc)
        except ValidationError as exc:
            first = exc.problems[0]
            raise DecodeError(f"{first.message} ({len(exc.problems)} problem(s) in all)",
                              path=where + first.path.removeprefix("$"), fmt=self.name) from None
        m = table

        def enum(kind: Any, name: str, code: Any) -> Any:
            return None if code is None else kind(m.value(name, code))

        items = []
        for u in doc["urls"]:
            a = u["assessment"]
            org = u.get("hostingOrganization", {})
            hosting = Hosting(ip=u.get("hostingIpAddress"), asn=org.get("autonomousSystemNumber"),
                              organisation=org.get("organizationName"), isp=u.get("hostingIsp"),
                              country=u.get("hostingCountryCode"), is_cdn=org.get("isContentDeliveryNetwork"))
            items.append(Item(
                item_id=uuid.UUID(u["hotlineReference"]), url=u["urlString"],
                legal_class=LegalClass(m.to_canonical["classification"][a["classification"]]),
                is_source_url=u.get("isSourceUrl"), referrer=u.get("referrer"), file_name=u.get("fileName"),
                media_type=enum(ContentType, "contentType", u.get("contentType")),
                site_type=enum(SiteType, "siteType", u.get("siteType")),
                commerciality=enum(Commerciality, "commerciality", u.get("commerciality")),
                payment_methods=list(u.get("paymentMethods", [])), assigned_country=u.get("assignedCountryCode"),
                industry_class=IndustryClass(a["industryClassification"]) if "industryClassification" in a else None,
                age_group=enum(AgeGroup, "ageCategorization", a.get("ageCategorization")),
                gender=enum(Gender, "genderCategorization", a.get("genderCategorization")),
                flags=[flag for flag, key in FLAGS.items() if a.get(key)],
                hashes=[Hash(next(k for k, v in HASH_TYPES.items() if v == h["hashType"]), h["hashValue"])
                        for h in u.get("hashes", [])],
                hosting=hosting if any(v is not None for v in (hosting.ip, hosting.asn, hosting.organisation,
                                                                hosting.isp, hosting.country, hosting.is_cdn))
                else None,
                actions=[Action(ActionType(m.to_canonical["actionType"][x["actionType"]]),
                                parse_timestamp(x["actionDate"]), by=x.get("actioningAnalystName"),
                                reason=x.get("reasonText"))
                         for x in u.get("actions", [])],
            ))
        return Case(
            case_id=uuid.UUID(doc["hotlineReference"]), received_at=parse_timestamp(doc["hotlineReceivedDate"]),
            source_channel=SourceChannel.ICCAM, reporter=Reporter(ReporterKind.WITHHELD),
            originator=doc["hotlineCode"], category=Category(doc["contentCategory"]), tlp=Tlp.AMBER,
            priority=Priority.NORMAL, status=CaseStatus.NEW, items=items,
            incident_at=parse_timestamp(doc["incidentDate"]) if "incidentDate" in doc else None,
            explanation=doc.get("memo"),
        )
