"""Retractions and corrections in the PostgreSQL store: applied in the intake's transaction, screened at
send time, with the same contract as the SQLite store (``store/sqlite/lifecycle.py``).

Claims are rows here, so what a plan cancels is checked under row locks: a message a node claimed since the
plan was made is ``in_flight`` and the commit raises ``LifecycleRace`` (the plan is made again); one a node
claims after the lock is taken waits (``FOR UPDATE SKIP LOCKED`` skips it) and then finds it cancelled.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import orjson

from hotline_gateway.core.errors import LifecycleRace
from hotline_gateway.core.lifecycle import retracted_items
from hotline_gateway.store.documents import doc_digest
from hotline_gateway.store.lifecycle_rules import NOTHING_REACHED, UNSENT, WITHDRAWN, cancel_reason
from hotline_gateway.store.postgres.base import Conn, PgBase
from hotline_gateway.store.postgres.rows import DELIVERY_COLUMNS, FROM_DELIVERIES, delivery_row, insert_deliveries
from hotline_gateway.store.records import (
    AuditEntry,
    ChangeOutcome,
    Delivery,
    InboundRecord,
    LifecycleChange,
    LifecycleRecord,
)

HELD = "message_id = ANY(%(ids)s) AND state = 'in_flight' AND claimed_by = %(node)s"


async def apply_change(conn: Conn, change: LifecycleChange, rec: InboundRecord | None) -> tuple[ChangeOutcome,
                                                                                                  list[AuditEntry]]:
    row = await (await conn.execute("SELECT doc FROM cases WHERE case_id = %s FOR UPDATE",
                                    (change.case_id,))).fetchone()
    if row is None or doc_digest(bytes(row["doc"])) != change.based_on:
        raise LifecycleRace(f"case {change.case_id} changed while its {change.kind} was being prepared")
    now = time.time()
    await conn.execute("UPDATE cases SET doc = %s, updated_at = %s WHERE case_id = %s",
                       (change.doc, now, change.case_id))
    await conn.execute("INSERT INTO lifecycle (notice_id, case_id, kind, origin, reason, notice, recorded_at,"
                       " message_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                       (change.notice_id, change.case_id, change.kind, change.origin, change.reason, change.notice,
                        now, rec.message_id if rec else None))
    entries = list(change.audit)
    if entries:
        entries[0].doc_sha256 = doc_digest(change.doc)
    queued: list[str] = []
    cancelled: list[tuple[str, str]] = []
    reason = cancel_reason(change.kind)
    wanted = sorted(mid for plan in change.plans for mid in plan.cancel)
    states = {r["message_id"]: r for r in await (await conn.execute(
        "SELECT message_id, state, payload_sha256 FROM deliveries WHERE message_id = ANY(%s) ORDER BY message_id"
        " FOR UPDATE", (wanted,))).fetchall()} if wanted else {}
    for plan in change.plans:
        for mid in plan.cancel:
            state = states.get(mid)
            if state is None or state["state"] not in UNSENT:
                raise LifecycleRace(f"message {mid} to {plan.partner} left the queue while the {change.kind} "
                                    "was being prepared")
            entries.append(AuditEntry("message.cancelled", message_id=mid, case_id=change.case_id,
                                      partner=plan.partner, payload_sha256=state["payload_sha256"], detail=reason))
            cancelled.append((plan.partner, mid))
        await insert_deliveries(conn, [d for d in (plan.message, plan.replacement) if d is not None])
        if plan.message is not None:
            queued.append(plan.partner)
    if cancelled:
        await conn.execute("UPDATE deliveries SET state = 'cancelled', last_error = %s WHERE message_id = ANY(%s)",
                           (reason, [mid for _, mid in cancelled]))
    # the messages' own "message.queued" entries follow the cancellations they replace
    ordered = [e for e in entries if e.kind != "message.queued"] + [e for e in entries if e.kind == "message.queued"]
    return ChangeOutcome(change.notice_id, queued, cancelled), ordered


class LifecycleOps(PgBase):

    async def lifecycle_records(self, case_id: str) -> list[LifecycleRecord]:
        rows = await self._rows("SELECT notice_id, case_id, kind, origin, reason, notice, recorded_at, message_id"
                                " FROM lifecycle WHERE case_id = %s ORDER BY recorded_at, notice_id", (case_id,))
        return [LifecycleRecord(r["notice_id"], r["case_id"], r["kind"], r["origin"], r["reason"],
                                orjson.loads(r["notice"]), r["recorded_at"], r["message_id"]) for r in rows]

    async def lifecycle_unacknowledged(self, created_before: float) -> list[Delivery]:
        rows = await self._rows(f"SELECT {DELIVERY_COLUMNS} FROM {FROM_DELIVERIES} WHERE d.notice_id IS NOT NULL"
                                " AND d.state IN ('queued', 'in_flight', 'dead') AND d.created_at < %s"
                                " ORDER BY d.created_at, d.row_id", (created_before,))
        return [delivery_row(r) for r in rows]

    async def screen(self, batch: Sequence[Delivery], *, hold_s: float
                     ) -> tuple[list[Delivery], list[Delivery], list[Delivery]]:
        case_ids = sorted({d.case_id for d in batch})
        lifecycle_rows = any(d.notice_id is not None for d in batch)
        changed: set[str] = set()
        if case_ids:
            changed = {r["case_id"] for r in await self._rows(
                "SELECT DISTINCT case_id FROM lifecycle WHERE case_id = ANY(%s)", (case_ids,))}
        if not changed and not lifecycle_rows:
            return list(batch), [], []

        async def op(conn: Conn) -> tuple[tuple[list[Delivery], list[Delivery], list[Delivery]], list[AuditEntry]]:
            send: list[Delivery] = []
            held: list[Delivery] = []
            gone: list[tuple[Delivery, str]] = []
            docs: dict[str, set[str]] = {}
            for d in batch:
                if d.notice_id is None:
                    if d.case_id in changed:
                        if d.case_id not in docs:
                            row = await (await conn.execute("SELECT doc FROM cases WHERE case_id = %s",
                                                            (d.case_id,))).fetchone()
                            docs[d.case_id] = retracted_items(orjson.loads(row["doc"])) if row else set()
                        if d.item_ids and set(d.item_ids) <= docs[d.case_id]:
                            gone.append((d, WITHDRAWN))
                            continue
                    send.append(d)
                    continue
                # an earlier message about the case to this partner still queued or being sent (by any node)
                earlier = await (await conn.execute(
                    "SELECT 1 FROM deliveries WHERE case_id = %s AND partner = %s AND state IN ('queued', 'in_flight')"
                    " AND created_at < %s AND message_id != %s LIMIT 1",
                    (d.case_id, d.partner, d.created_at, d.message_id))).fetchone()
                if earlier is not None:
                    held.append(d)
                    continue
                reached = await (await conn.execute(
                    "SELECT 1 FROM deliveries x WHERE x.case_id = %s AND x.partner = %s AND x.notice_id IS NULL AND"
                    " (x.state = 'delivered' OR EXISTS (SELECT 1 FROM transport_state t"
                    " WHERE t.message_id = x.message_id)) LIMIT 1", (d.case_id, d.partner))).fetchone()
                if reached is None:
                    gone.append((d, NOTHING_REACHED))
                    continue
                send.append(d)
            mine = {str(r["message_id"]) for r in await (await conn.execute(
                f"SELECT message_id FROM deliveries WHERE {HELD} ORDER BY message_id FOR UPDATE",
                {"ids": [d.message_id for d in (*held, *(g for g, _ in gone))], "node": self.node})).fetchall()}
            held = [d for d in held if d.message_id in mine]
            gone = [(d, why) for d, why in gone if d.message_id in mine]
            if held:  # back in the queue for a moment, the claim's attempt given back
                later = time.time() + hold_s
                await conn.execute("UPDATE deliveries SET state = 'queued', next_attempt_at = %s, claimed_by = NULL,"
                                   " lease_until = NULL, attempts = GREATEST(attempts - 1, 0)"
                                   " WHERE message_id = ANY(%s)", (later, [d.message_id for d in held]))
            if gone:
                async with conn.cursor() as cur:
                    await cur.executemany("UPDATE deliveries SET state = 'cancelled', last_error = %s,"
                                          " claimed_by = NULL, lease_until = NULL WHERE message_id = %s",
                                          [(why, d.message_id) for d, why in gone])
            audit = [AuditEntry("message.withdrawn", message_id=d.message_id, case_id=d.case_id, partner=d.partner,
                                payload_sha256=d.payload_sha256, detail=why) for d, why in gone]
            return (send, held, [d for d, _ in gone]), audit

        return await self._write(op)
