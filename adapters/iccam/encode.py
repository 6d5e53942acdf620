"""Canonical case to ICCAM-style report: value lists become the numbers of the current mapping table."""

from __future__ import annotations

from typing import Any

from hotline_gateway.adapters.iccam.fields import CONTENT_KIND, FLAGS, HASH_TYPES, RETRACTED_PREFIX
from hotline_gateway.adapters.iccam.mapping import ValueLists
from hotline_gateway.adapters.values import address
from hotline_gateway.core.model import Action, ActionType, Case, Hosting, Item
from hotline_gateway.core.timefmt import format_timestamp


def _put(target: dict[str, Any], **values: Any) -> dict[str, Any]:
    """Set only the values that are present: the report omits what the case does not know."""
    target.update({k: v for k, v in values.items() if v is not None and v != []})
    return target


def write_report(case: Case, lists: ValueLists) -> dict[str, Any]:
    """The report for ``case``. The reporter, TLP and the other fields ICCAM has no place for stay out."""
    report: dict[str, Any] = {
        "mappingVersion": lists.version,
        "hotlineReference": str(case.case_id),
        "hotlineCode": case.originator,
        "hotlineReceivedDate": format_timestamp(case.received_at),
        "contentCategory": case.category.value,
        "urls": [_url(item, lists) for item in case.items],
    }
    return _put(report, incidentDate=case.incident_at and format_timestamp(case.incident_at),
                memo=case.explanation)


def _url(item: Item, lists: ValueLists) -> dict[str, Any]:
    def code(name: str, value: str | None) -> int | None:
        return None if value is None else lists.code(name, value)

    media = item.media_type
    url = _put({"urlString": address(item, "iccam"), "hotlineReference": str(item.item_id)},
               isSourceUrl=item.is_source_url, referrer=item.referrer, fileName=item.file_name,
               contentType=code("contentType", media and CONTENT_KIND[media]), mediaType=code("mediaType", media),
               siteType=code("siteType", item.site_type), commerciality=code("commerciality", item.commerciality),
               paymentMethods=item.payment_methods, assignedCountryCode=item.assigned_country)
    if item.hosting is not None:
        _hosting(url, item.hosting)
    url["hashes"] = [{"hashType": HASH_TYPES[h.algo], "hashValue": h.value} for h in item.hashes]
    url["assessment"] = _put({"classification": code("classification", item.legal_class)},
                             ageCategorization=code("ageCategorization", item.age_group),
                             genderCategorization=code("genderCategorization", item.gender),
                             industryClassification=item.industry_class and item.industry_class.value,
                             **{key: True for flag, key in FLAGS.items() if flag in item.flags})
    url["actions"] = [_action(a, lists) for a in item.actions]
    return _put({}, **url)


def _hosting(url: dict[str, Any], h: Hosting) -> None:
    _put(url, hostingCountryCode=h.country, hostingIpAddress=h.ip, hostingIsp=h.isp)
    org = _put({}, organizationName=h.organisation, autonomousSystemNumber=h.asn, isContentDeliveryNetwork=h.is_cdn)
    _put(url, hostingOrganization=org or None)


def _action(action: Action, lists: ValueLists) -> dict[str, Any]:
    # ICCAM has no retraction: an item its originator took back carries a "not illegal" action (no one acts
    # on it any more) whose reason starts "retracted: ", which our decoder reads back as a retraction.
    if action.type is ActionType.RETRACTED:
        return _put({"actionType": lists.code("actionType", ActionType.NOT_ILLEGAL),
                     "actionDate": format_timestamp(action.at)}, actioningAnalystName=action.by,
                    reasonText=f"{RETRACTED_PREFIX}{action.reason or ''}"[:1000])
    return _put({"actionType": lists.code("actionType", action.type), "actionDate": format_timestamp(action.at)},
                actioningAnalystName=action.by, reasonText=action.reason)
