"""Retractions and corrections from partners: read the notice, and plan the change against the case we hold.

A notice is a ``$defs/Lifecycle`` document of the kind the message type says, about the case the envelope
names, from the partner that signed it. Only the case's originator (the partner that sent it to us) may
retract or correct it; a refusal is audited before it is answered. A retraction of items already taken
back is acknowledged and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from hotline_gateway.core.errors import Conflict, FieldProblem, NotAuthorised, NotFound, ValidationError
from hotline_gateway.core.jsonstrict import loads_document
from hotline_gateway.core.lifecycle import NOTICE_FORMAT, Kind
from hotline_gateway.core.log import get_logger
from hotline_gateway.core.model import MessageType
from hotline_gateway.core.schema import lifecycle_validator
from hotline_gateway.pipeline.lifecycle import Lifecycle
from hotline_gateway.pipeline.lifecycle_plan import Request
from hotline_gateway.store.interface import Store
from hotline_gateway.store.records import AuditEntry

log = get_logger("hotline_gateway.receive")


class Inbound(Protocol):
    index: int
    msg: dict[str, Any]
    notice: dict[str, Any] | None
    request: Request | None


async def plan_inbound(lifecycle: Lifecycle, store: Store, partner: str, opened: Sequence[Inbound]) -> None:
    """A retraction or correction is read against the case we hold: only its originator (the partner
    that sent it to us) may send one; a refusal is audited before it is answered."""
    for o in opened:
        notice = o.notice
        if notice is None:
            continue
        kw: dict[str, Any] = {"reason": notice["reason"], "note": notice.get("note"), "origin": partner,
                              "notice_id": notice["notice_id"],
                              "recorded": {k: v for k, v in notice.items() if k != "case"},
                              "inbound_message_id": o.msg["message_id"]}
        try:
            if notice["kind"] == Kind.RETRACT.value:
                o.request = await lifecycle.retract_request(notice["case_id"], item_ids=notice["item_ids"], **kw)
            else:
                new = {**notice["case"], "originator": partner}  # what it says is bound to its identity
                o.request = await lifecycle.correct_request(notice["case_id"], new, **kw)
        except Conflict as exc:
            if exc.code != "already_retracted":
                raise
            o.request = None  # taken back already (by an earlier message): acknowledged, nothing to do
        except NotAuthorised as exc:
            await store.append_audit([AuditEntry("message.refused", message_id=o.msg["message_id"],
                                                 case_id=notice["case_id"], partner=partner, detail=exc.message)])
            log.warning("message.refused", message_id=o.msg["message_id"], case_id=notice["case_id"],
                        partner=partner, code=exc.code)
            raise
        except ValidationError as exc:
            raise ValidationError([FieldProblem(f"$.messages[{o.index}].payload" + p.path[1:], p.message)
                                   for p in exc.problems]) from None
        except NotFound as exc:
            raise NotFound(f"$.messages[{o.index}]: {exc.message}", code=exc.code) from None


def open_notice(msg: dict[str, Any], payload: bytes, where: str) -> dict[str, Any]:
    """A retraction or correction: a lifecycle notice (``$defs/Lifecycle``) of the kind the type says, about
    the case the envelope names, from the partner that signed it."""
    if msg["format"] != NOTICE_FORMAT:
        raise ValidationError([FieldProblem(f"{where}.format", f"a {msg['type']} travels as format {NOTICE_FORMAT}")])
    notice: dict[str, Any] = loads_document(payload)
    problems = [FieldProblem(f"{where}.payload" + p.path[1:], p.message)
                for p in lifecycle_validator().problems(notice)]
    if problems:
        raise ValidationError(problems)
    kind = Kind.RETRACT.value if msg["type"] == MessageType.RETRACT.value else Kind.CORRECT.value
    if notice["kind"] != kind:
        problems.append(FieldProblem(f"{where}.payload.kind", f"must be {kind} in a {msg['type']}"))
    if "case_id" in msg and msg["case_id"] != notice["case_id"]:
        problems.append(FieldProblem(f"{where}.payload.case_id", "is not the case the message names"))
    if notice["originator"] != msg["sender"]:
        problems.append(FieldProblem(f"{where}.payload.originator", f"is not the sender {msg['sender']}"))
    if kind == Kind.CORRECT.value and "case" not in notice:
        problems.append(FieldProblem(f"{where}.payload.case", "a correction carries the corrected case"))
    if problems:
        raise ValidationError(problems)
    return notice

