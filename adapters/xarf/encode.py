"""Case → X-ARF v4 reports: one ``content/csam`` or ``content/csem`` report per item.

A report goes to a hosting provider, so it names the hotline as reporter and sender and carries
nothing about whoever reported the content to the hotline. Canonical values X-ARF has no field
for travel as namespaced tags (``case:<uuid>``, ``legal_class:...``), which X-ARF allows and which
let our own reports decode back to the same case.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from hotline_gateway.adapters.values import address
from hotline_gateway.adapters.xarf.vocab import AGE, DOMAIN, HASH_FIELDS, MAX_TAGS, MEDIA, VERSION, Contact
from hotline_gateway.core.errors import EncodeError
from hotline_gateway.core.model import ActionType, Case, HashAlgo, Hosting, Item
from hotline_gateway.core.timefmt import format_timestamp

_REMOVED = (ActionType.CONTENT_REMOVED, ActionType.CONTENT_UNAVAILABLE)


def report(case: Case, item: Item, xarf_type: str, contact: Contact) -> dict[str, Any]:
    """The X-ARF report for one item of a case (``xarf_type`` is ``csam`` or ``csem``)."""
    url = address(item, "X-ARF")
    host = (urlsplit(url).hostname or "").lower()
    hosting = item.hosting or Hosting()
    tags = [f"case:{case.case_id}", f"legal_class:{item.legal_class.value}", f"tlp:{case.tlp.value}"]
    doc: dict[str, Any] = {
        "xarf_version": VERSION,
        "report_id": str(item.item_id),
        "timestamp": format_timestamp(case.received_at),
        "reporter": contact.as_json(),
        "sender": contact.as_json(),
        # where the content is served from: the traced address when there is one, else its host
        "source_identifier": hosting.ip or host or url,
        "category": "content",
        "type": xarf_type,
        "url": url,
        "detection_method": "manual_review",  # an analyst assessed the item
        "verification_method": "manual",
        "description": f"{xarf_type.upper()} assessed by internet hotline {case.originator}; please remove it.",
    }
    if hosting.ip:
        tags.append("source:hosting")  # tells our decoder the source identifier is the hosting address
    if DOMAIN.match(host):
        doc["domain"] = host
    _classification(doc, tags, item, xarf_type)
    _hashes(doc, tags, item, "hash_values" if xarf_type == "csam" else "file_hash")
    _hosting(doc, tags, hosting)
    ncmec = next((r.id for r in case.external_refs if r.system.lower() == "ncmec"), None)
    if ncmec:
        doc["ncmec_report_id"] = ncmec
    if any(a.type in _REMOVED for a in item.actions):
        doc["content_removed"] = True
    if len(tags) > MAX_TAGS:
        raise EncodeError(f"item {item.item_id}: more hashes than X-ARF's {MAX_TAGS} tags can carry")
    doc["tags"] = tags
    return doc


def _classification(doc: dict[str, Any], tags: list[str], item: Item, xarf_type: str) -> None:
    if xarf_type == "csam":
        # required for csam; "baseline" is INTERPOL's criterion, the letters are NCMEC's industry classes
        doc["classification"] = item.industry_class.value if item.industry_class else "baseline"
    else:
        doc["exploitation_type"] = "distribution"  # required for csem: the content is online
        if item.industry_class is not None:
            doc["classification"] = item.industry_class.value
    if item.media_type is not None:
        tags.append(f"media_type:{item.media_type.value}")
        if item.media_type in MEDIA:
            doc["media_type"] = MEDIA[item.media_type]
    if item.age_group is not None:
        tags.append(f"age_group:{item.age_group.value}")
        if xarf_type == "csem":
            doc["victim_age_range"] = AGE[item.age_group]


def _hashes(doc: dict[str, Any], tags: list[str], item: Item, key: str) -> None:
    """The first hash of each algorithm X-ARF names goes in its field; PDQ and further hex hashes in tags."""
    fields: dict[str, str] = {}
    for h in item.hashes:
        if h.algo in HASH_FIELDS and h.algo.value not in fields:
            fields[h.algo.value] = h.value
        elif h.algo is HashAlgo.PHOTODNA:
            raise EncodeError(f"item {item.item_id}: X-ARF carries one PhotoDNA hash per report")
        else:
            tags.append(f"{h.algo.value}:{h.value}")
    if fields:
        doc[key] = fields


def _hosting(doc: dict[str, Any], tags: list[str], hosting: Hosting) -> None:
    if hosting.asn:
        doc["asn"] = hosting.asn
    elif hosting.asn == 0:
        tags.append("asn:0")  # AS0 (RFC 7607) is below X-ARF's minimum of 1
    if hosting.country:
        doc["country_code"] = hosting.country
    if hosting.organisation:
        doc["hosting_provider"] = hosting.organisation
