"""STIX 2.1 bundle → cases, reading anyone's bundle as hostile input: every value's type is checked where it
is read, and anything malformed is a DecodeError naming its place (``$.objects[3].object_refs``).

A bundle with reports gives one case per report, its items from the observed-data, url observables and
url indicators the report refers to; a bundle without one gives one case from all of them. Indicator
patterns are read with the OASIS grammar (``patterns``). Hashes come from a file's ``hashes`` (STIX's
names, and the custom ``pdq``/``photodna`` keys older bundles of ours used) and from our perceptual-hash
extension. An ``artifact`` carrying bytes is refused: the gateway never takes the material itself.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from hotline_gateway.adapters.stix import extension, patterns
from hotline_gateway.adapters.stix.encode import OUR_LABEL
from hotline_gateway.adapters.stix.ids import OUR_NAMESPACE
from hotline_gateway.adapters.stix.markings import strictest
from hotline_gateway.adapters.values import enum_or, stable_uuid
from hotline_gateway.core.errors import DecodeError, MediaRefused, ValidationError
from hotline_gateway.core.model import (
    AgeGroup,
    Case,
    CaseStatus,
    Category,
    ContentType,
    Hash,
    HashAlgo,
    IndustryClass,
    Item,
    LegalClass,
    Priority,
    Reporter,
    ReporterKind,
    SiteType,
    SourceChannel,
    Tlp,
    parse_timestamp,
)
from hotline_gateway.core.schema import validate_case

FMT = "stix"
MAX_DOCUMENT = 16 * 1024 * 1024
#: hash names as STIX spells them (and as others misspell them), and the custom keys our older bundles used
HASH_NAMES = {"md5": HashAlgo.MD5, "sha-1": HashAlgo.SHA1, "sha1": HashAlgo.SHA1, "sha-256": HashAlgo.SHA256,
              "sha256": HashAlgo.SHA256, "pdq": HashAlgo.PDQ, "x_pdq": HashAlgo.PDQ,
              "photodna": HashAlgo.PHOTODNA, "x_photodna": HashAlgo.PHOTODNA}
_SHAPES = {HashAlgo.MD5: re.compile(r"[0-9a-f]{32}"), HashAlgo.SHA1: re.compile(r"[0-9a-f]{40}"),
           HashAlgo.SHA256: re.compile(r"[0-9a-f]{64}"), HashAlgo.PDQ: re.compile(r"[0-9a-f]{64}"),
           HashAlgo.PHOTODNA: re.compile(r"[A-Za-z0-9+/]{192}")}
_NOT_PARTY = re.compile(r"[^A-Za-z0-9_.:-]+")


def fail(message: str, path: str) -> DecodeError:
    return DecodeError(message, path=path, fmt=FMT)


@dataclass(slots=True)
class _Obj:
    """One STIX object and where it stands in the document, with typed reads that name the path."""

    data: dict[str, Any]
    path: str

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def type(self) -> str:
        return str(self.data["type"])

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is not None and not isinstance(value, str):
            raise fail(f"{key} must be a string", f"{self.path}.{key}")
        return value

    def texts(self, key: str) -> list[str]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(f"{key} must be a list of strings", f"{self.path}.{key}")
        return value

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise fail(f"{key} must be an object", f"{self.path}.{key}")
        return value

    def time(self, key: str) -> datetime | None:
        text = self.text(key)
        if text is None:
            return None
        try:
            return parse_timestamp(text)
        except (ValueError, OverflowError):
            raise fail(f"{text[:40]!r} is not a STIX timestamp", f"{self.path}.{key}") from None

    def our_id(self) -> uuid.UUID | None:
        """The case or item id our own bundles carry as an external reference (None: none, or not a UUID)."""
        refs = self.data.get("external_references")
        for ref in refs if isinstance(refs, list) else []:
            ident = ref.get("external_id") if isinstance(ref, dict) and ref.get("source_name") == OUR_LABEL else None
            if isinstance(ident, str):
                try:
                    return uuid.UUID(ident)
                except ValueError:
                    return None
        return None

    def labels(self) -> dict[str, str]:
        return {k: v for k, _, v in (label.partition(":") for label in self.texts("labels")) if v}


class _Bundle:
    def __init__(self, data: bytes) -> None:
        if len(data) > MAX_DOCUMENT:
            raise fail(f"document larger than {MAX_DOCUMENT} bytes", "$")
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise fail(f"not JSON ({exc})", "$") from None
        if not isinstance(doc, dict) or doc.get("type") != "bundle":
            raise fail("not a STIX bundle (an object of type bundle)", "$")
        raw = doc.get("objects")
        if not isinstance(raw, list):
            raise fail("a bundle's objects must be a list", "$.objects")
        self.id = doc.get("id") if isinstance(doc.get("id"), str) else ""
        self.objects: dict[str, _Obj] = {}
        for n, obj in enumerate(raw):
            where = f"$.objects[{n}]"
            if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not isinstance(obj.get("type"), str):
                raise fail("every object needs a string type and id", where)
            self.objects.setdefault(obj["id"], _Obj(obj, where))  # the first of a repeated id counts
        for obj in self.objects.values():
            if obj.type == "artifact" and ("payload_bin" in obj.data or "url" in obj.data):
                raise MediaRefused(f"{obj.path}: an artifact carrying content; the gateway only takes URLs, hashes "
                                   "and metadata")
        self.raw_dicts = {k: v.data for k, v in self.objects.items()}

    def get(self, ref: str) -> _Obj | None:
        return self.objects.get(ref)

    def tlp(self, obj: _Obj) -> Tlp | None:
        return strictest(obj.data.get("object_marking_refs"), self.raw_dicts)

    def originator(self, obj: _Obj) -> str:
        ref = obj.text("created_by_ref")
        creator = self.get(ref) if ref else None
        name = creator.text("name") if creator is not None and creator.type == "identity" else None
        return _NOT_PARTY.sub("-", name or "").lstrip("_.:-")[:64] or "unknown"


class _Reader:
    """Items from the objects a case refers to, with the case's originator for their ids."""

    def __init__(self, bundle: _Bundle, originator: str) -> None:
        self.bundle = bundle
        self.originator = originator

    def item_id(self, key: str) -> uuid.UUID:
        return stable_uuid(key, self.originator, OUR_NAMESPACE)

    def items(self, obj: _Obj) -> list[Item]:
        if obj.type == "url":
            url = obj.text("value")
            return [self._item(obj, obj.id, url, [], None)] if url else []
        if obj.type == "indicator":
            return self._indicator(obj)
        if obj.type == "observed-data":
            return self._observed(obj)
        return []

    def _item(self, obj: _Obj, key: str, url: str | None, hashes: list[Hash], name: str | None) -> Item:
        labels = obj.labels()
        return Item(
            item_id=self.item_id(key), url=url, hashes=hashes, file_name=name,
            legal_class=enum_or(LegalClass, labels.get("legal-class"), LegalClass.DOUBTFUL),
            industry_class=enum_or(IndustryClass, labels.get("industry-class"), None),
            media_type=enum_or(ContentType, labels.get("media-type"), None),
            age_group=enum_or(AgeGroup, labels.get("age-group"), None),
            site_type=enum_or(SiteType, labels.get("site-type"), None),
        )

    def _members(self, group: _Obj) -> list[_Obj]:
        """What an observed-data groups: ``object_refs`` (STIX 2.1), or the embedded ``objects`` of STIX 2.0."""
        members = [m for ref in group.texts("object_refs") if (m := self.bundle.get(ref)) is not None]
        for key, embedded in group.mapping("objects").items():
            where = f"{group.path}.objects.{key}"
            if not isinstance(embedded, dict) or not isinstance(embedded.get("type"), str):
                raise fail("an embedded observable is an object with a type", where)
            members.append(_Obj({"id": f"{group.id}/{key}", **embedded}, where))
        return members

    def _observed(self, group: _Obj) -> list[Item]:
        members = self._members(group)
        urls = [(m, url) for m in members if m.type == "url" and (url := m.text("value"))]
        files = [m for m in members if m.type == "file"]
        hashes = [h for f in files for h in self.hashes(f)] + [h for m, _ in urls[:1] for h in self.hashes(m)]
        name = next((n for f in files if (n := f.text("name"))), None)
        key = group.id.removeprefix("observed-data--")
        items = [self._item(group, key if len(urls) == 1 else f"{key}/{n}", url, list(hashes), name)
                 for n, (_, url) in enumerate(urls)]
        if not urls and hashes:  # a file observed by its digests alone (no address known)
            items = [self._item(group, key, None, list(hashes), name)]
        if len(items) == 1 and (ours := group.our_id()) is not None:
            items[0].item_id = ours
        return items

    def _indicator(self, indicator: _Obj) -> list[Item]:
        pattern = indicator.text("pattern")
        if pattern is None or (indicator.text("pattern_type") or "stix") != "stix":
            return []
        try:
            facts = patterns.read(pattern)
        except ValueError as exc:
            raise fail(str(exc), f"{indicator.path}.pattern") from None
        hashes = [self._hash(key, value, f"{indicator.path}.pattern") for key, value in facts.hashes
                  if key.lower() in HASH_NAMES] if facts.together and len(facts.urls) == 1 else []
        return [self._item(indicator, f"{indicator.id}/{n}", url, hashes, None) for n, url in enumerate(facts.urls)]

    def hashes(self, file: _Obj) -> list[Hash]:
        out = [self._hash(key, value, f"{file.path}.hashes") for key, value in file.mapping("hashes").items()
               if key.lower().rstrip("_") in HASH_NAMES]
        ours = file.mapping("extensions").get(extension.EXTENSION_ID)
        if ours is not None:
            where = f"{file.path}.extensions.{extension.EXTENSION_ID}"
            if not isinstance(ours, dict):
                raise fail("the extension must be an object", where)
            for prop in extension.PROPERTIES.values():
                values = ours.get(prop, [])
                if not isinstance(values, list):
                    raise fail(f"{prop} must be a list of strings", f"{where}.{prop}")
                out += [self._hash(prop, v, f"{where}.{prop}") for v in values]
        return out

    def _hash(self, key: str, value: Any, where: str) -> Hash:
        algo = HASH_NAMES[key.lower().rstrip("_")]
        if not isinstance(value, str):
            raise fail(f"a {algo.value} hash is a string", where)
        value = value if algo is HashAlgo.PHOTODNA else value.lower()
        if not _SHAPES[algo].fullmatch(value):
            raise fail(f"{value[:80]!r} is not a {algo.value} hash", where)
        return Hash(algo, value)


def _case_id(text: str, originator: str) -> uuid.UUID:
    return stable_uuid(text, originator, OUR_NAMESPACE)


def _report_case(bundle: _Bundle, report: _Obj) -> Case:
    originator = bundle.originator(report)
    reader = _Reader(bundle, originator)
    items: list[Item] = []
    for ref in report.texts("object_refs"):
        obj = bundle.get(ref)
        if obj is not None:
            items += reader.items(obj)
    received = report.time("published") or report.time("created")
    if received is None:
        raise fail("a report needs published or created", f"{report.path}.published")
    ours = OUR_LABEL in report.texts("labels")
    return Case(
        case_id=report.our_id() or _case_id(report.id.removeprefix("report--"), originator), received_at=received,
        source_channel=SourceChannel.PARTNER_HOTLINE if ours else SourceChannel.OTHER,
        reporter=Reporter(ReporterKind.ANONYMOUS), originator=originator,
        category=enum_or(Category, report.labels().get("category"), Category.OTHER),
        tlp=bundle.tlp(report) or Tlp.AMBER, priority=Priority.NORMAL, status=CaseStatus.NEW, items=items,
        explanation=report.text("description") or None,
    )


def _loose_case(bundle: _Bundle) -> Case:
    """A bundle without a report: every observed-data, url and url indicator is an item."""
    reader = _Reader(bundle, "unknown")
    items: list[Item] = []
    grouped: set[str] = set()
    for obj in bundle.objects.values():
        if obj.type == "observed-data":
            grouped.update(obj.texts("object_refs"))
            items += reader.items(obj)
    for obj in bundle.objects.values():
        if obj.type == "indicator" or (obj.type == "url" and obj.id not in grouped):
            items += reader.items(obj)
    times = [t for o in bundle.objects.values() if (t := o.time("created")) is not None]
    tlps = [tlp for o in bundle.objects.values() if (tlp := bundle.tlp(o)) is not None]
    return Case(case_id=_case_id(str(bundle.id).removeprefix("bundle--"), "unknown"),
                received_at=min(times) if times else datetime.now(UTC), source_channel=SourceChannel.OTHER,
                reporter=Reporter(ReporterKind.ANONYMOUS), originator="unknown", category=Category.OTHER,
                tlp=max(tlps, key=lambda t: t.rank) if tlps else Tlp.AMBER, priority=Priority.NORMAL,
                status=CaseStatus.NEW, items=items)


def cases(data: bytes) -> list[Case]:
    bundle = _Bundle(data)
    reports = [o for o in bundle.objects.values() if o.type == "report"]
    found = [_report_case(bundle, r) for r in reports] if reports else [_loose_case(bundle)]
    found = [c for c in found if c.items]
    if not found:
        raise fail("no content items: the bundle has no url observable, observed-data with a url or a hashed file, "
                   "or indicator "
                   "whose pattern compares url:value", "$.objects")
    for case in found:
        try:
            validate_case(case)
        except ValidationError as exc:
            detail = "; ".join(str(p) for p in exc.problems)
            raise fail(f"does not make a valid case: {detail}", "$") from None
    return found
