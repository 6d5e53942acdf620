"""``POST /v1/messages``: signed batches of messages from partner gateways.

Nothing in the body is parsed before the request signature and the Content-Digest verify. Each
message's payload must match its digest and carry the sender's detached JWS; it is then decoded,
validated and committed with its routing before the 202 carries our signed receipts. A resent
message id gets its original receipt back and is not stored again. Any bad message rejects the
whole batch, and a rejected batch stores nothing.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from hotline_gateway.api.state import services
from hotline_gateway.core.errors import (
    BadInput,
    DecodeError,
    DigestMismatch,
    FieldProblem,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationError,
    VerificationError,
)
from hotline_gateway.core.model import Case, dump_case, format_timestamp
from hotline_gateway.core.schema import envelope_validator, validate_case
from hotline_gateway.core.takedown import match_items
from hotline_gateway.crypto.jws import verify_detached
from hotline_gateway.crypto.receipts import make_receipt
from hotline_gateway.pipeline.decode import decode_payload
from hotline_gateway.pipeline.sign import payload_digest
from hotline_gateway.store.records import AuditEntry, InboundRecord
from hotline_gateway.store.sqlite import DuplicateMessage, SqliteStore

ENVELOPE_TYPES = frozenset({"application/vnd.hotline-gateway.messages+json", "application/json"})
ENVELOPE_TYPE = "application/vnd.hotline-gateway.messages+json"


Updates = dict[str, list[tuple[str, dict[str, Any]]]]
Docs = dict[str, dict[str, Any]]
Fresh = tuple[int, dict[str, Any], list[Case], Updates, Docs]


async def split_updates(store: SqliteStore, cases: list[Case]) -> tuple[list[Case], Updates]:
    """A ``case.update`` about a case we hold adds its items' actions to ours; one about a case we have
    never seen is taken as a new case (the partner's first notice may have been lost on the way)."""
    known = await store.case_docs([str(c.case_id) for c in cases])
    new: list[Case] = []
    updates: Updates = {}
    for case in cases:
        stored = known.get(str(case.case_id))
        if stored is None:
            new.append(case)
            continue
        incoming = dump_case(case)
        mapping = match_items(stored, incoming)
        updates[str(case.case_id)] = [(mapping[item["item_id"]], action) for item in incoming["items"]
                                      if item["item_id"] in mapping for action in item.get("actions", [])]
    return new, updates


class MessageIdReused(BadInput):
    code = "message_id_reused"
    http_status = 409


async def read_body(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"body of {request.content_length} bytes is over the limit of {limit}")
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(65536):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _payload(msg: dict[str, Any], where: str) -> bytes:
    try:
        payload = base64.b64decode(msg["payload"], validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError([FieldProblem(f"{where}.payload", "is not valid base64")]) from None
    if payload_digest(payload) != msg["payload_sha256"]:
        raise DigestMismatch(f"{where}.payload does not match payload_sha256", code="payload_digest_mismatch")
    return payload


async def post_messages(request: web.Request) -> web.Response:
    svc = services(request)
    config = svc.config
    if request.content_type not in ENVELOPE_TYPES:
        raise UnsupportedMediaType(f"send {ENVELOPE_TYPE}, not {request.content_type}")
    body = await read_body(request, config.max_body_bytes)
    target = config.signed_target(request.raw_path, str(request.url))
    sender = svc.verifier.verify(method=request.method, target_uri=target, headers=request.headers, body=body)
    partner = sender.partner
    if not partner.may_send:
        raise VerificationError(f"{partner.id} may not send us messages", code="sender_not_allowed")
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValidationError([FieldProblem("$", f"not JSON ({exc})")]) from None
    envelope_validator().validate(envelope)
    messages: list[dict[str, Any]] = envelope["messages"]

    problems: list[FieldProblem] = []
    seen_ids: set[str] = set()
    for i, msg in enumerate(messages):
        where = f"$.messages[{i}]"
        if msg["message_id"] in seen_ids:
            problems.append(FieldProblem(f"{where}.message_id", "appears twice in this batch"))
        seen_ids.add(msg["message_id"])
        if msg["sender"] != partner.id:
            problems.append(FieldProblem(f"{where}.sender", f"is not the signing partner {partner.id}"))
        if msg["recipient"] != config.id:
            problems.append(FieldProblem(f"{where}.recipient", f"is not this gateway ({config.id})"))
        if msg["type"] not in ("case.notify", "case.update"):
            problems.append(FieldProblem(f"{where}.type", f"{msg['type']} is not accepted here"))
    if problems:
        raise ValidationError(problems)

    existing = await svc.store.find_inbound([m["message_id"] for m in messages])
    receipts: list[dict[str, Any] | None] = []
    fresh: list[Fresh] = []
    partner_dir = svc.partner_keys.directory(partner.id)
    for i, msg in enumerate(messages):
        where = f"$.messages[{i}]"
        old = existing.get(msg["message_id"])
        if old is not None:
            if old.payload_sha256 != msg["payload_sha256"] or old.sender != partner.id:
                raise MessageIdReused(f"{where}.message_id {msg['message_id']} was already used for other content")
            receipts.append({**orjson.loads(old.receipt), "duplicate": True})
            svc.counters["duplicates"] += 1
            svc.metrics.messages_in.labels(partner.id, msg["format"], "duplicate").inc()
            continue
        payload = _payload(msg, where)
        for sig in msg["signatures"]:
            verify_detached(payload, sig["jws"], partner_dir, kid=sig["kid"])
        docs: Docs = {}
        try:
            cases = decode_payload(msg["format"], payload)
            for n, case in enumerate(cases):
                docs[str(case.case_id)] = validate_case(case, source=f"{where}.payload case {n + 1}")
        except DecodeError as exc:
            raise DecodeError(exc.message, path=f"{where}.payload") from None
        receipts.append(None)
        updates: Updates = {}
        if msg["type"] == "case.update":
            cases, updates = await split_updates(svc.store, cases)
        fresh.append((i, msg, cases, updates, docs))

    if fresh:
        try:
            await _commit(request, fresh, receipts, sender.signature.kid,
                          (sender.signature.kid, sender.signature.nonce or "", sender.signature.created))
        except DuplicateMessage:
            # A concurrent request stored the same message first: answer with what it stored.
            stored = await svc.store.find_inbound([m["message_id"] for m in messages])
            receipts = [{**orjson.loads(stored[m["message_id"]].receipt), "duplicate": True} for m in messages]
            svc.counters["duplicates"] += len(messages)
    svc.counters["messages_in"] += len(fresh)
    for _, msg, _, _, _ in fresh:
        svc.metrics.messages_in.labels(partner.id, msg["format"], "accepted").inc()
    return web.Response(status=202, body=orjson.dumps({"receipts": receipts}), content_type="application/json")


async def _commit(
    request: web.Request,
    fresh: list[Fresh],
    receipts: list[dict[str, Any] | None],
    kid: str,
    nonce: tuple[str, str, int],
) -> None:
    svc = services(request)
    key = svc.keyring.signing_key
    received_at = format_timestamp(datetime.now(UTC))
    intakes = []
    for index, msg, cases, updates, docs in fresh:
        receipt = make_receipt(msg["message_id"], msg["payload_sha256"], received_at, svc.config.id, key).as_dict()
        receipts[index] = receipt
        record = InboundRecord(msg["message_id"], msg["sender"], received_at, msg["payload_sha256"],
                               orjson.dumps(receipt).decode(), kid)
        intake = svc.acceptor.build(cases, msg["sender"], inbound=[record], message_id=msg["message_id"], docs=docs)
        intake.updates = updates
        intake.audit += [AuditEntry("case.updated", message_id=msg["message_id"], case_id=case_id,
                                    partner=msg["sender"], detail=f"{len(acts)} action(s) reported")
                         for case_id, acts in updates.items()]
        intake.audit.insert(0, AuditEntry("message.received", message_id=msg["message_id"], partner=msg["sender"],
                                          payload_sha256=msg["payload_sha256"],
                                          signatures=[s["jws"] for s in msg["signatures"]],
                                          detail=f"{msg['type']} {msg['format']}"))
        intakes.append(intake)
    merged = intakes[0]
    for other in intakes[1:]:
        merged.inbound += other.inbound
        merged.cases += other.cases
        merged.deliveries += other.deliveries
        merged.audit += other.audit
        for case_id, acts in other.updates.items():
            merged.updates.setdefault(case_id, []).extend(acts)
    merged.nonce = nonce
    merged.keep_first = True
    await svc.acceptor.accept(merged)
