"""The outbox: claims, outcomes, dead letters, multi-step transport state, partners' circuits."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import orjson

from hotline_gateway.core.takedown import removed_items
from hotline_gateway.crypto.sealing import Unsealable, unseal
from hotline_gateway.store.interface import Action
from hotline_gateway.store.records import AuditEntry, Delivery, DeliveryState, PartnerStatus
from hotline_gateway.store.sqlite.base import SqliteBase
from hotline_gateway.store.sqlite.rows import (
    DELIVERY_COLUMNS,
    FROM_DELIVERIES,
    apply_actions,
    delivery_row,
)
from hotline_gateway.store.sqlite.writer import Writer


class OutboxOps(SqliteBase):

    async def claim_due(self, partner: str, now: float, limit: int) -> list[Delivery]:
        """Claimed rows are still ``queued`` on disk (a claim costs no write), so the due rows are walked
        by id first, skipping the claimed ones, and only the ``limit`` rows taken are read whole: reading
        every row in flight with its payload on each claim cost more than the rest of a lane's work."""
        self._forget_released()
        started = time.monotonic()
        held, released, fresh = self._claimed, self._released, self._fresh
        touched: set[str] = set()

        def q(c: sqlite3.Connection) -> list[Delivery]:
            ids: list[str] = []
            due = c.execute("SELECT message_id FROM deliveries WHERE partner=? AND state='queued'"
                            " AND next_attempt_at<=? ORDER BY next_attempt_at", (partner, now))
            for (mid,) in due:  # stepped lazily: the walk stops once enough unclaimed rows are found
                if mid not in held and released.get(mid, -1.0) < started:
                    ids.append(mid)
                    if len(ids) == limit:
                        break
            due.close()
            # rows queued by this process's intake come from memory: the walk above has just seen them
            # still queued and due on disk, and nothing but a claim changes a queued row's bytes
            rows = {mid: d for mid in ids if (d := fresh.get(mid)) is not None}
            unread = [mid for mid in ids if mid not in rows]
            if unread:
                marks = ",".join("?" * len(unread))
                rows.update((r["message_id"], delivery_row(r)) for r in c.execute(
                    f"SELECT {DELIVERY_COLUMNS} FROM {FROM_DELIVERIES} WHERE d.message_id IN ({marks})", unread))
            # what ``screen`` asks next, answered in this read: the cases no retraction or correction touched
            case_ids = sorted({d.case_id for d in rows.values()})
            if case_ids:
                marks = ",".join("?" * len(case_ids))
                touched.update(r[0] for r in c.execute(
                    f"SELECT DISTINCT case_id FROM lifecycle WHERE case_id IN ({marks})", case_ids))
            return [rows[mid] for mid in ids if mid in rows]

        claimed: list[Delivery] = []
        rows = await self._read(q)
        sealed = [d for d in rows if d.sealed_payload is not None]
        if sealed:
            rows = await self._open_sealed(rows, sealed)
        for d in rows:
            if d.message_id in self._claimed or self._released.get(d.message_id, -1.0) >= started:
                continue
            if fresh.pop(d.message_id, None) is d:
                d = replace(d)  # the intake's object may still be read by whoever queued it
            self._claimed[d.message_id] = partner
            if d.case_id not in touched and d.notice_id is None:
                self._screened.add(d.message_id)
            d.attempts += 1
            d.state = DeliveryState.IN_FLIGHT
            claimed.append(d)
            if len(claimed) == limit:
                break
        return claimed

    async def _open_sealed(self, rows: list[Delivery], sealed: list[Delivery]) -> list[Delivery]:
        """Open sealed payloads with their cases' keys; a message whose key was erased can never be sent
        and is cancelled here, with the reason."""
        keys = await asyncio.to_thread(self.vault.get, sorted({d.case_id for d in sealed}))
        gone: list[Delivery] = []
        for d in sealed:
            assert d.sealed_payload is not None
            try:
                d.payload = unseal(keys.get(d.case_id), d.sealed_payload, d.case_id)
            except Unsealable:
                gone.append(d)
        if gone:
            reason = "cancelled: the reporter data it carries was erased before it could be sent"

            def op(w: Writer) -> None:
                w.conn.executemany("UPDATE deliveries SET state='cancelled', last_error=? WHERE message_id=?",
                                   [(reason, d.message_id) for d in gone])
                w.append_audit([AuditEntry("message.cancelled", message_id=d.message_id, case_id=d.case_id,
                                           partner=d.partner, payload_sha256=d.payload_sha256, detail=reason)
                                for d in gone])

            await self._write(op)
        dropped = {d.message_id for d in gone}
        return [d for d in rows if d.message_id not in dropped]

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        self._unclaim([d.message_id for d in deliveries])

    async def next_due(self, partner: str) -> float | None:
        """When the next row not already in flight falls due. Claimed rows stay ``queued`` on disk, so the
        earliest queued row was, while another lane had a batch out, one already claimed: an idle lane
        then looked again every few milliseconds, each time a claim that found nothing and this read."""
        held = self._claimed

        def q(c: sqlite3.Connection) -> float | None:
            rows = c.execute("SELECT message_id, next_attempt_at FROM deliveries WHERE partner=? AND state='queued'"
                             " ORDER BY next_attempt_at", (partner,))
            try:
                for mid, at in rows:  # stepped lazily, past the rows in flight (a few batches at most)
                    if mid not in held:
                        return float(at)
                return None
            finally:
                rows.close()

        return await self._read(q)

    async def mark_delivered(self, results: Sequence[tuple[Delivery, str]], audit: Sequence[AuditEntry],
                             notices: Sequence[tuple[Delivery, Action]] = ()) -> None:
        def op(w: Writer) -> None:
            now = time.time()
            w.conn.executemany(
                "UPDATE deliveries SET state='delivered', receipt=?, delivered_at=?, last_error=NULL, attempts=?"
                " WHERE message_id=?", [(receipt, now, d.attempts, d.message_id) for d, receipt in results])
            entries = list(audit)
            for d, action in notices:
                added, digest = apply_actions(w.conn, d.case_id, [(item_id, action) for item_id in d.item_ids])
                if added:
                    entries.append(AuditEntry("case.updated", message_id=d.message_id, case_id=d.case_id,
                                              partner=d.partner, detail=f"{action['type']} recorded",
                                              doc_sha256=digest))
            w.append_audit(entries)

        try:
            await self._write(op)
        finally:
            self._unclaim([d.message_id for d, _ in results])

    async def mark_failed(self, deliveries: Sequence[Delivery], error: str, *, retry_at: float | None,
                          audit: Sequence[AuditEntry]) -> None:
        def op(w: Writer) -> None:
            state = DeliveryState.QUEUED if retry_at is not None else DeliveryState.DEAD
            w.conn.executemany(
                "UPDATE deliveries SET state=?, next_attempt_at=?, last_error=?, attempts=? WHERE message_id=?",
                [(state.value, retry_at if retry_at is not None else d.next_attempt_at, error, d.attempts,
                  d.message_id) for d in deliveries])
            w.append_audit(audit)

        try:
            await self._write(op)
        finally:
            self._unclaim([d.message_id for d in deliveries])

    async def withdraw_removed(self, deliveries: Sequence[Delivery]) -> tuple[list[Delivery], list[Delivery]]:
        def op(w: Writer) -> tuple[list[Delivery], list[Delivery]]:
            keep: list[Delivery] = []
            gone: list[Delivery] = []
            cache: dict[str, set[str]] = {}
            for d in deliveries:
                if d.case_id not in cache:
                    row = w.conn.execute("SELECT doc FROM cases WHERE case_id=?", (d.case_id,)).fetchone()
                    cache[d.case_id] = removed_items(orjson.loads(row[0])) if row else set()
                (gone if d.item_ids and set(d.item_ids) <= cache[d.case_id] else keep).append(d)
            if gone:
                reason = "withdrawn: every item was reported removed before the notice went out"
                w.conn.executemany("UPDATE deliveries SET state=?, last_error=? WHERE message_id=?",
                                   [(DeliveryState.CANCELLED.value, reason, d.message_id) for d in gone])
                w.append_audit([AuditEntry("message.withdrawn", message_id=d.message_id, case_id=d.case_id,
                                           partner=d.partner, payload_sha256=d.payload_sha256, detail=reason)
                                for d in gone])
            return keep, gone

        keep, gone = await self._write(op)
        self._unclaim([d.message_id for d in gone])
        return keep, gone

    async def requeue_dead(self, partner: str | None = None, *, deadline_s: float = 24 * 3600,
                           message_id: str | None = None) -> int:
        def op(w: Writer) -> int:
            now = time.time()
            sql = ("UPDATE deliveries SET state='queued', next_attempt_at=?, deadline_at=?, attempts=0"
                   " WHERE state='dead'")
            args: list[Any] = [now, now + deadline_s]
            if partner is not None:
                sql += " AND partner=?"
                args.append(partner)
            if message_id is not None:
                sql += " AND message_id=?"
                args.append(message_id)
            count = int(w.conn.execute(sql, args).rowcount)
            w.append_audit([AuditEntry("dead_letters.requeued", partner=partner, message_id=message_id,
                                       detail=str(count))])
            return count

        return await self._write(op)

    async def requeue_delivered(self, message_ids: Sequence[str]) -> int:
        def op(w: Writer) -> int:
            cur = w.conn.executemany("UPDATE deliveries SET state='queued', next_attempt_at=0"
                                     " WHERE message_id=? AND state='delivered'", [(i,) for i in message_ids])
            w.append_audit([AuditEntry("message.requeued", message_id=i) for i in message_ids])
            return int(cur.rowcount)

        return await self._write(op)

    async def outbox_page(self, partner: str, after: tuple[float, str], limit: int) -> list[Delivery]:
        """A partner's outbox in the order rows were added, from ``(created_at, message_id)`` on (that row
        included, so a reader can resume inside it): what a pull transport (TAXII) pages through."""

        def q(c: sqlite3.Connection) -> list[Delivery]:
            rows = c.execute(
                f"SELECT {DELIVERY_COLUMNS} FROM {FROM_DELIVERIES} WHERE d.partner=? AND d.state != 'cancelled'"
                " AND (d.created_at > ? OR (d.created_at = ? AND d.message_id >= ?))"
                " ORDER BY d.created_at, d.message_id LIMIT ?", (partner, after[0], after[0], after[1], limit))
            return [delivery_row(r) for r in rows]

        return await self._read(q)

    async def deliveries(self, partner: str | None = None) -> list[Delivery]:
        def q(c: sqlite3.Connection) -> list[Delivery]:
            if partner is None:
                return [delivery_row(r) for r in c.execute(f"SELECT {DELIVERY_COLUMNS} FROM {FROM_DELIVERIES}")]
            return [delivery_row(r) for r in c.execute(
                f"SELECT {DELIVERY_COLUMNS} FROM {FROM_DELIVERIES} WHERE d.partner=?", (partner,))]

        return await self._read(q)

    async def transport_state(self, message_id: str) -> dict[str, Any] | None:
        def q(c: sqlite3.Connection) -> dict[str, Any] | None:
            row = c.execute("SELECT state FROM transport_state WHERE message_id=?", (message_id,)).fetchone()
            return None if row is None else dict(orjson.loads(row[0]))

        return await self._read(q)

    async def put_transport_state(self, message_id: str, state: dict[str, Any] | None) -> None:
        def op(w: Writer) -> None:
            if state is None:
                w.conn.execute("DELETE FROM transport_state WHERE message_id=?", (message_id,))
            else:
                w.conn.execute("INSERT OR REPLACE INTO transport_state(message_id, state, updated_at) VALUES (?,?,?)",
                               (message_id, orjson.dumps(state).decode(), time.time()))

        await self._write(op)

    # --- partners ---------------------------------------------------------------------------------

    async def set_circuit(self, partner: str, circuit: str, failures: int) -> None:
        await self._write(lambda w: w.conn.execute(
            "INSERT INTO partner_state(partner, circuit, failures, changed_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(partner) DO UPDATE SET circuit=excluded.circuit, failures=excluded.failures,"
            " changed_at=excluded.changed_at", (partner, circuit, failures, time.time())))

    async def circuits(self) -> dict[str, tuple[str, int]]:
        return await self._read(lambda c: {r[0]: (r[1], int(r[2])) for r in c.execute(
            "SELECT partner, circuit, failures FROM partner_state")})

    async def partner_status(self) -> dict[str, PartnerStatus]:
        def q(c: sqlite3.Connection) -> dict[str, PartnerStatus]:
            out: dict[str, PartnerStatus] = {}
            for r in c.execute("SELECT partner, state, COUNT(*), MIN(created_at) FROM deliveries"
                               " GROUP BY partner, state"):
                st = out.setdefault(r[0], PartnerStatus(r[0]))
                setattr(st, r[1], r[2])
                if r[1] == "queued":
                    st.oldest_queued_at = r[3]
            for r in c.execute(
                "SELECT partner, last_error FROM deliveries d WHERE last_error IS NOT NULL AND rowid ="
                " (SELECT MAX(rowid) FROM deliveries WHERE partner=d.partner AND last_error IS NOT NULL)"
            ):
                out.setdefault(r[0], PartnerStatus(r[0])).last_error = r[1]
            return out

        out = await self._read(q)
        for partner in self._claimed.values():  # claimed rows are still queued on disk
            st = out.setdefault(partner, PartnerStatus(partner))
            st.in_flight += 1
            st.queued = max(0, st.queued - 1)
        return out
