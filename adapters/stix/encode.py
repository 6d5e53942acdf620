"""Case → STIX 2.1 bundle: identity, TLP marking, per item a ``url`` (and ``file``) observable grouped by an
``observed-data``, and a ``report`` that is the case.

Values STIX has no property for travel as ``labels`` (``legal-class:baseline``), which is what sharing
platforms index and filter on. Case and item ids also travel as ``external_references`` (source
``hotline-gateway``), so they come back even when a STIX id had to be derived from one that is not an
RFC 4122 UUID. Each object appears once in a bundle, however many items share it.
``modified`` is the latest thing that happened to the case (an action, a custody entry), so a case
sent again after an update is a new version of the same objects.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hotline_gateway.adapters.stix import extension, ids
from hotline_gateway.adapters.stix.markings import marking
from hotline_gateway.core.errors import EncodeError
from hotline_gateway.core.model import ActionType, Case, CaseStatus, HashAlgo, Item

#: hash names from STIX's hash-algorithm vocabulary; PDQ and PhotoDNA go in our extension instead
HASH_KEYS = {HashAlgo.MD5: "MD5", HashAlgo.SHA1: "SHA-1", HashAlgo.SHA256: "SHA-256"}
#: a hotline's identity is one unchanging object: its version must not vary from one bundle to the next
IDENTITY_CREATED = "2024-01-01T00:00:00.000Z"
#: the label that says a bundle was written by hotline-gateway (so labels are read back as ours)
OUR_LABEL = "hotline-gateway"


def timestamp(value: datetime) -> str:
    """STIX timestamps: UTC, ``Z``, at least millisecond precision (we keep all six digits)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _last_change(case: Case) -> datetime:
    times = [case.received_at, *(c.at for c in case.custody), *(a.at for i in case.items for a in i.actions)]
    return max(t.astimezone(UTC) for t in times)


def item_labels(item: Item) -> list[str]:
    labels = [f"legal-class:{item.legal_class.value}"]
    for key, value in (("industry-class", item.industry_class), ("media-type", item.media_type),
                       ("age-group", item.age_group), ("site-type", item.site_type)):
        if value is not None:
            labels.append(f"{key}:{value.value}")
    return labels


def perceptual(item: Item) -> dict[HashAlgo, list[str]]:
    out: dict[HashAlgo, list[str]] = {}
    for h in item.hashes:
        if h.algo in extension.PROPERTIES:
            out.setdefault(h.algo, []).append(h.value)
    return out


def files(item: Item, marks: list[str]) -> list[dict[str, Any]]:
    """The item's file observables: one per generation of hashes (one ``hashes`` dictionary holds one value
    per algorithm, so a second MD5 is a second file); the name and the perceptual hashes go on the first.
    STIX wants a file to have hashes or a name: with only perceptual hashes there is no file (they go on
    the url observable, as the hashes of the content found there)."""
    sets: list[dict[str, str]] = []
    for h in item.hashes:
        if h.algo in extension.PROPERTIES:
            continue
        key = HASH_KEYS[h.algo]
        target = next((s for s in sets if key not in s), None)
        if target is None:
            target = {}
            sets.append(target)
        target[key] = h.value
    if not sets and item.file_name:
        sets.append({})
    out = []
    for n, hashes in enumerate(sets):
        file: dict[str, Any] = {"type": "file", "spec_version": "2.1"}
        if hashes:
            file["hashes"] = hashes
        if n == 0 and item.file_name:
            file["name"] = item.file_name
        if n == 0 and perceptual(item):
            file["extensions"] = extension.extension(perceptual(item))
        file["id"] = ids.sco("file", file)
        file["object_marking_refs"] = marks
        out.append(file)
    return out


def _conflicts(held: dict[str, Any] | None, member: dict[str, Any]) -> bool:
    """Whether a file of the same STIX id gives another value for one of the hashes: then it is another file."""
    if held is None or held is member:
        return False
    theirs = held.get("hashes", {})
    return any(key in theirs and theirs[key] != value for key, value in member["hashes"].items())


def _merge_extension(held: dict[str, Any], more: dict[str, Any]) -> None:
    """Two items name one URL and carry perceptual hashes of its content: the one url observable holds both."""
    ours = held.setdefault("extensions", {}).setdefault(extension.EXTENSION_ID,
                                                        {"extension_type": "property-extension"})
    for prop, values in more["extensions"][extension.EXTENSION_ID].items():
        if prop != "extension_type":
            ours[prop] = list(dict.fromkeys([*ours.get(prop, []), *values]))


def bundle(case: Case) -> dict[str, Any]:
    created, modified = timestamp(case.received_at), timestamp(_last_change(case))
    identity: dict[str, Any] = {"type": "identity", "spec_version": "2.1", "id": ids.named("identity", case.originator),
                "created": IDENTITY_CREATED, "modified": IDENTITY_CREATED, "name": case.originator,
                "identity_class": "organization", "roles": ["internet hotline"]}
    mark = marking(case.tlp)
    marks = [mark["id"]]
    common: dict[str, Any] = {"spec_version": "2.1", "created": created, "modified": modified,
                              "created_by_ref": identity["id"], "object_marking_refs": marks}
    objects: dict[str, dict[str, Any]] = {identity["id"]: identity, mark["id"]: mark}
    groups: list[str] = []
    for item in case.items:
        if item.url is None:  # known only by its digests: the file observables alone
            members = files(item, marks)
            if not members:
                raise EncodeError(f"item {item.item_id} has no URL and only perceptual hashes: a STIX file needs "
                                  "a hash STIX names (MD5, SHA-1, SHA-256) or a name")
            url: dict[str, Any] | None = None
        else:
            url = {"type": "url", "spec_version": "2.1", "id": ids.sco("url", {"value": item.url}),
                   "value": item.url, "object_marking_refs": marks}
            members = [url, *files(item, marks)]
        if url is not None and len(members) == 1 and perceptual(item):
            # the url observable is shared by every item naming the URL: a copy for this item's hashes would
            # need its own id, so the hashes ride on the one url object (same id: value only contributes)
            url["extensions"] = extension.extension(perceptual(item))
        for member in members:
            if "hashes" in member and _conflicts(objects.get(member["id"]), member):
                member["id"] = ids.sco_distinct("file", member)
            held = objects.setdefault(member["id"], member)  # a URL or file several items name is one observable
            if held is not member and "extensions" in member:
                _merge_extension(held, member)
            if held is not member and "hashes" in member:
                # STIX derives a file's id from its preferred hash only, so two items naming the same MD5
                # are one file object: it carries every digest either item gave
                held["hashes"] = {**member["hashes"], **held["hashes"]}
        group: dict[str, Any] = {"type": "observed-data", "id": ids.sdo("observed-data", item.item_id), **common,
                 "first_observed": created, "last_observed": created, "number_observed": 1,
                 "object_refs": list(dict.fromkeys(m["id"] for m in members)), "labels": item_labels(item),
                 "external_references": [{"source_name": OUR_LABEL, "external_id": str(item.item_id)}]}
        if any(a.type is ActionType.RETRACTED for a in item.actions):
            group["revoked"] = True  # its originator took it back (STIX 2.1 §3.2: no further versions)
        objects[group["id"]] = group
        groups.append(group["id"])
    report: dict[str, Any] = {
        "type": "report", "id": ids.sdo("report", case.case_id), **common,
        "name": f"{case.originator} case {case.case_id}", "published": created,
        "report_types": ["observed-data"], "object_refs": groups,
        "labels": [f"category:{case.category.value}", OUR_LABEL],
        "external_references": [{"source_name": OUR_LABEL, "external_id": str(case.case_id)}],
    }
    if case.explanation:
        report["description"] = case.explanation
    if case.status is CaseStatus.RETRACTED:
        report["revoked"] = True
    objects[report["id"]] = report
    return {"type": "bundle", "id": ids.named("bundle", str(case.case_id)), "objects": list(objects.values())}
