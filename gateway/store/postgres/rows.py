"""Row shapes and shared SQL of the PostgreSQL store."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import psycopg
from psycopg.rows import DictRow

from hotline_gateway.core.takedown import merge_actions
from hotline_gateway.store.delivery_rows import DELIVERY_COLUMNS, FROM_DELIVERIES, TABLES, delivery_row
from hotline_gateway.store.documents import doc_digest, dump_doc
from hotline_gateway.store.interface import Action
from hotline_gateway.store.records import Delivery, InboundRecord

INBOUND_COLUMNS = "message_id, sender, kid, received_at, payload_sha256, receipt"


def inbound_row(row: Mapping[str, Any]) -> InboundRecord:
    return InboundRecord(row["message_id"], row["sender"], row["received_at"], row["payload_sha256"], row["receipt"],
                         row["kid"])


async def apply_actions(conn: psycopg.AsyncConnection[DictRow], case_id: str, updates: Sequence[tuple[str, Action]]
                        ) -> tuple[list[tuple[str, dict[str, Any]]] | None, str | None]:
    """Merge actions into the stored case document, the row locked meanwhile (two nodes recording
    actions on one case never lose one); (None, None) when there is no such case. Returns the actions
    added and the digest of the document as written."""
    row = await (await conn.execute("SELECT doc FROM cases WHERE case_id = %s FOR UPDATE", (case_id,))).fetchone()
    if row is None:
        return None, None
    doc = orjson.loads(row["doc"])
    added = merge_actions(doc, updates)
    if not added:
        return added, None
    data = dump_doc(doc)
    await conn.execute("UPDATE cases SET doc = %s, updated_at = %s WHERE case_id = %s", (data, time.time(), case_id))
    return added, doc_digest(data)


async def insert_deliveries(conn: psycopg.AsyncConnection[DictRow], deliveries: Sequence[Delivery]) -> None:
    """Outbox rows and their payloads (sealed when they carry reporter data); a TAXII row waits to be indexed."""
    if not deliveries:
        return
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO payloads (message_id, payload, signature, sealed) VALUES (%s, %s, %s, %s)",
            [(d.message_id, d.sealed_payload if d.sealed_payload is not None else d.payload, d.signature,
              d.sealed_payload is not None) for d in deliveries])
        await cur.executemany(
            "INSERT INTO deliveries (message_id, case_id, partner, format, transport, message_type,"
            " payload_sha256, state, attempts, created_at, next_attempt_at, deadline_at, last_error, receipt,"
            " delivered_at, item_ids, carries_reporter, taxii_indexed, notice_id)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(d.message_id, d.case_id, d.partner, d.format, d.transport, d.message_type, d.payload_sha256,
              d.state.value, d.attempts, d.created_at, d.next_attempt_at, d.deadline_at, d.last_error,
              d.receipt, d.delivered_at, orjson.dumps(d.item_ids).decode(), d.carries_reporter,
              d.transport != "taxii", d.notice_id) for d in deliveries])


__all__ = ["DELIVERY_COLUMNS", "FROM_DELIVERIES", "TABLES", "apply_actions", "delivery_row", "inbound_row",
           "insert_deliveries"]
