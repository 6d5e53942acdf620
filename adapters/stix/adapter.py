"""``stix``: a STIX 2.1 bundle per case, for the threat-intelligence platforms partners run.

The bundle holds a ``report`` (the case), an ``identity`` (the hotline that created it), the TLP 2.0
``marking-definition``, and per item an ``observed-data`` grouping the item's ``url`` observable and,
when it has hashes, a ``file`` observable. Ids are deterministic (UUIDv5 of case and item ids, and
STIX's own rule for observables), so the same case always yields the same objects and a platform
updates rather than duplicates. Category and legal class travel as ``labels``. Reporter data is never
written: STIX goes to sharing platforms, not to the police.

Inbound, bundles with url, file (linked to a URL through observed-data) or indicator objects whose
pattern compares ``url:value`` decode to cases; patterns are read with stix2-patterns.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from stix2patterns.pattern import ParseException, Pattern

from hotline_gateway.adapters.stix.markings import BY_ID, marking
from hotline_gateway.adapters.values import stable_uuid
from hotline_gateway.core.errors import DecodeError
from hotline_gateway.core.model import (
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
)
from hotline_gateway.core.timefmt import parse_timestamp

#: STIX 2.1 section 2.9: the namespace for deterministic SCO ids
SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
OUR_NAMESPACE = uuid.UUID("7d3e9a51-6c2b-4f1e-8a0d-5b4c3e2f1a09")
HASH_KEYS = {HashAlgo.MD5: "MD5", HashAlgo.SHA1: "SHA-1", HashAlgo.SHA256: "SHA-256", HashAlgo.PDQ: "pdq",
             HashAlgo.PHOTODNA: "photodna"}
KEY_HASHES = {v.lower(): k for k, v in HASH_KEYS.items()} | {"sha1": HashAlgo.SHA1, "sha256": HashAlgo.SHA256}
CARRIES = frozenset({
    "case_id", "originator", "received_at", "category", "tlp", "explanation",
    "items[].item_id", "items[].url", "items[].legal_class", "items[].file_name",
    "items[].hashes[].algo", "items[].hashes[].value",
})


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _sco_id(kind: str, contributing: dict[str, Any]) -> str:
    return f"{kind}--{uuid.uuid5(SCO_NAMESPACE, orjson.dumps(contributing, option=orjson.OPT_SORT_KEYS).decode())}"


class StixAdapter:
    name = "stix"
    media_type = "application/stix+json;version=2.1"
    schema_path: Path | None = None  # the official STIX 2.1 schemas are the judge
    carries = CARRIES

    def encode(self, case: Case) -> bytes:
        stamp = _ts(case.received_at)
        identity = {"type": "identity", "spec_version": "2.1",
                    "id": f"identity--{uuid.uuid5(OUR_NAMESPACE, 'identity/' + case.originator)}",
                    "created": stamp, "modified": stamp, "name": case.originator, "identity_class": "organization",
                    "roles": ["internet hotline"]}
        mark = marking(case.tlp)
        common = {"spec_version": "2.1", "created": stamp, "modified": stamp, "created_by_ref": identity["id"],
                  "object_marking_refs": [mark["id"]]}
        objects: list[dict[str, Any]] = [identity, mark]
        refs: list[str] = []
        for item in case.items:
            url = {"type": "url", "spec_version": "2.1", "id": _sco_id("url", {"value": item.url}),
                   "value": item.url, "object_marking_refs": [mark["id"]]}
            observed = [url["id"]]
            objects.append(url)
            if item.hashes or item.file_name:
                file: dict[str, Any] = {"type": "file", "spec_version": "2.1", "object_marking_refs": [mark["id"]]}
                if item.hashes:
                    file["hashes"] = {}
                    for h in item.hashes:
                        key = HASH_KEYS[h.algo]
                        while key in file["hashes"]:
                            key = f"{key}_"  # a second hash of one algorithm: a distinct custom key
                        file["hashes"][key] = h.value
                if item.file_name:
                    file["name"] = item.file_name
                file["id"] = _sco_id("file", {k: file[k] for k in ("hashes", "name") if k in file})
                objects.append(file)
                observed.append(file["id"])
            group: dict[str, Any] = {"type": "observed-data", "id": f"observed-data--{item.item_id}", **common,
                     "first_observed": stamp, "last_observed": stamp, "number_observed": 1,
                     "object_refs": observed, "labels": [f"legal-class:{item.legal_class.value}"]}
            objects.append(group)
            refs.append(group["id"])
        report: dict[str, Any] = {
            "type": "report", "id": f"report--{case.case_id}", **common,
            "name": f"{case.originator} case {case.case_id}", "published": stamp,
            "report_types": ["observed-data"], "object_refs": refs,
            "labels": [f"category:{case.category.value}", "hotline-gateway"],
        }
        if case.explanation:
            report["description"] = case.explanation
        objects.append(report)
        bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid5(OUR_NAMESPACE, 'bundle/' + str(case.case_id))}",
                  "objects": objects}
        return orjson.dumps(bundle)

    # --- decode -----------------------------------------------------------------------------------

    def decode(self, data: bytes) -> list[Case]:
        try:
            bundle = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise DecodeError(f"not JSON ({exc})", fmt=self.name) from None
        if not isinstance(bundle, dict) or bundle.get("type") != "bundle" or not isinstance(bundle.get("objects"),
                                                                                               list):
            raise DecodeError("not a STIX bundle (type bundle with an objects array)", fmt=self.name)
        objects: dict[str, dict[str, Any]] = {}
        for n, obj in enumerate(bundle["objects"]):
            if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not isinstance(obj.get("type"), str):
                raise DecodeError("every object needs a type and an id", path=f"$.objects[{n}]", fmt=self.name)
            objects[obj["id"]] = obj
        reports = [o for o in objects.values() if o["type"] == "report"]
        cases = [self._report(r, objects) for r in reports] if reports else [self._loose(bundle, objects)]
        cases = [c for c in cases if c.items]
        if not cases:
            raise DecodeError("no content items: the bundle has no url observable or url indicator", fmt=self.name)
        return cases

    def _creator(self, obj: dict[str, Any], objects: dict[str, dict[str, Any]]) -> str:
        creator = objects.get(str(obj.get("created_by_ref", "")), {})
        name = str(creator.get("name") or "unknown")
        return "".join(ch if ch.isalnum() or ch in "_.:-" else "-" for ch in name)[:64] or "unknown"

    def _tlp(self, obj: dict[str, Any]) -> Tlp:
        found = [BY_ID[ref] for ref in obj.get("object_marking_refs", []) if ref in BY_ID]
        return max(found, key=lambda t: t.rank) if found else Tlp.AMBER

    def _time(self, value: Any, where: str) -> datetime:
        try:
            return parse_timestamp(str(value))
        except ValueError:
            raise DecodeError(f"{value!r} is not a STIX timestamp", path=where, fmt=self.name) from None

    def _labels(self, obj: dict[str, Any]) -> dict[str, str]:
        return {k: v for k, _, v in (str(label).partition(":") for label in obj.get("labels", [])) if v}

    def _report(self, report: dict[str, Any], objects: dict[str, dict[str, Any]]) -> Case:
        where = f"report {report['id']}"
        labels = self._labels(report)
        originator = self._creator(report, objects)
        items: list[Item] = []
        for ref in report.get("object_refs", []):
            obj = objects.get(ref)
            if obj is not None:
                items += self._items(obj, objects, originator)
        category = labels.get("category", "other")
        return Case(
            case_id=_id(report["id"].removeprefix("report--"), originator),
            received_at=self._time(report.get("published", report.get("created")), f"{where}.published"),
            source_channel=SourceChannel.PARTNER_HOTLINE if "hotline-gateway" in report.get("labels", [])
            else SourceChannel.OTHER,
            reporter=Reporter(ReporterKind.ANONYMOUS), originator=originator,
            category=Category(category) if category in {c.value for c in Category} else Category.OTHER,
            tlp=self._tlp(report), priority=Priority.NORMAL, status=CaseStatus.NEW, items=items,
            explanation=report.get("description") if isinstance(report.get("description"), str) else None,
        )

    def _loose(self, bundle: dict[str, Any], objects: dict[str, dict[str, Any]]) -> Case:
        """A bundle without a report: every observed-data, url and url indicator is an item."""
        items: list[Item] = []
        grouped: set[str] = set()
        originator = "unknown"
        for obj in objects.values():
            if obj["type"] == "observed-data":
                grouped.update(obj.get("object_refs", []))
                items += self._items(obj, objects, originator)
        for obj in objects.values():
            if obj["type"] == "indicator" or (obj["type"] == "url" and obj["id"] not in grouped):
                items += self._items(obj, objects, originator)
        first = next((o for o in objects.values() if "created" in o), {})
        received = self._time(first["created"], "created") if first else datetime.now(UTC)
        return Case(case_id=_id(str(bundle.get("id", "")).removeprefix("bundle--"), originator),
                    received_at=received, source_channel=SourceChannel.OTHER,
                    reporter=Reporter(ReporterKind.ANONYMOUS), originator=originator, category=Category.OTHER,
                    tlp=max((self._tlp(o) for o in objects.values() if o.get("object_marking_refs")),
                            key=lambda t: t.rank, default=Tlp.AMBER),
                    priority=Priority.NORMAL, status=CaseStatus.NEW, items=items)

    def _items(self, obj: dict[str, Any], objects: dict[str, dict[str, Any]], originator: str) -> list[Item]:
        legal = self._labels(obj).get("legal-class", LegalClass.DOUBTFUL.value)
        legal_class = LegalClass(legal) if legal in {c.value for c in LegalClass} else LegalClass.DOUBTFUL
        if obj["type"] == "url":
            return [Item(item_id=_id(obj["id"], originator), url=str(obj.get("value")), legal_class=legal_class)]
        if obj["type"] == "indicator":
            return [Item(item_id=_id(f"{obj['id']}/{n}", originator), url=url, legal_class=legal_class)
                    for n, url in enumerate(self._pattern_urls(obj))]
        if obj["type"] != "observed-data":
            return []
        members = [objects[r] for r in obj.get("object_refs", []) if r in objects]
        urls = [m for m in members if m["type"] == "url" and isinstance(m.get("value"), str)]
        files = [m for m in members if m["type"] == "file"]
        hashes = [h for f in files for h in self._hashes(f)]
        name = next((f["name"] for f in files if isinstance(f.get("name"), str)), None)
        item_key = obj["id"].removeprefix("observed-data--")
        return [Item(item_id=_id(item_key if len(urls) == 1 else f"{item_key}/{n}", originator), url=u["value"],
                     legal_class=legal_class, hashes=hashes, file_name=name) for n, u in enumerate(urls)]

    def _hashes(self, file: dict[str, Any]) -> list[Hash]:
        out = []
        raw = file.get("hashes", {})
        for key, value in (raw.items() if isinstance(raw, dict) else []):
            algo = KEY_HASHES.get(str(key).rstrip("_").lower())
            if algo is not None and isinstance(value, str):
                out.append(Hash(algo, value if algo is HashAlgo.PHOTODNA else value.lower()))
        return out

    def _pattern_urls(self, indicator: dict[str, Any]) -> list[str]:
        pattern = indicator.get("pattern")
        if indicator.get("pattern_type", "stix") != "stix" or not isinstance(pattern, str):
            return []
        try:
            comparisons = Pattern(pattern).inspect().comparisons
        except (ParseException, ValueError, TypeError):
            raise DecodeError("indicator pattern is not valid STIX patterning", path=indicator["id"],
                              fmt=self.name) from None
        return [str(value).strip("'") for path, op, value in comparisons.get("url", [])
                if path == ["value"] and op == "="]


def _id(text: str, originator: str) -> uuid.UUID:
    return stable_uuid(text, originator, OUR_NAMESPACE)
