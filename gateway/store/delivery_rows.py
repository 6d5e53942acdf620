"""The outbox row as both stores read it: the same columns and the same ``Delivery`` built from them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from hotline_gateway.store.records import Delivery, DeliveryState

DELIVERY_COLUMNS = (
    "d.message_id, d.case_id, d.partner, d.format, d.transport, d.message_type, p.payload, d.payload_sha256,"
    " p.signature, d.state, d.attempts, d.created_at, d.next_attempt_at, d.deadline_at, d.last_error, d.receipt,"
    " d.delivered_at, d.item_ids, d.carries_reporter, p.sealed, d.notice_id"
)
FROM_DELIVERIES = "deliveries d JOIN payloads p ON p.message_id = d.message_id"
#: tables whose rows may be counted by name
TABLES = frozenset({"inbound", "cases", "deliveries", "audit"})


def delivery_row(row: Mapping[str, Any]) -> Delivery:
    """A delivery as stored; a sealed payload comes back in ``sealed_payload`` (``payload`` empty) until the
    store opens it with the case's key."""
    stored = bytes(row["payload"])
    sealed = bool(row["sealed"])
    return Delivery(
        message_id=row["message_id"], case_id=row["case_id"], partner=row["partner"], format=row["format"],
        transport=row["transport"], message_type=row["message_type"], payload=b"" if sealed else stored,
        payload_sha256=row["payload_sha256"], signature=row["signature"], state=DeliveryState(row["state"]),
        attempts=row["attempts"], created_at=row["created_at"], next_attempt_at=row["next_attempt_at"],
        deadline_at=row["deadline_at"], last_error=row["last_error"], receipt=row["receipt"],
        delivered_at=row["delivered_at"], item_ids=orjson.loads(row["item_ids"]),
        carries_reporter=bool(row["carries_reporter"]), sealed_payload=stored if sealed else None,
        notice_id=row["notice_id"],
    )
