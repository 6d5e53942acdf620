"""Plan a retraction or correction: for every partner that was sent the case (or was about to be), what to
cancel, what to send in its own terms, and what to queue again. CPU only (encoding, signing); the store
commits the plan whole, or refuses it when the state it was planned from has moved (``LifecycleRace``).

Per partner: messages still unsent (queued, dead-lettered) are cancelled; if something may have reached
the partner (delivered, being sent, or a multi-step filing already begun there), it gets the retraction
or correction; whatever the cancelled messages carried that still stands (items not retracted, the
corrected version) is queued again as a fresh notice, so nothing accepted is lost.

In the partner's terms: a format that can state a retraction itself gets the case re-encoded with the
change applied (STIX objects revoked, IODEF status, ICCAM assessment and action); a partner gateway
gets the lifecycle notice (``$defs/Lifecycle``) with, for a correction, the corrected case; everyone
else gets the notice alone, which their transport turns into what they understand (a withdrawal e-mail
to an abuse desk, a retract call to a reporting API).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
import orjson

from hotline_gateway.adapters import registry
from hotline_gateway.config import Config, Partner
from hotline_gateway.core.errors import EncodeError
from hotline_gateway.core.lifecycle import NOTICE_FORMAT, Kind
from hotline_gateway.core.model import Case, MessageType, Reporter, ReporterKind, dump_case, load_case
from hotline_gateway.core.schema import lifecycle_validator
from hotline_gateway.core.timefmt import format_timestamp
from hotline_gateway.crypto.keys import SigningKey
from hotline_gateway.pipeline.accept import NOTICE_KINDS
from hotline_gateway.pipeline.encode import encode_for, project
from hotline_gateway.pipeline.sign import payload_digest, sign_payload
from hotline_gateway.store.records import AuditEntry, Delivery, DeliveryState, LifecycleChange, PartnerPlan

UNSENT = frozenset({DeliveryState.QUEUED, DeliveryState.DEAD})
MESSAGE_TYPE = {Kind.RETRACT.value: MessageType.RETRACT.value, Kind.CORRECT.value: MessageType.CORRECT.value}


@dataclass(slots=True)
class Request:
    """A retraction or correction to plan, and the state it is planned from."""

    kind: str
    case_id: str
    origin: str
    reason: str
    note: str | None
    at: datetime
    notice_id: str
    #: the items taken back (retract) or changed (correct)
    item_ids: list[str]
    #: the stored document as stored (reporter withheld), before and after
    stored: dict[str, Any]
    after: dict[str, Any]
    #: the case as our case system sees it after the change (reporter opened, when we hold it)
    full_after: dict[str, Any]
    deliveries: list[Delivery]
    #: messages of this case with a multi-step filing begun at the partner (transport state kept)
    begun: set[str] = field(default_factory=set)
    changes: list[dict[str, Any]] = field(default_factory=list)
    #: the notice as recorded (for a partner's notice: as it sent it)
    recorded: dict[str, Any] | None = None
    inbound_message_id: str | None = None


def dumps(doc: Any) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def plan(config: Config, key: SigningKey, req: Request) -> LifecycleChange:
    now = time.time()
    full = load_case(req.full_after)
    withheld = msgspec.structs.replace(full, reporter=Reporter(ReporterKind.WITHHELD)) \
        if full.reporter.identifies_someone else full
    recorded = req.recorded or notice_doc(config.id, req, req.item_ids, req.changes, [])
    change = LifecycleChange(
        notice_id=req.notice_id, case_id=req.case_id, kind=req.kind, origin=req.origin, reason=req.reason,
        notice=dumps(recorded), doc=dumps(req.after), based_on=payload_digest(dumps(req.stored)),
    )
    verb = "retracted" if req.kind == Kind.RETRACT.value else "corrected"
    what = f"{len(req.item_ids)} item(s)" if req.kind == Kind.RETRACT.value else \
        f"{len(req.changes)} change(s): " + ", ".join(sorted({c["field"] for c in req.changes}))[:300]
    change.audit.append(AuditEntry(f"case.{verb}", message_id=req.inbound_message_id, case_id=req.case_id,
                                   partner=None if req.origin == "local" else req.origin,
                                   detail=f"{req.reason}; {what}; notice {req.notice_id}"))
    wanted = set(req.item_ids)
    standing = {i["item_id"] for i in req.after["items"]}
    rows: dict[str, list[Delivery]] = {}
    for d in req.deliveries:
        if d.state is DeliveryState.CANCELLED or d.message_type == MessageType.RETRACT.value:
            continue
        if req.kind == Kind.RETRACT.value and not wanted & set(d.item_ids):
            continue
        rows.setdefault(d.partner, []).append(d)
    for partner_id, touched in sorted(rows.items()):
        partner = config.partners.get(partner_id)
        if partner is None:
            continue  # no longer configured: nothing can reach it (the case view still lists what it was sent)
        cancel = [d for d in touched if d.state in UNSENT]
        reached = [d for d in touched if d.state not in UNSENT or d.message_id in req.begun]
        reached_items = {i for d in reached for i in d.item_ids}
        cancelled_items = {i for d in cancel for i in d.item_ids} - reached_items
        if req.kind == Kind.RETRACT.value:
            message_items = sorted(reached_items & wanted)
            again = sorted((cancelled_items - wanted) & standing)
        else:
            message_items = sorted(reached_items & standing)
            again = sorted(cancelled_items & standing)
        p = PartnerPlan(partner_id, message_items or again, cancel=[d.message_id for d in cancel])
        if reached and message_items:
            p.message = _message(config, key, partner, req, withheld, message_items, reached, now)
        if again:
            p.replacement = _replacement(config, key, partner, req, full, again, now)
        for queued in (p.message, p.replacement):
            if queued is not None:
                change.audit.append(AuditEntry("message.queued", message_id=queued.message_id, case_id=req.case_id,
                                               partner=partner_id, payload_sha256=queued.payload_sha256,
                                               signatures=[queued.signature],
                                               detail=f"{queued.message_type} {queued.format}; "
                                                      f"notice {req.notice_id}"))
        if p.message is not None or p.cancel or p.replacement is not None:
            change.plans.append(p)
    return change


def notice_doc(us: str, req: Request, item_ids: list[str], changes: list[dict[str, Any]],
               references: list[dict[str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = {"notice_id": req.notice_id, "kind": req.kind, "case_id": req.case_id, "originator": us,
                           "at": format_timestamp(req.at), "reason": req.reason, "item_ids": item_ids}
    if req.note:
        doc["note"] = req.note
    if changes:
        doc["changes"] = changes
    if references:
        doc["references"] = references
    return doc


def report_ids(d: Delivery) -> list[str]:
    """The ids the partner knows our earlier message's reports by: the id its API gave back, or for X-ARF
    (whose report_id is our item id) the items."""
    if d.receipt:
        try:
            receipt = orjson.loads(d.receipt)
        except orjson.JSONDecodeError:
            receipt = {}
        if isinstance(receipt, dict) and isinstance(receipt.get("report_id"), str | int):
            return [str(receipt["report_id"])]
    return list(d.item_ids) if d.format == "xarf" else []


def states_lifecycle(fmt: str) -> bool:
    """Whether the format says a retraction or correction in its own terms (the adapter declares it)."""
    return bool(getattr(registry.get(fmt), "states_lifecycle", False))


def _message(config: Config, key: SigningKey, partner: Partner, req: Request, case: Case, item_ids: list[str],
             reached: list[Delivery], now: float) -> Delivery:
    mine = set(item_ids)
    changes = [c for c in req.changes if "item_id" not in c or c["item_id"] in mine]
    references = [{"message_id": d.message_id, **({"report_ids": ids} if (ids := report_ids(d)) else {})}
                  for d in reached]
    notice = notice_doc(config.id, req, item_ids, changes, references)
    sent_items = sorted({i for d in reached for i in d.item_ids} & {i["item_id"] for i in req.after["items"]})
    fmt = NOTICE_FORMAT
    payload: bytes
    if partner.format == "native":
        if req.kind == Kind.CORRECT.value:
            notice["case"] = _projected(config, partner, case, sent_items, req.at)
        payload = dumps(notice)
    elif states_lifecycle(partner.format) and partner.kind not in NOTICE_KINDS:
        try:
            payload = encode_for(partner, project(case, partner, sent_items, sender=config.id, at=req.at))
            fmt = partner.format
        except EncodeError:
            payload = dumps(notice)  # the format cannot carry what remains: the notice says it plainly
    else:
        payload = dumps(notice)
    if fmt == NOTICE_FORMAT:
        lifecycle_validator().validate(notice)
    return _delivery(config, key, partner, req, payload, fmt, MESSAGE_TYPE[req.kind], item_ids, now,
                     notice_id=req.notice_id)


def _projected(config: Config, partner: Partner, case: Case, item_ids: list[str], at: datetime) -> dict[str, Any]:
    return dump_case(project(case, partner, item_ids, sender=config.id, at=at))


def _replacement(config: Config, key: SigningKey, partner: Partner, req: Request, case: Case, item_ids: list[str],
                 now: float) -> Delivery | None:
    sent = project(case, partner, item_ids, sender=config.id, at=req.at)
    try:
        payload = encode_for(partner, sent)
    except EncodeError:
        return None
    d = _delivery(config, key, partner, req, payload, partner.format, MessageType.NOTIFY.value, item_ids, now)
    # reporter data is sealed by the store with the case's own key (it holds the vault)
    d.carries_reporter = sent.reporter.identifies_someone
    return d


def _delivery(config: Config, key: SigningKey, partner: Partner, req: Request, payload: bytes, fmt: str,
              message_type: str, item_ids: list[str], now: float, *, notice_id: str | None = None) -> Delivery:
    return Delivery(
        message_id=str(uuid.uuid4()), case_id=req.case_id, partner=partner.id, format=fmt,
        transport=partner.transport, message_type=message_type, payload=payload,
        payload_sha256=payload_digest(payload), signature=sign_payload(payload, key), created_at=now,
        next_attempt_at=now, deadline_at=now + config.delivery.deadline_s, item_ids=item_ids, notice_id=notice_id,
    )
