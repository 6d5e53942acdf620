"""TAXII 2.1 (OASIS): discovery, API root, collections, objects (get, add, get one, its versions), manifest
and status -- over the STIX that routing queued for each partner.

Every partner whose transport is ``taxii`` has one collection: the cases policy routed to it, as the
STIX bundles in its outbox, indexed object by object in the store (``store/taxii.py``). It
authenticates with HTTP Basic (its partner id and ``options.taxii_password``) and sees only its own
collection. A case counts as delivered once its report has been served. Errors on these routes are
TAXII error resources (``taxii/errors.py``); filters and paging are read by ``taxii/filters.py``.
"""

from __future__ import annotations

import base64
import hmac
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from hotline_gateway.adapters import registry
from hotline_gateway.api.messages import read_body
from hotline_gateway.api.state import services
from hotline_gateway.config import Partner
from hotline_gateway.core.errors import (
    BadInput,
    Forbidden,
    GatewayError,
    NotAcceptable,
    NotFound,
    UnsupportedMediaType,
    VerificationError,
)
from hotline_gateway.core.schema import validate_case
from hotline_gateway.core.timefmt import format_timestamp
from hotline_gateway.pipeline.authorise import bind_to_sender
from hotline_gateway.pipeline.outbox import record
from hotline_gateway.store.interface import Store
from hotline_gateway.store.taxii_records import Entry, from_us
from hotline_gateway.taxii import filters
from hotline_gateway.taxii.errors import ROOT, TAXII
from hotline_gateway.transports.base import Outcome

STIX = "application/stix+json;version=2.1"
API_ROOT = ROOT + "hotline/"
MAX_PAGE = filters.MAX_PAGE
NAMESPACE = uuid.UUID("0e7c9f52-7b7d-4f8e-b1f4-3a2d9c6e5b10")
_ACCEPTED = ("application/taxii+json", "application/*", "*/*")


def _json(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(doc), headers={"Content-Type": TAXII, **(headers or {})})


def collection_id(partner: Partner) -> str:
    return str(uuid.uuid5(NAMESPACE, partner.id))


def _client(request: web.Request) -> Partner:
    """The TAXII partner behind the Basic credentials; refused the same way whatever was wrong."""
    accept = request.headers.get("Accept")
    if accept and not any(kind in accept for kind in _ACCEPTED):
        raise NotAcceptable(f"this server answers {TAXII}")
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    refused = VerificationError("TAXII needs HTTP Basic credentials of a partner with taxii access",
                                code="taxii_unauthorized")
    if scheme.lower() != "basic":
        raise refused
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise refused from None
    partner = services(request).config.partners.get(user)
    expected = partner.options.get("taxii_password") if partner and partner.transport == "taxii" else None
    if not isinstance(expected, str) or not hmac.compare_digest(password.encode(), expected.encode()):
        raise refused
    return partner  # type: ignore[return-value]


def _collection(partner: Partner, request: web.Request) -> dict[str, Any]:
    return {"id": collection_id(partner), "title": f"{services(request).config.id} cases for {partner.id}",
            "description": "Cases routed to you by policy, as STIX 2.1", "can_read": True,
            "can_write": bool(partner.options.get("taxii_write", False)), "media_types": [STIX]}


def _own(request: web.Request) -> Partner:
    partner = _client(request)
    if request.match_info["collection"] != collection_id(partner):
        raise NotFound("no such collection for this client", code="collection_not_found")
    return partner


def _taxii(request: web.Request) -> Store:
    return services(request).store


async def discovery(request: web.Request) -> web.Response:
    _client(request)
    config = services(request).config
    return _json({"title": f"{config.id} hotline-gateway TAXII", "default": API_ROOT,
                  "description": "Reports of illegal online content shared under TLP", "api_roots": [API_ROOT]})


async def api_root(request: web.Request) -> web.Response:
    _client(request)
    return _json({"title": "hotline cases", "versions": [TAXII], "max_content_length": MAX_PAGE * 65536})


async def collections(request: web.Request) -> web.Response:
    return _json({"collections": [_collection(_client(request), request)]})


async def collection(request: web.Request) -> web.Response:
    return _json(_collection(_own(request), request))


async def _page(request: web.Request, partner: Partner, *, object_id: str | None = None,
                default_version: str = "last") -> tuple[list[Entry], bool, dict[str, str]]:
    """Entries of one page, whether there are more, and the headers (dates added, and nothing else)."""
    limit = filters.limit(request.query)
    where = filters.parse(request.query, object_id=object_id, default_version=default_version)
    store = _taxii(request)
    await store.taxii_refresh(partner.id)
    entries = await store.taxii_objects(partner.id, where, limit + 1)
    more, entries = len(entries) > limit, entries[:limit]
    served = await store.taxii_undelivered(sorted({e.message_id for e in entries if e.type == "report"}))
    if served:
        receipt = orjson.dumps({"kind": "taxii", "fetched_by": partner.id,
                                "fetched_at": format_timestamp(datetime.now(UTC))}).decode()
        await record(services(request).store, [Outcome(d, receipt=receipt) for d in served],
                     services(request).config.delivery)
    headers = {"X-TAXII-Date-Added-First": entries[0].date_added,
               "X-TAXII-Date-Added-Last": entries[-1].date_added} if entries else {}
    return entries, more, headers


def _envelope(entries: list[Entry], more: bool, key: str, values: list[Any]) -> dict[str, Any]:
    """A TAXII envelope-like resource: ``more``, ``next`` when there is more, and the list only when not empty."""
    doc: dict[str, Any] = {"more": more}
    if more:
        doc["next"] = filters.encode_next(entries[-1].added_us, entries[-1].seq)
    if values:
        doc[key] = values
    return doc


async def get_objects(request: web.Request) -> web.Response:
    entries, more, headers = await _page(request, _own(request))
    return _json(_envelope(entries, more, "objects", [e.object for e in entries]), headers=headers)


async def get_object(request: web.Request) -> web.Response:
    """§5.6 Get an Object: its versions (``match[version]``, default last) as an envelope; 404 if it has none."""
    entries, more, headers = await _page(request, _own(request), object_id=request.match_info["object_id"])
    if not entries and "next" not in request.query and "added_after" not in request.query:
        raise NotFound("no such object in this collection", code="object_not_found")
    return _json(_envelope(entries, more, "objects", [e.object for e in entries]), headers=headers)


async def get_versions(request: web.Request) -> web.Response:
    """§5.8 Get Object Versions: every version of the object, oldest added first."""
    entries, more, headers = await _page(request, _own(request), object_id=request.match_info["object_id"],
                                         default_version="all")
    if not entries and "next" not in request.query and "added_after" not in request.query:
        raise NotFound("no such object in this collection", code="object_not_found")
    return _json(_envelope(entries, more, "versions", [e.version for e in entries]), headers=headers)


async def get_manifest(request: web.Request) -> web.Response:
    entries, more, headers = await _page(request, _own(request))
    records = [{"id": e.object_id, "date_added": e.date_added, "version": e.version, "media_type": STIX}
               for e in entries]
    return _json(_envelope(entries, more, "objects", records), headers=headers)


def _version_of(obj: Any) -> str:
    if isinstance(obj, dict):
        for key in ("modified", "created"):
            if isinstance(obj.get(key), str):
                return str(obj[key])
    return from_us(int(time.time() * 1_000_000))


async def add_objects(request: web.Request) -> web.Response:
    """A partner allowed to write adds STIX: its url observables and indicators become inbound cases."""
    partner = _own(request)
    if not partner.options.get("taxii_write", False):
        raise Forbidden(f"{partner.id} may read this collection but not add to it", code="taxii_forbidden")
    if request.content_type not in (TAXII.split(";")[0],):
        raise UnsupportedMediaType(f"send {TAXII}")
    body = await read_body(request, services(request).config.max_body_bytes)
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadInput("body must be a TAXII envelope (JSON)", code="bad_envelope") from None
    objects = envelope.get("objects") if isinstance(envelope, dict) else None
    if not isinstance(objects, list) or not objects:
        raise BadInput("body must be a TAXII envelope with a non-empty objects list", code="bad_envelope")
    try:
        bundle = orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects})
    except TypeError:  # orjson writes at most 255 levels, reads up to 1,024
        raise BadInput("objects nested deeper than STIX content can be", code="bad_envelope") from None
    named = [{"id": str(o.get("id", "")), "version": _version_of(o)} for o in objects if isinstance(o, dict)]
    try:
        cases = registry.get("stix").decode(bundle)
        for case in cases:
            validate_case(case)
        svc = services(request)
        bind_to_sender(cases, partner.id, svc.config.id)
        await svc.acceptor.accept(svc.acceptor.build(cases, partner.id))
        outcome: dict[str, Any] = {"success_count": len(named), "failure_count": 0, "successes": named}
    except GatewayError as exc:
        outcome = {"success_count": 0, "failure_count": len(named),
                   "failures": [{**n, "message": exc.message[:500]} for n in named]}
    status = {"id": str(uuid.uuid4()), "status": "complete",
              "request_timestamp": from_us(int(time.time() * 1_000_000)), "total_count": len(named),
              "pending_count": 0, **outcome}
    if not named:
        status.pop("successes", None)
        status.pop("failures", None)
    await _taxii(request).taxii_put_status(partner.id, status)
    return _json(status, status=202)


async def get_status(request: web.Request) -> web.Response:
    partner = _client(request)
    status = await _taxii(request).taxii_status(partner.id, request.match_info["status"])
    if status is None:
        raise NotFound("no such status resource", code="status_not_found")
    return _json(status)


def add_routes(app: web.Application) -> None:
    collection_path = API_ROOT + "collections/{collection}/"
    app.router.add_get(ROOT, discovery)
    app.router.add_get(API_ROOT, api_root)
    app.router.add_get(API_ROOT + "collections/", collections)
    app.router.add_get(collection_path, collection)
    app.router.add_get(collection_path + "objects/", get_objects)
    app.router.add_post(collection_path + "objects/", add_objects)
    app.router.add_get(collection_path + "objects/{object_id}/", get_object)
    app.router.add_get(collection_path + "objects/{object_id}/versions/", get_versions)
    app.router.add_get(collection_path + "manifest/", get_manifest)
    app.router.add_get(API_ROOT + "status/{status}/", get_status)
