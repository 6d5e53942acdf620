"""The OpenAPI 3.1 description of the whole HTTP API, served at ``/openapi.json``.

Request and case shapes are not restated: the canonical JSON Schema (``schemas/case.schema.json``)
is embedded as components, so the document cannot drift from what the gateway validates. A test runs
schemathesis against the running app to keep every documented status and problem shape true.
"""

from __future__ import annotations

import functools
from typing import Any

import orjson
from aiohttp import web

from hotline_gateway import __version__
from hotline_gateway.schemas import path as schema_path

PROBLEM = "application/problem+json"


def _refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (v.replace("#/$defs/", "#/components/schemas/") if k == "$ref" and isinstance(v, str) else _refs(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_refs(v) for v in node]
    return node


def _problems(*statuses: int) -> dict[str, Any]:
    problem = {"schema": ref("Problem")}
    return {str(s): {"description": DESCRIPTIONS[s], "content": {PROBLEM: problem}} for s in statuses}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


DESCRIPTIONS = {
    400: "bad request (digest mismatch, malformed input)", 401: "missing or bad credentials or signature, replay",
    403: "not allowed: authenticated, not authorised (an update about a case the partner was not sent, a "
         "cross-site request, a partner without write access)",
    404: "no such resource", 408: "the body did not arrive in time",
    429: "too many failed sign-ins; Retry-After says when to try again", 409: "conflict (same id, other content)",
    413: "body over the limit", 415: "wrong media type", 422: "schema violation; `errors` names every bad field",
    406: "the client accepts no media type this route answers in",
    503: "not ready, or the store is unavailable",
}
SIGNED = [
    {"name": n, "in": "header", "required": True, "schema": {"type": "string"}, "description": d}
    for n, d in (("Signature-Input", "RFC 9421 signature parameters (Ed25519; covers @method, @target-uri, "
                  "content-digest, content-type; created, keyid, nonce)"),
                 ("Signature", "RFC 9421 signature"), ("Content-Digest", "RFC 9530 digest of the body"))
]


def _json(schema: dict[str, Any], media: str = "application/json") -> dict[str, Any]:
    return {"content": {media: {"schema": schema}}}


@functools.cache
def document() -> dict[str, Any]:
    canonical = orjson.loads(schema_path("case.schema.json").read_bytes())
    schemas = _refs(canonical["$defs"])
    schemas["TaxiiError"] = {
        "type": "object", "required": ["title"],
        "properties": {"title": {"type": "string"}, "description": {"type": "string"},
                       "error_code": {"type": "string"}, "http_status": {"type": "string"},
                       "details": {"type": "object"}}}
    schemas["Problem"] = {
        "type": "object", "required": ["type", "title", "status", "code", "detail"],
        "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                       "code": {"type": "string", "description": "stable machine-readable reason"},
                       "detail": {"type": "string"},
                       "errors": {"type": "array", "items": {"type": "object", "required": ["path", "message"],
                                                             "properties": {"path": {"type": "string"},
                                                                            "message": {"type": "string"}}}}},
    }
    schemas["Envelope"] = {"type": "object", "required": ["messages"], "additionalProperties": False,
                           "properties": {"messages": {"type": "array", "minItems": 1, "maxItems": 1000,
                                                       "items": {"$ref": "#/components/schemas/Message"}}}}
    schemas["Receipts"] = {"type": "object", "required": ["receipts"],
                           "properties": {"receipts": {"type": "array", "items": {"type": "object"}}}}
    schemas["Accepted"] = {"type": "object", "required": ["accepted", "deliveries"], "properties": {
        "accepted": {"type": "array", "items": {"type": "object", "required": ["case_id", "new"],
                                                "properties": {"case_id": {"type": "string"},
                                                               "new": {"type": "boolean"}}}},
        "deliveries": {"type": "integer"}}}
    schemas["Changed"] = {"type": "object", "required": ["notice_id", "case_id", "kind", "reason", "item_ids",
                                                        "queued_for", "cancelled"], "properties": {
        "notice_id": {"type": "string"}, "case_id": {"type": "string"}, "kind": {"enum": ["retract", "correct"]},
        "reason": {"$ref": "#/components/schemas/RetractReason"}, "item_ids": {"type": "array"},
        "queued_for": {"type": "array", "items": {"type": "string"}},
        "cancelled": {"type": "array", "items": {"type": "object"}},
        "changes": {"type": "array", "items": {"$ref": "#/components/schemas/Change"}}}}
    action = canonical["$defs"]["Action"]
    item_action = _refs({**action, "properties": {**action["properties"], "item_id": {"$ref": "#/$defs/Uuid"}},
                         "required": [*action["required"], "item_id"]})
    schemas["ActionsRequest"] = {"type": "object", "required": ["actions"], "additionalProperties": False,
                                 "properties": {"actions": {"type": "array", "minItems": 1, "maxItems": 1000,
                                                            "items": item_action}}}
    case_id = [{"name": "case_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]
    paths: dict[str, Any] = {
        "/v1/messages": {"post": {
            "summary": "Signed batch of messages from a partner gateway",
            "parameters": [*SIGNED, {"name": "Prefer", "in": "header", "required": False, "schema": {"type": "string"},
                                     "description": "receipts=batch (RFC 7240): the receipts under one signature for "
                                                    "the batch, an RFC 9162 tree head, each with its audit path"}],
            "requestBody": {"required": True, **_json({"$ref": "#/components/schemas/Envelope"},
                                                      "application/vnd.hotline-gateway.messages+json")},
            "responses": {"202": {"description": "stored durably; the receiver's signed receipts (a compact JWS "
                                                 "each, or `<tree head JWS>~<proof>` when batch receipts were asked)",
                                  **_json({"$ref": "#/components/schemas/Receipts"})},
                          **_problems(400, 401, 403, 408, 409, 413, 415, 422, 503)}}},
        "/v1/witnessed": {"post": {
            "summary": "A partner asks which of its signed audit checkpoints we hold (signed request and answer)",
            "parameters": SIGNED,
            "requestBody": {"required": True, **_json({"type": "object"})},
            "responses": {"200": {"description": "the checkpoints of the signing partner we witnessed, oldest first",
                                  **_json({"type": "object", "required": ["gateway", "checkpoints"],
                                           "properties": {"gateway": {"type": "string"},
                                                          "checkpoints": {"type": "array",
                                                                          "items": {"type": "string"}}}})},
                          **_problems(400, 401, 408, 413, 415, 503)}}},
        "/v1/cases": {"post": {
            "summary": "Local intake: one case or an array of cases from the hotline's case system",
            "security": bearer,
            "requestBody": {"required": True, **_json({"oneOf": [
                {"$ref": "#/components/schemas/Case"},
                {"type": "array", "minItems": 1, "maxItems": 10000, "items": ref("Case")}]})},
            "responses": {"202": {"description": "stored durably and routed", **_json(ref("Accepted"))},
                          **_problems(400, 401, 408, 409, 413, 415, 422, 503)}}},
        "/v1/cases/{case_id}": {"get": {
            "summary": "A case with its routing and, per destination, delivery state, attempts, error and receipt",
            "security": bearer, "parameters": case_id,
            "responses": {"200": {"description": "the case", **_json({"type": "object"})},
                          **_problems(401, 404, 503)}}},
        "/v1/cases/{case_id}/actions": {"post": {
            "summary": "Takedown progress on items (content removed, unavailable, moved, notices sent by hand)",
            "security": bearer, "parameters": case_id,
            "requestBody": {"required": True, **_json({"$ref": "#/components/schemas/ActionsRequest"})},
            "responses": {"200": {"description": "recorded; time to removal per item", **_json({"type": "object"})},
                          **_problems(400, 401, 404, 413, 415, 422, 503)}}},
        "/v1/cases/{case_id}/retract": {"post": {
            "summary": "Take back a case we originated (or listed items) from every destination, with a reason code",
            "security": bearer, "parameters": case_id,
            "requestBody": {"required": True, **_json({"$ref": "#/components/schemas/RetractRequest"})},
            "responses": {"202": {"description": "committed: per destination, the retraction queued or the unsent "
                                                 "messages cancelled",
                                  **_json({"$ref": "#/components/schemas/Changed"})},
                          **_problems(400, 401, 403, 404, 409, 413, 415, 422, 503)}}},
        "/v1/cases/{case_id}/correct": {"post": {
            "summary": "Send a corrected version of a case we originated to every destination, naming what changed",
            "security": bearer, "parameters": case_id,
            "requestBody": {"required": True, **_json({"$ref": "#/components/schemas/CorrectRequest"})},
            "responses": {"202": {"description": "committed: the changes, and per destination the correction "
                                                 "queued or the unsent messages replaced",
                                  **_json({"$ref": "#/components/schemas/Changed"})},
                          **_problems(400, 401, 403, 404, 409, 413, 415, 422, 503)}}},
        "/.well-known/hotline-gateway/keys": {"get": {
            "summary": "Our public keys (JWKS, OKP Ed25519) with validity windows",
            "responses": {"200": {"description": "JWKS", **_json({"type": "object", "required": ["keys"]},
                                                                 "application/jwk-set+json")}}}},
        "/healthz": {"get": {"summary": "Process alive", "responses": {"200": {"description": "alive",
                                                                                 **_json({"type": "object"})}}}},
        "/readyz": {"get": {"summary": "Store writable, keys loaded, worker running",
                            "responses": {"200": {"description": "ready", **_json({"type": "object"})},
                                          **_problems(503)}}},
        "/metrics": {"get": {"summary": "Prometheus metrics (bearer token when [server] metrics_token_file is set)",
                             "responses": {"200": {"description": "text exposition format",
                                                   "content": {"text/plain": {"schema": {"type": "string"}}}},
                                           **_problems(401)}}},
        "/openapi.json": {"get": {"summary": "This document",
                                  "responses": {"200": {"description": "OpenAPI 3.1", **_json({"type": "object"})}}}},
    }
    taxii = "application/taxii+json;version=2.1"

    def errors(*statuses: int) -> dict[str, Any]:
        """TAXII routes answer errors as TAXII error resources (§3.6.1), never problem+json."""
        return {str(s): {"description": DESCRIPTIONS.get(s, "error"),
                         "content": {taxii: {"schema": ref("TaxiiError")}}} for s in statuses}

    for path, summary in (("/taxii2/", "TAXII discovery"), ("/taxii2/hotline/", "TAXII API root"),
                          ("/taxii2/hotline/collections/", "TAXII collections visible to this client")):
        paths[path] = {"get": {"summary": summary, "security": [{"basic": []}],
                               "responses": {"200": {"description": "ok", **_json({"type": "object"}, taxii)},
                                             **errors(401, 406)}}}
    coll = [{"name": "collection", "in": "path", "required": True, "schema": {"type": "string"}}]
    obj = [{"name": "object_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    paged = [{"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
             for n in ("added_after", "limit", "next", "match[id]", "match[type]", "match[version]",
                       "match[spec_version]")]
    ok_taxii = {"200": {"description": "ok", **_json({"type": "object"}, taxii)}, **errors(400, 401, 404, 406)}
    paths["/taxii2/hotline/collections/{collection}/"] = {"get": {
        "summary": "One collection", "security": [{"basic": []}], "parameters": coll,
        "responses": {"200": {"description": "ok", **_json({"type": "object"}, taxii)}, **errors(401, 404, 406)}}}
    paths["/taxii2/hotline/collections/{collection}/objects/"] = {
        "get": {"summary": "STIX objects of the collection, paged and filtered", "security": [{"basic": []}],
                "parameters": coll + paged, "responses": ok_taxii},
        "post": {"summary": "Add STIX objects (partners allowed to write)", "security": [{"basic": []}],
                 "parameters": coll, "requestBody": {"required": True, **_json({"type": "object"}, taxii)},
                 "responses": {"202": {"description": "status resource", **_json({"type": "object"}, taxii)},
                               **errors(400, 401, 403, 404, 406, 413, 415)}}}
    paths["/taxii2/hotline/collections/{collection}/objects/{object_id}/"] = {"get": {
        "summary": "One object's versions (match[version], default last)", "security": [{"basic": []}],
        "parameters": coll + obj + paged, "responses": ok_taxii}}
    paths["/taxii2/hotline/collections/{collection}/objects/{object_id}/versions/"] = {"get": {
        "summary": "Every version of one object", "security": [{"basic": []}],
        "parameters": coll + obj + paged, "responses": ok_taxii}}
    paths["/taxii2/hotline/collections/{collection}/manifest/"] = {"get": {
        "summary": "Manifest of the collection, paged and filtered", "security": [{"basic": []}],
        "parameters": coll + paged, "responses": ok_taxii}}
    paths["/taxii2/hotline/status/{status}/"] = {"get": {
        "summary": "Status of an add request", "security": [{"basic": []}],
        "parameters": [{"name": "status", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "ok", **_json({"type": "object"}, taxii)}, **errors(401, 404, 406)}}}
    html = {"content": {"text/html": {"schema": {"type": "string"}}}}
    see_other = {"303": {"description": "to the sign-in form, or back to the page after an action"}}
    form = {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "properties": {"token": {"type": "string"}, "csrf": {"type": "string"},
                                         "message_id": {"type": "string"}}}}}}
    paths["/status/login"] = {
        "get": {"summary": "Operator sign-in form", "responses": {"200": {"description": "form", **html}}},
        "post": {"summary": "Sign in with the operator credential (throttled)", "requestBody": form,
                 "responses": {**see_other, **_problems(401, 403, 415, 429)}}}
    paths["/status/logout"] = {"post": {"summary": "Sign out: the session ends (CSRF token, same site)",
                                        "requestBody": form, "responses": {**see_other, **_problems(403, 415)}}}
    paths["/status"] = {"get": {"summary": "Operator status page (signed-in session)",
                                "responses": {"200": {"description": "the page", **html}, **see_other}}}
    paths["/status/requeue"] = {"post": {"summary": "Requeue a dead letter (session, CSRF token, same site)",
                                         "requestBody": form,
                                         "responses": {**see_other, **_problems(401, 403, 415, 422)}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "hotline-gateway", "version": __version__,
                 "description": "Exchange of reports of illegal online content between hotlines, law enforcement "
                                "and hosts. Every error is application/problem+json with a stable `code` (TAXII "
                                "routes: TAXII error resources, `error_code`)."},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "the local case system's intake token"},
            "basic": {"type": "http", "scheme": "basic", "description": "TAXII: partner id and its TAXII password"}}},
    }


async def openapi(_request: web.Request) -> web.Response:
    return web.Response(body=orjson.dumps(document()), content_type="application/json")
