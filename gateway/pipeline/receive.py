"""Receive: a partner's signed batch of messages, from the bytes on the wire to our signed receipts.

verify (signature, digest, nonce) → parse the envelope strictly → check each message names its sender
and us → answer resends from what is stored → open each payload (digest, the sender's detached JWS,
decode, validate) → authorise (a partner speaks only for itself: updates only for cases and items it
sent us or we sent it; what it asserts about who assessed a case is bound to it) → route, encode, sign
→ commit with receipts. CPU-heavy steps run in the offload pool, never on the event loop.

Any bad message refuses the whole batch and stores nothing. Duplicates are settled inside the commit,
per sender and message id: a resend gets its original receipt back, a message raced by a concurrent
request of the same sender too, and a mixed batch stores what is new and answers the rest.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from hotline_gateway.adapters import registry
from hotline_gateway.config import Config, Partner
from hotline_gateway.core.errors import (
    BadInput,
    DecodeError,
    DigestMismatch,
    FieldProblem,
    GatewayError,
    LifecycleRace,
    NotAuthorised,
    ValidationError,
)
from hotline_gateway.core.jsonstrict import loads_document
from hotline_gateway.core.log import get_logger
from hotline_gateway.core.model import Case, MessageType, dump_case
from hotline_gateway.core.schema import envelope_validator
from hotline_gateway.core.takedown import match_items
from hotline_gateway.core.timefmt import format_timestamp
from hotline_gateway.crypto.jws import verify_detached
from hotline_gateway.crypto.keydir import KeyDirectory
from hotline_gateway.crypto.keyring import KeyRing
from hotline_gateway.crypto.partner_keys import PartnerKeys
from hotline_gateway.crypto.receipts import make_batch_receipts, make_receipt
from hotline_gateway.pipeline.accept import Acceptor
from hotline_gateway.pipeline.authorise import bind_to_sender
from hotline_gateway.pipeline.checkpoints import HEADER as CHECKPOINT_HEADER
from hotline_gateway.pipeline.checkpoints import witness
from hotline_gateway.pipeline.decode import decode_validated
from hotline_gateway.pipeline.lifecycle import Lifecycle
from hotline_gateway.pipeline.lifecycle_inbound import open_notice, plan_inbound
from hotline_gateway.pipeline.lifecycle_plan import Request as LifecycleRequest
from hotline_gateway.pipeline.lifecycle_plan import plan as plan_change
from hotline_gateway.pipeline.offload import CpuPool
from hotline_gateway.pipeline.sign import payload_digest
from hotline_gateway.pipeline.verify import InboundVerifier, Sender
from hotline_gateway.store.interface import Store
from hotline_gateway.store.records import AuditEntry, InboundRecord, Intake

log = get_logger("hotline_gateway.receive")

#: what a partner may send us today
ACCEPTED_TYPES = frozenset({MessageType.NOTIFY.value, MessageType.UPDATE.value, MessageType.RETRACT.value,
                            MessageType.CORRECT.value})
LIFECYCLE_TYPES = frozenset({MessageType.RETRACT.value, MessageType.CORRECT.value})
#: how often a batch is planned again when a retraction in it raced a lane or an update
ATTEMPTS = 3


class MessageIdReused(BadInput):
    code = "message_id_reused"
    http_status = 409


class UpdateNotAuthorised(NotAuthorised):
    code = "update_not_authorised"


class SenderNotAllowed(NotAuthorised):
    code = "sender_not_allowed"


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path_qs: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(slots=True)
class Opened:
    """One fresh message, its payload verified and decoded."""

    index: int
    msg: dict[str, Any]
    cases: list[Case]
    docs: dict[str, dict[str, Any]]
    #: for ``case.update``: actions for items of cases we hold, by case id
    updates: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    #: for ``case.retract``/``case.correct``: the notice, and the change planned from it
    notice: dict[str, Any] | None = None
    request: LifecycleRequest | None = None


@dataclass(slots=True)
class Received:
    partner: Partner
    receipts: list[dict[str, Any]]
    formats: list[str]
    fresh: int = 0
    duplicates: int = 0


#: bodies up to this size are parsed and opened in one hand-off (see ``Receiver.receive``)
SMALL_BATCH_BYTES = 64 * 1024


def known_format(name: Any) -> str:
    """A format name safe to use as a metrics label: one we know, else ``other``."""
    return name if isinstance(name, str) and name in registry.names() else "other"


class Receiver:
    def __init__(self, config: Config, store: Store, verifier: InboundVerifier, keyring: KeyRing,
                 partner_keys: PartnerKeys, acceptor: Acceptor, cpu: CpuPool, lifecycle: Lifecycle) -> None:
        self.config, self.store, self.verifier = config, store, verifier
        self.keyring, self.partner_keys, self.acceptor, self.cpu = keyring, partner_keys, acceptor, cpu
        self.lifecycle = lifecycle

    async def receive(self, request: Request) -> Received:
        sender = await self.verifier.verify(method=request.method, path_qs=request.path_qs, headers=request.headers,
                                            body=request.body)
        partner = sender.partner
        checkpoint = request.headers.get(CHECKPOINT_HEADER)
        if checkpoint and CHECKPOINT_HEADER.lower() in sender.signature.covered:
            await witness(self.store, self.partner_keys, partner.id, checkpoint)
        if not partner.may_send:
            raise SenderNotAllowed(f"{partner.id} may not send us messages")
        keys = self.partner_keys.directory(partner.id)
        attempts: list[Opened | GatewayError] | None = None
        if len(request.body) <= SMALL_BATCH_BYTES:
            # a few messages: parsed and opened in one step, on the loop for the smallest (a hand-off costs
            # more than opening a resent message needlessly); a large batch opens only what is not already held
            messages, attempts = await self.cpu.run_sized(len(request.body), _parse_and_open, request.body, partner,
                                                          self.config, keys)
        else:
            messages = await self.cpu.run(_parse_envelope, request.body)
            _check_batch(messages, partner, self.config)
        existing = await self.store.find_inbound(partner.id, [m["message_id"] for m in messages])
        out = Received(partner, [{} for _ in messages], [known_format(m["format"]) for m in messages])
        fresh_msgs: list[tuple[int, dict[str, Any]]] = []
        for i, msg in enumerate(messages):
            old = existing.get(msg["message_id"])
            if old is None:
                fresh_msgs.append((i, msg))
                continue
            _same_or_refuse(old, msg, i)
            out.receipts[i] = {**orjson.loads(old.receipt), "duplicate": True}
            out.duplicates += 1
        if not fresh_msgs:
            return out
        if attempts is None:
            opened = await self.cpu.run(_open_all, fresh_msgs, keys)
        else:  # the first message that did not open is refused, as _open_all would have
            opened = [_opened_or_raise(attempts[i]) for i, _ in fresh_msgs]
        await self._authorise(partner, opened)
        for attempt in range(ATTEMPTS):
            try:
                intakes, receipts = await self.cpu.run_sized(len(request.body), self._build, partner, sender, opened,
                                                             wants_batch_receipts(request.headers))
                results = await self.acceptor.commit(intakes, nonce=sender.nonce)
                break
            except LifecycleRace:
                if attempt == ATTEMPTS - 1:
                    raise
                # the state moved: plan again from what is stored
                await plan_inbound(self.lifecycle, self.store, partner.id, opened)
        for intake, result in zip(intakes, results, strict=True):
            for change, outcome in zip(intake.changes, result.changes, strict=True):
                self.lifecycle.committed(change, outcome)
        for o, receipt, result in zip(opened, receipts, results, strict=True):
            if result.duplicate_of is not None:  # a concurrent request of this sender stored it first
                _same_or_refuse(result.duplicate_of, o.msg, o.index)
                out.receipts[o.index] = {**orjson.loads(result.duplicate_of.receipt), "duplicate": True}
                out.duplicates += 1
            else:
                out.receipts[o.index] = receipt
                out.fresh += 1
        return out

    async def _authorise(self, partner: Partner, opened: list[Opened]) -> None:
        """Bind what the partner asserts to its identity, and allow updates, retractions and corrections only
        where it is involved."""
        for o in opened:
            for case in bind_to_sender(o.cases, partner.id, self.config.id):
                o.docs[str(case.case_id)] = dump_case(case)
        await plan_inbound(self.lifecycle, self.store, partner.id, opened)
        updates = [o for o in opened if o.msg["type"] == MessageType.UPDATE.value]
        if not updates:
            return
        known = await self.store.case_docs([str(c.case_id) for o in updates for c in o.cases])
        for o in updates:
            new_cases: list[Case] = []
            for case in o.cases:
                case_id = str(case.case_id)
                stored = known.get(case_id)
                if stored is None:
                    new_cases.append(case)  # its first notice may have been lost on the way: take it as new
                    continue
                incoming = o.docs[case_id]
                mapping = match_items(stored, incoming)
                allowed = await self._items_for(partner.id, case_id, stored)
                refused = sorted({mapping.get(i["item_id"], i["item_id"]) for i in incoming["items"]} - allowed)
                if refused:
                    reason = (f"{partner.id} may update only cases and items it sent us or we sent it; "
                              f"case {case_id} item(s) {', '.join(refused[:5])} are neither")
                    await self.store.append_audit([AuditEntry("message.refused", message_id=o.msg["message_id"],
                                                              case_id=case_id, partner=partner.id, detail=reason)])
                    log.warning("message.refused", message_id=o.msg["message_id"], case_id=case_id,
                                partner=partner.id, code=UpdateNotAuthorised.code)
                    raise UpdateNotAuthorised(f"$.messages[{o.index}]: {reason}")
                o.updates[case_id] = [(mapping[item["item_id"]], action) for item in incoming["items"]
                                      if item["item_id"] in mapping for action in item.get("actions", [])]
            o.cases = new_cases

    async def _items_for(self, partner: str, case_id: str, stored: dict[str, Any]) -> set[str]:
        if await self.store.case_origin(case_id) == partner:
            return {item["item_id"] for item in stored["items"]}
        return await self.store.items_sent_to(case_id, partner)

    def _build(self, partner: Partner, sender: Sender, opened: list[Opened], batch: bool
               ) -> tuple[list[Intake], list[dict[str, Any]]]:
        key = self.keyring.signing_key
        received_at = format_timestamp(datetime.now(UTC))
        intakes: list[Intake] = []
        receipts: list[dict[str, Any]] = []
        pairs = [(o.msg["message_id"], o.msg["payload_sha256"]) for o in opened]
        signed = (make_batch_receipts(pairs, received_at, self.config.id, key) if batch else
                  [make_receipt(mid, digest, received_at, self.config.id, key) for mid, digest in pairs])
        for o, made in zip(opened, signed, strict=True):
            msg = o.msg
            receipt = made.as_dict()
            record = InboundRecord(msg["message_id"], partner.id, received_at, msg["payload_sha256"],
                                   orjson.dumps(receipt).decode(), sender.signature.kid)
            intake = self.acceptor.build(o.cases, partner.id, inbound=record, message_id=msg["message_id"],
                                         docs=o.docs, key=key)
            intake.keep_first = True  # a partner's copy of a case we hold never replaces ours
            intake.updates = o.updates
            if o.request is not None:
                intake.changes.append(plan_change(self.config, key, o.request))
            intake.audit.insert(0, AuditEntry("message.received", message_id=msg["message_id"], partner=partner.id,
                                              payload_sha256=msg["payload_sha256"],
                                              signatures=[s["jws"] for s in msg["signatures"]],
                                              detail=f"{msg['type']} {msg['format']}"))
            intakes.append(intake)
            receipts.append(receipt)
        return intakes, receipts


def wants_batch_receipts(headers: Mapping[str, str]) -> bool:
    """The sender asked for one signature per batch (``Prefer: receipts=batch``, RFC 7240: any of its
    ``Prefer`` fields, the value possibly quoted); a sender that does not ask gets one per message."""
    getall = getattr(headers, "getall", None)
    values: list[str] = getall("Prefer", []) if getall is not None else [headers.get("Prefer", "")]
    for value in values:
        for pref in value.split(","):
            name, _, token = pref.split(";", 1)[0].partition("=")
            if name.strip().lower() == "receipts" and token.strip().strip('"').lower() == "batch":
                return True
    return False


def _parse_envelope(body: bytes) -> list[dict[str, Any]]:
    envelope = loads_document(body)
    envelope_validator().validate(envelope)
    messages: list[dict[str, Any]] = envelope["messages"]
    return messages


def _check_batch(messages: list[dict[str, Any]], partner: Partner, config: Config) -> None:
    problems: list[FieldProblem] = []
    seen: set[str] = set()
    for i, msg in enumerate(messages):
        where = f"$.messages[{i}]"
        if msg["message_id"] in seen:
            problems.append(FieldProblem(f"{where}.message_id", "appears twice in this batch"))
        seen.add(msg["message_id"])
        if msg["sender"] != partner.id:
            problems.append(FieldProblem(f"{where}.sender", f"is not the signing partner {partner.id}"))
        if msg["recipient"] != config.id:
            problems.append(FieldProblem(f"{where}.recipient", f"is not this gateway ({config.id})"))
        if msg["type"] not in ACCEPTED_TYPES:
            problems.append(FieldProblem(f"{where}.type", f"{msg['type']} is not accepted here"))
    if problems:
        raise ValidationError(problems)


def _same_or_refuse(old: InboundRecord, msg: dict[str, Any], index: int) -> None:
    if old.payload_sha256 != msg["payload_sha256"]:
        raise MessageIdReused(f"$.messages[{index}].message_id {msg['message_id']} was already used for other content")


def _open_all(messages: list[tuple[int, dict[str, Any]]], keys: KeyDirectory) -> list[Opened]:
    return [_open(i, msg, keys) for i, msg in messages]


def _parse_and_open(body: bytes, partner: Partner, config: Config, keys: KeyDirectory
                    ) -> tuple[list[dict[str, Any]], list[Opened | GatewayError]]:
    """Parse and check the envelope, then open every message, keeping each one's refusal for later:
    whether it matters depends on whether the message is a resend, which the store says afterwards."""
    messages = _parse_envelope(body)
    _check_batch(messages, partner, config)
    attempts: list[Opened | GatewayError] = []
    for i, msg in enumerate(messages):
        try:
            attempts.append(_open(i, msg, keys))
        except GatewayError as exc:
            attempts.append(exc)
    return messages, attempts


def _opened_or_raise(attempt: Opened | GatewayError) -> Opened:
    if isinstance(attempt, GatewayError):
        raise attempt
    return attempt


def _open(index: int, msg: dict[str, Any], keys: KeyDirectory) -> Opened:
    where = f"$.messages[{index}]"
    try:
        payload = base64.b64decode(msg["payload"], validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError([FieldProblem(f"{where}.payload", "is not valid base64")]) from None
    if payload_digest(payload) != msg["payload_sha256"]:
        raise DigestMismatch(f"{where}.payload does not match payload_sha256", code="payload_digest_mismatch")
    for sig in msg["signatures"]:
        verify_detached(payload, sig["jws"], keys, kid=sig["kid"])
    if msg["type"] in LIFECYCLE_TYPES:
        return Opened(index, msg, [], {}, notice=open_notice(msg, payload, where))
    try:
        decoded = decode_validated(msg["format"], payload, where=f"{where}.payload")
    except DecodeError as exc:
        raise DecodeError(exc.message, path=f"{where}.payload") from None
    return Opened(index, msg, [case for case, _ in decoded], {str(case.case_id): doc for case, doc in decoded})

