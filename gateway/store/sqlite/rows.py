"""Row shapes and shared SQL fragments of the SQLite store."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import Any

import orjson

from hotline_gateway.core.takedown import merge_actions
from hotline_gateway.store.delivery_rows import DELIVERY_COLUMNS, FROM_DELIVERIES, TABLES, delivery_row
from hotline_gateway.store.documents import doc_digest, dump_doc
from hotline_gateway.store.interface import Action
from hotline_gateway.store.records import Delivery, InboundRecord

#: how long a released claim is remembered: a due-row query that began before the release committed
#: may still see the row queued, and must not take it again
RELEASE_MEMORY_S = 60.0
#: outbox rows kept in memory between intake and their first claim (about 3 KB each)
FRESH_MAX = 2_000


def inbound_row(row: sqlite3.Row) -> InboundRecord:
    return InboundRecord(row["message_id"], row["sender"], row["received_at"], row["payload_sha256"], row["receipt"],
                         row["kid"])


def apply_actions(conn: sqlite3.Connection, case_id: str, updates: Sequence[tuple[str, Action]]
                   ) -> tuple[list[tuple[str, dict[str, Any]]] | None, str | None]:
    """Merge actions into the stored case document; (None, None) when there is no such case. Returns
    the actions added and the digest of the document as written."""
    row = conn.execute("SELECT doc FROM cases WHERE case_id=?", (case_id,)).fetchone()
    if row is None:
        return None, None
    doc = orjson.loads(row[0])
    added = merge_actions(doc, updates)
    if not added:
        return added, None
    data = dump_doc(doc)
    conn.execute("UPDATE cases SET doc=?, updated_at=? WHERE case_id=?", (data, time.time(), case_id))
    return added, doc_digest(data)


def insert_deliveries(c: sqlite3.Connection, deliveries: Sequence[Delivery]) -> None:
    """Outbox rows and their payloads (sealed when they carry reporter data)."""
    c.executemany("INSERT INTO payloads(message_id, payload, signature, sealed) VALUES (?, ?, ?, ?)",
                  [(d.message_id, d.sealed_payload if d.sealed_payload is not None else d.payload, d.signature,
                    int(d.sealed_payload is not None)) for d in deliveries])
    c.executemany(
        "INSERT INTO deliveries(message_id, case_id, partner, format, transport, message_type, payload_sha256, state,"
        " attempts, created_at, next_attempt_at, deadline_at, last_error, receipt, delivered_at, item_ids,"
        " carries_reporter, notice_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(d.message_id, d.case_id, d.partner, d.format, d.transport, d.message_type, d.payload_sha256,
          d.state.value, d.attempts, d.created_at, d.next_attempt_at, d.deadline_at, d.last_error, d.receipt,
          d.delivered_at, orjson.dumps(d.item_ids), int(d.carries_reporter), d.notice_id) for d in deliveries])


__all__ = ["DELIVERY_COLUMNS", "FROM_DELIVERIES", "TABLES", "apply_actions", "delivery_row", "inbound_row",
           "insert_deliveries"]
