"""ICCAM-style report to canonical case, for a document the wire schema has accepted.

The schema checks shape; what it cannot check (a number missing from the named table, a date that does
not exist, an address Python cannot parse) is refused here with a DecodeError naming the JSON path.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from hotline_gateway.adapters.iccam.fields import FLAGS, HASH_ALGOS, HEX_ALGOS, ID_NAMESPACE, RETRACTED_PREFIX
from hotline_gateway.adapters.iccam.mapping import ValueLists
from hotline_gateway.adapters.values import stable_uuid
from hotline_gateway.core.errors import DecodeError
from hotline_gateway.core.jsonpath import json_path
from hotline_gateway.core.model import (
    Action,
    ActionType,
    AgeGroup,
    Case,
    CaseStatus,
    Category,
    Commerciality,
    ContentType,
    ExternalRef,
    Gender,
    Hash,
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
)
from hotline_gateway.core.timefmt import parse_timestamp

E = TypeVar("E", bound=StrEnum)
FMT = "iccam"


class _Reader:
    """Conversions that can fail, each failing with the JSON path of the value it was given."""

    def __init__(self, lists: ValueLists, where: str) -> None:
        self.lists, self.where = lists, where

    def error(self, message: str, path: tuple[str | int, ...]) -> DecodeError:
        return DecodeError(message, path=self.where + json_path(path)[1:], fmt=FMT)

    def code(self, name: str, code: int, path: tuple[str | int, ...]) -> str:
        value = self.lists.value(name, code)
        if value is None:
            raise self.error(f"unknown {name} number {code} in value-list mapping v{self.lists.version}", path)
        return value

    def enum(self, kind: type[E], name: str, code: int | None, path: tuple[str | int, ...]) -> E | None:
        return None if code is None else kind(self.code(name, code, path))

    def time(self, text: str, path: tuple[str | int, ...]) -> datetime:
        try:
            return parse_timestamp(text)
        except (ValueError, OverflowError) as exc:
            raise self.error(f"not a representable timestamp ({exc})", path) from None

    def ip(self, text: str | None, path: tuple[str | int, ...]) -> str | None:
        try:
            return None if text is None else str(ipaddress.ip_address(text))
        except ValueError:
            raise self.error("not an IPv4 or IPv6 address", path) from None


def read_report(doc: dict[str, Any], lists: ValueLists, where: str) -> Case:
    """The case a schema-valid report describes. The reporter never travels between hotlines (``withheld``);
    TLP is not part of the format (the network is closed: ``amber``)."""
    r = _Reader(lists, where)
    originator, reference = doc["hotlineCode"], doc["hotlineReference"]
    case_id = stable_uuid(reference, originator, ID_NAMESPACE)
    return Case(
        case_id=case_id,
        received_at=r.time(doc["hotlineReceivedDate"], ("hotlineReceivedDate",)),
        incident_at=r.time(doc["incidentDate"], ("incidentDate",)) if "incidentDate" in doc else None,
        source_channel=SourceChannel.ICCAM,
        reporter=Reporter(ReporterKind.WITHHELD),
        originator=originator,
        category=Category(doc["contentCategory"]),
        tlp=Tlp.AMBER,
        priority=Priority.NORMAL,
        status=CaseStatus.NEW,
        explanation=doc.get("memo"),
        items=[_item(r, url, f"{originator}/{reference}", i) for i, url in enumerate(doc["urls"])],
        # another hotline's own reference is kept, so the case can be found by it
        external_refs=[] if str(case_id) == reference.lower() else [ExternalRef(originator, reference)],
    )


def _item(r: _Reader, u: dict[str, Any], scope: str, i: int) -> Item:
    at: tuple[str | int, ...] = ("urls", i)
    a = u["assessment"]
    item = Item(
        item_id=stable_uuid(u["hotlineReference"], scope, ID_NAMESPACE),
        url=u["urlString"],
        legal_class=LegalClass(r.code("classification", a["classification"], (*at, "assessment", "classification"))),
        is_source_url=u.get("isSourceUrl"),
        referrer=u.get("referrer"),
        file_name=u.get("fileName"),
        media_type=r.enum(ContentType, "mediaType", u.get("mediaType"), (*at, "mediaType")),
        site_type=r.enum(SiteType, "siteType", u.get("siteType"), (*at, "siteType")),
        commerciality=r.enum(Commerciality, "commerciality", u.get("commerciality"), (*at, "commerciality")),
        payment_methods=list(u.get("paymentMethods", [])),
        assigned_country=u["assignedCountryCode"].upper() if "assignedCountryCode" in u else None,
        industry_class=IndustryClass(a["industryClassification"]) if "industryClassification" in a else None,
        age_group=r.enum(AgeGroup, "ageCategorization", a.get("ageCategorization"),
                         (*at, "assessment", "ageCategorization")),
        gender=r.enum(Gender, "genderCategorization", a.get("genderCategorization"),
                      (*at, "assessment", "genderCategorization")),
        flags=[flag for flag, key in FLAGS.items() if a.get(key) is True],
        hashes=[_hash(h) for h in u.get("hashes", [])],
        hosting=_hosting(r, u, at),
        actions=[_action(r, x, (*at, "actions", j)) for j, x in enumerate(u.get("actions", []))],
    )
    if "contentType" in u:  # ICCAM's coarse media/website: checked against the table, finer mediaType wins
        r.code("contentType", u["contentType"], (*at, "contentType"))
    return item


def _hash(h: dict[str, str]) -> Hash:
    algo = HASH_ALGOS[h["hashType"]]
    return Hash(algo, h["hashValue"].lower() if algo in HEX_ALGOS else h["hashValue"])


def _hosting(r: _Reader, u: dict[str, Any], at: tuple[str | int, ...]) -> Hosting | None:
    org = u.get("hostingOrganization", {})
    country = u.get("hostingCountryCode")
    hosting = Hosting(ip=r.ip(u.get("hostingIpAddress"), (*at, "hostingIpAddress")),
                      asn=org.get("autonomousSystemNumber"), organisation=org.get("organizationName"),
                      isp=u.get("hostingIsp"), country=country.upper() if country else None,
                      is_cdn=org.get("isContentDeliveryNetwork"))
    known = (hosting.ip, hosting.asn, hosting.organisation, hosting.isp, hosting.country, hosting.is_cdn)
    return hosting if any(v is not None for v in known) else None


def _action(r: _Reader, x: dict[str, Any], at: tuple[str | int, ...]) -> Action:
    """An action; a "not illegal" one whose reason says it stands for a retraction is read as one."""
    kind = ActionType(r.code("actionType", x["actionType"], (*at, "actionType")))
    reason = x.get("reasonText")
    if kind is ActionType.NOT_ILLEGAL and isinstance(reason, str) and reason.startswith(RETRACTED_PREFIX):
        kind, reason = ActionType.RETRACTED, reason[len(RETRACTED_PREFIX):] or None
    return Action(type=kind, at=r.time(x["actionDate"], (*at, "actionDate")), by=x.get("actioningAnalystName"),
                  reason=reason)
