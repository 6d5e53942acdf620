"""TAXII 2.1 (OASIS): discovery, API root, collections, objects (read with ``added_after`` and paging,
add for partners allowed to), manifest and status — over the STIX that routing queued for each partner.

Every partner whose transport is ``taxii`` has one collection: the cases policy routed to it, as the
STIX bundles in its outbox. It authenticates with HTTP Basic (its partner id and the password in its
``options.taxii_password``) and sees only its own collection. A served bundle counts as delivered.
"""

from __future__ import annotations

import base64
import hmac
import time
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from hotline_gateway.adapters import registry
from hotline_gateway.api.messages import read_body
from hotline_gateway.api.state import services
from hotline_gateway.config import Partner
from hotline_gateway.core.errors import BadInput, GatewayError, NotFound, UnsupportedMediaType, VerificationError
from hotline_gateway.core.schema import validate_case
from hotline_gateway.core.timefmt import format_timestamp
from hotline_gateway.pipeline.authorise import bind_to_sender
from hotline_gateway.pipeline.outbox import record
from hotline_gateway.store.records import DeliveryState
from hotline_gateway.taxii.envelope import Cursor, page, parse_taxii_time, taxii_time
from hotline_gateway.transports.base import Outcome

TAXII = "application/taxii+json;version=2.1"
STIX = "application/stix+json;version=2.1"
ROOT = "/taxii2/"
API_ROOT = "/taxii2/hotline/"
MAX_PAGE = 1000
NAMESPACE = uuid.UUID("0e7c9f52-7b7d-4f8e-b1f4-3a2d9c6e5b10")
_statuses: OrderedDict[str, dict[str, Any]] = OrderedDict()


def _json(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(doc), headers={"Content-Type": TAXII, **(headers or {})})


def collection_id(partner: Partner) -> str:
    return str(uuid.uuid5(NAMESPACE, partner.id))


def _client(request: web.Request) -> Partner:
    """The TAXII partner behind the Basic credentials; refused the same way whatever was wrong."""
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


def _limit(request: web.Request) -> int:
    try:
        return max(1, min(int(request.query.get("limit", MAX_PAGE)), MAX_PAGE))
    except ValueError:
        raise BadInput("limit must be an integer", code="bad_filter") from None


async def _page(request: web.Request, partner: Partner) -> tuple[list[tuple[dict[str, Any], float]], bool, str]:
    limit = _limit(request)
    cursor = Cursor.decode(request.query["next"]) if "next" in request.query else None
    after = (cursor.created_at, cursor.message_id) if cursor else (0.0, "")
    if cursor is None and "added_after" in request.query:
        after = (parse_taxii_time(request.query["added_after"]), "\uffff")
    store = services(request).store
    rows = await store.outbox_page(partner.id, after, limit + 1)
    more_rows = len(rows) > limit
    result = page(rows[:limit], cursor, limit, more_rows)
    fresh = [d for d in result.served if d.state is not DeliveryState.DELIVERED]
    if fresh:
        receipt = orjson.dumps({"kind": "taxii", "fetched_by": partner.id,
                                "fetched_at": format_timestamp(datetime.now(UTC))}).decode()
        await record(store, [Outcome(d, receipt=receipt) for d in fresh], services(request).config.delivery)
    return result.objects, result.more, result.next.encode() if result.next else ""


def _date_headers(objects: list[tuple[dict[str, Any], float]]) -> dict[str, str]:
    if not objects:
        return {}
    return {"X-TAXII-Date-Added-First": taxii_time(objects[0][1]),
            "X-TAXII-Date-Added-Last": taxii_time(objects[-1][1])}


async def get_objects(request: web.Request) -> web.Response:
    objects, more, token = await _page(request, _own(request))
    doc: dict[str, Any] = {"more": more, "objects": [o for o, _ in objects]}
    if more:
        doc["next"] = token
    return _json(doc, headers=_date_headers(objects))


async def get_manifest(request: web.Request) -> web.Response:
    objects, more, token = await _page(request, _own(request))
    doc: dict[str, Any] = {"more": more, "objects": [
        {"id": o["id"], "date_added": taxii_time(added), "version": o.get("modified", o.get("created", "")),
         "media_type": STIX} for o, added in objects]}
    if more:
        doc["next"] = token
    return _json(doc, headers=_date_headers(objects))


async def add_objects(request: web.Request) -> web.Response:
    """A partner allowed to write adds STIX: its url observables and indicators become inbound cases."""
    partner = _own(request)
    if not partner.options.get("taxii_write", False):
        raise VerificationError(f"{partner.id} may read this collection but not add to it", code="taxii_forbidden")
    if request.content_type not in (TAXII.split(";")[0], "application/taxii+json"):
        raise UnsupportedMediaType(f"send {TAXII}")
    body = await read_body(request, services(request).config.max_body_bytes)
    try:
        envelope = orjson.loads(body)
        objects = envelope["objects"]
        assert isinstance(objects, list)
    except (orjson.JSONDecodeError, KeyError, TypeError, AssertionError):
        raise BadInput("body must be a TAXII envelope with an objects array", code="bad_envelope") from None
    bundle = orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects})
    status_id = str(uuid.uuid4())
    ids = [str(o.get("id", "")) for o in objects if isinstance(o, dict)]
    try:
        cases = registry.get("stix").decode(bundle)
        for case in cases:
            validate_case(case)
        svc = services(request)
        bind_to_sender(cases, partner.id, svc.config.id)
        await svc.acceptor.accept(svc.acceptor.build(cases, partner.id))
        outcome = {"status": "complete", "total_count": len(ids), "success_count": len(ids), "failure_count": 0,
                   "pending_count": 0, "successes": [{"id": i} for i in ids]}
    except GatewayError as exc:
        outcome = {"status": "complete", "total_count": len(ids), "success_count": 0, "failure_count": len(ids),
                   "pending_count": 0, "failures": [{"id": i, "message": exc.message} for i in ids]}
    status = {"id": status_id, "request_timestamp": taxii_time(time.time()), **outcome}
    _statuses[status_id] = {"partner": partner.id, **status}
    while len(_statuses) > 10_000:
        _statuses.popitem(last=False)
    return _json(status, status=202)


async def get_status(request: web.Request) -> web.Response:
    partner = _client(request)
    status = _statuses.get(request.match_info["status"])
    if status is None or status["partner"] != partner.id:
        raise NotFound("no such status resource", code="status_not_found")
    return _json({k: v for k, v in status.items() if k != "partner"})


def add_routes(app: web.Application) -> None:
    app.router.add_get(ROOT, discovery)
    app.router.add_get(API_ROOT, api_root)
    app.router.add_get(API_ROOT + "collections/", collections)
    app.router.add_get(API_ROOT + "collections/{collection}/", collection)
    app.router.add_get(API_ROOT + "collections/{collection}/objects/", get_objects)
    app.router.add_post(API_ROOT + "collections/{collection}/objects/", add_objects)
    app.router.add_get(API_ROOT + "collections/{collection}/manifest/", get_manifest)
    app.router.add_get(API_ROOT + "status/{status}/", get_status)
