"""Intakes, cases and deliveries built the way the pipeline builds them, with synthetic data."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from typing import Any

import orjson

from hotline_gateway.store.records import AuditEntry, Delivery, InboundRecord, Intake, StoredCase


def case_doc(case_id: str | None = None, items: int = 2, received_at: str = "2026-03-01T10:00:00Z") -> dict[str, Any]:
    case_id = case_id or str(uuid.uuid4())
    return {"case_id": case_id, "received_at": received_at, "category": "csam",
            "items": [{"item_id": f"{case_id}-i{n}", "url": f"https://files.example.org/{case_id}/{n}.jpg",
                       "legal_class": "baseline", "assigned_country": "DE"} for n in range(items)]}


def stored(doc: dict[str, Any], origin: str = "local", message_id: str | None = None) -> StoredCase:
    return StoredCase(case_id=doc["case_id"], origin=origin, received_at=doc["received_at"], category=doc["category"],
                      doc=orjson.dumps(doc, option=orjson.OPT_SORT_KEYS), routing=b"[]", message_id=message_id)


def delivery(case_id: str, partner: str = "DE-HOTLINE", *, due: float | None = None, items: list[str] | None = None,
             deadline_s: float = 3600) -> Delivery:
    payload = os.urandom(64)
    now = time.time()
    return Delivery(message_id=str(uuid.uuid4()), case_id=case_id, partner=partner, format="native",
                    transport="native-http", message_type="case.notify", payload=payload,
                    payload_sha256=hashlib.sha256(payload).hexdigest(), signature="jws." + uuid.uuid4().hex,
                    created_at=now, next_attempt_at=now if due is None else due, deadline_at=now + deadline_s,
                    item_ids=items or [])


def intake(doc: dict[str, Any] | None = None, *, partners: tuple[str, ...] = ("DE-HOTLINE",),
           inbound: InboundRecord | None = None, origin: str = "local") -> Intake:
    """One case with a delivery to each partner, and the audit entries accept writes for them."""
    doc = doc or case_doc()
    out = Intake(inbound=inbound, cases=[stored(doc, origin, inbound.message_id if inbound else None)])
    item_ids = [i["item_id"] for i in doc["items"]]
    out.deliveries = [delivery(doc["case_id"], p, items=item_ids) for p in partners]
    via = inbound.message_id if inbound else None
    out.audit = [AuditEntry("case.accepted", case_id=doc["case_id"], message_id=via),
                 *(AuditEntry("message.queued", message_id=d.message_id, case_id=d.case_id, partner=d.partner,
                              payload_sha256=d.payload_sha256, signatures=[d.signature]) for d in out.deliveries)]
    return out


def inbound(sender: str = "DE-HOTLINE", message_id: str | None = None, payload: bytes = b"x") -> InboundRecord:
    return InboundRecord(message_id or str(uuid.uuid4()), sender, "2026-03-01T10:00:00Z",
                         hashlib.sha256(payload).hexdigest(), orjson.dumps({"receipt": uuid.uuid4().hex}).decode(),
                         f"{sender}-key")
