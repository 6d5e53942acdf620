"""Retractions and corrections in the SQLite store: applied in the intake's transaction, screened at send time.

A change is checked against what it was planned from (the case document's digest, and that each message it
cancels is still unsent and unclaimed) and raises ``LifecycleRace`` otherwise, so a plan never acts on a state
that has moved. At send time, ``screen`` keeps a notice about retracted items from going out and holds a
retraction or correction back while an earlier message about the case to that partner is still under way.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

import orjson

from hotline_gateway.core.errors import LifecycleRace
from hotline_gateway.core.lifecycle import retracted_items
from hotline_gateway.store.documents import doc_digest
from hotline_gateway.store.lifecycle_rules import NOTHING_REACHED, UNSENT, WITHDRAWN, cancel_reason
from hotline_gateway.store.records import (
    AuditEntry,
    ChangeOutcome,
    Delivery,
    DeliveryState,
    InboundRecord,
    LifecycleChange,
    LifecycleRecord,
)
from hotline_gateway.store.sqlite.base import SqliteBase
from hotline_gateway.store.sqlite.rows import DELIVERY_COLUMNS, FROM_DELIVERIES, delivery_row, insert_deliveries
from hotline_gateway.store.sqlite.writer import Writer


def apply_change(w: Writer, change: LifecycleChange, audit: list[AuditEntry], rec: InboundRecord | None
                 ) -> ChangeOutcome:
    c = w.conn
    row = c.execute("SELECT doc FROM cases WHERE case_id=?", (change.case_id,)).fetchone()
    if row is None or doc_digest(bytes(row[0])) != change.based_on:
        raise LifecycleRace(f"case {change.case_id} changed while its {change.kind} was being prepared")
    now = time.time()
    c.execute("UPDATE cases SET doc=?, updated_at=? WHERE case_id=?", (change.doc, now, change.case_id))
    c.execute("INSERT INTO lifecycle(notice_id, case_id, kind, origin, reason, notice, recorded_at, message_id)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (change.notice_id, change.case_id, change.kind, change.origin,
                                                   change.reason, change.notice, now,
                                                   rec.message_id if rec else None))
    entries = list(change.audit)
    if entries:
        entries[0].doc_sha256 = doc_digest(change.doc)
    queued: list[str] = []
    cancelled: list[tuple[str, str]] = []
    reason = cancel_reason(change.kind)
    for plan in change.plans:
        for mid in plan.cancel:
            state = c.execute("SELECT state, payload_sha256 FROM deliveries WHERE message_id=?", (mid,)).fetchone()
            if state is None or state[0] not in UNSENT:
                raise LifecycleRace(f"message {mid} to {plan.partner} left the queue while the {change.kind} "
                                    "was being prepared")
            c.execute("UPDATE deliveries SET state='cancelled', last_error=? WHERE message_id=?", (reason, mid))
            entries.append(AuditEntry("message.cancelled", message_id=mid, case_id=change.case_id,
                                      partner=plan.partner, payload_sha256=state[1], detail=reason))
            cancelled.append((plan.partner, mid))
        new = [d for d in (plan.message, plan.replacement) if d is not None]
        insert_deliveries(c, new)
        if plan.message is not None:
            queued.append(plan.partner)
    # the messages' own "message.queued" entries follow the cancellations they replace
    queued_entries = [e for e in entries if e.kind == "message.queued"]
    audit += [e for e in entries if e.kind != "message.queued"] + queued_entries
    return ChangeOutcome(change.notice_id, queued, cancelled)


class LifecycleOps(SqliteBase):

    async def lifecycle_records(self, case_id: str) -> list[LifecycleRecord]:
        def q(c: sqlite3.Connection) -> list[LifecycleRecord]:
            rows = c.execute("SELECT notice_id, case_id, kind, origin, reason, notice, recorded_at, message_id"
                             " FROM lifecycle WHERE case_id=? ORDER BY recorded_at", (case_id,))
            return [LifecycleRecord(r[0], r[1], r[2], r[3], r[4], orjson.loads(r[5]), r[6], r[7]) for r in rows]

        return await self._read(q)

    async def lifecycle_unacknowledged(self, created_before: float) -> list[Delivery]:
        def q(c: sqlite3.Connection) -> list[Delivery]:
            rows = c.execute(f"SELECT {DELIVERY_COLUMNS} FROM {FROM_DELIVERIES} WHERE d.notice_id IS NOT NULL"
                             " AND d.state IN ('queued', 'in_flight', 'dead') AND d.created_at < ?"
                             " ORDER BY d.created_at", (created_before,))
            return [delivery_row(r) for r in rows]

        return await self._read(q)

    async def screen(self, batch: Sequence[Delivery], *, hold_s: float
                     ) -> tuple[list[Delivery], list[Delivery], list[Delivery]]:
        screened = self._screened
        if batch and all(d.message_id in screened for d in batch):
            # the claim that just took these read the lifecycle table in its own transaction: nothing to do
            screened.difference_update(d.message_id for d in batch)
            return list(batch), [], []
        case_ids = sorted({d.case_id for d in batch})
        lifecycle_rows = any(d.notice_id is not None for d in batch)

        def touched(c: sqlite3.Connection) -> set[str]:
            marks = ",".join("?" * len(case_ids))
            return {r[0] for r in c.execute(f"SELECT DISTINCT case_id FROM lifecycle WHERE case_id IN ({marks})",
                                            case_ids)}

        changed = await self._read(touched) if case_ids else set()
        if not changed and not lifecycle_rows:
            return list(batch), [], []

        def op(w: Writer) -> tuple[list[Delivery], list[Delivery], list[Delivery]]:
            c = w.conn
            send: list[Delivery] = []
            held: list[Delivery] = []
            gone: list[tuple[Delivery, str]] = []
            docs: dict[str, set[str]] = {}
            for d in batch:
                if d.notice_id is None:
                    if d.case_id in changed:
                        if d.case_id not in docs:
                            row = c.execute("SELECT doc FROM cases WHERE case_id=?", (d.case_id,)).fetchone()
                            docs[d.case_id] = retracted_items(orjson.loads(row[0])) if row else set()
                        if d.item_ids and set(d.item_ids) <= docs[d.case_id]:
                            gone.append((d, WITHDRAWN))
                            continue
                    send.append(d)
                    continue
                earlier = c.execute("SELECT 1 FROM deliveries WHERE case_id=? AND partner=? AND state='queued'"
                                    " AND created_at < ? AND message_id != ? LIMIT 1",
                                    (d.case_id, d.partner, d.created_at, d.message_id)).fetchone()
                if earlier is not None:
                    held.append(d)
                    continue
                reached = c.execute(
                    "SELECT 1 FROM deliveries x WHERE x.case_id=? AND x.partner=? AND x.notice_id IS NULL AND"
                    " (x.state='delivered' OR EXISTS (SELECT 1 FROM transport_state t WHERE t.message_id=x.message_id))"
                    " LIMIT 1", (d.case_id, d.partner)).fetchone()
                if reached is None:
                    gone.append((d, NOTHING_REACHED))
                    continue
                send.append(d)
            if held:
                later = time.time() + hold_s
                c.executemany("UPDATE deliveries SET next_attempt_at=? WHERE message_id=?",
                              [(later, d.message_id) for d in held])
            if gone:
                c.executemany("UPDATE deliveries SET state=?, last_error=? WHERE message_id=?",
                              [(DeliveryState.CANCELLED.value, why, d.message_id) for d, why in gone])
                w.append_audit([AuditEntry("message.withdrawn", message_id=d.message_id, case_id=d.case_id,
                                           partner=d.partner, payload_sha256=d.payload_sha256, detail=why)
                                for d, why in gone])
            return send, held, [d for d, _ in gone]

        send, held, gone = await self._write(op)
        self._unreserve([d.message_id for d in (*held, *gone)])
        return send, held, gone
