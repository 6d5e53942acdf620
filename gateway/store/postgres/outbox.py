"""The outbox across nodes: claims with leases, outcomes, dead letters, transport state, circuits.

A claim is a row update, not a note in memory: ``claim_due`` takes due rows with ``FOR UPDATE SKIP
LOCKED`` (nodes and lanes claiming at once each get other rows, none waits) and marks them
``in_flight``, ``claimed_by`` this node, until ``lease_until`` (the database's clock, so nodes' clocks
need not agree). Outcomes are recorded only for rows this node still holds: if a lease ran out
mid-send and another node took the row, that node's send is answered by the receiver from its
idempotency store (same message id, same receipt) and is the one recorded. Rows whose lease ran out
are taken back into the queue by the next claim of their partner, on any node.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import orjson

from hotline_gateway.core.log import get_logger
from hotline_gateway.core.takedown import removed_items
from hotline_gateway.crypto.sealing import Unsealable, unseal
from hotline_gateway.store.interface import Action
from hotline_gateway.store.postgres.base import Conn, PgBase
from hotline_gateway.store.postgres.rows import DELIVERY_COLUMNS, FROM_DELIVERIES, apply_actions, delivery_row
from hotline_gateway.store.records import AuditEntry, Delivery, DeliveryState, PartnerStatus

log = get_logger("hotline_gateway.store.postgres.outbox")

DB_NOW = "extract(epoch FROM clock_timestamp())::double precision"
CLAIM = (
    "WITH due AS (SELECT message_id FROM deliveries WHERE partner = %(partner)s AND state = 'queued'"
    " AND next_attempt_at <= %(now)s ORDER BY next_attempt_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
    " UPDATE deliveries d SET state = 'in_flight', claimed_by = %(node)s, attempts = d.attempts + 1,"
    f" lease_until = {DB_NOW} + %(lease)s FROM due, payloads p"
    " WHERE d.message_id = due.message_id AND p.message_id = d.message_id"
    " RETURNING d.message_id, d.case_id, d.partner, d.format, d.transport, d.message_type, p.payload,"
    " d.payload_sha256, p.signature, d.state, d.attempts, d.created_at, d.next_attempt_at, d.deadline_at,"
    " d.last_error, d.receipt, d.delivered_at, d.item_ids, d.carries_reporter, p.sealed, d.notice_id"
)
#: rows whose claim lapsed (the node holding them died, or stalled past the lease) go back to the queue
TAKE_BACK = (
    "UPDATE deliveries SET state = 'queued', claimed_by = NULL, lease_until = NULL WHERE message_id IN"
    " (SELECT message_id FROM deliveries WHERE partner = %s AND state = 'in_flight'"
    f" AND lease_until < {DB_NOW} FOR UPDATE SKIP LOCKED) RETURNING claimed_by"
)
HELD = "message_id = ANY(%(ids)s) AND state = 'in_flight' AND claimed_by = %(node)s"


class OutboxOps(PgBase):

    async def claim_due(self, partner: str, now: float, limit: int) -> list[Delivery]:
        """Claims are committed without waiting for the disk: they are visible to every node at once
        (row locks and visibility do not wait for the flush), and a claim lost in a crash of the database
        only puts its delivery back in the queue, to be sent again under the same message id, which the
        receiver answers from its store. So a delivery costs one disk flush less on its way."""

        async def op(conn: Conn) -> list[Delivery]:
            await conn.execute("SET LOCAL synchronous_commit = off")
            lapsed = await (await conn.execute(TAKE_BACK, (partner,))).fetchall()
            if lapsed:
                log.warning("claims.lapsed", partner=partner, count=len(lapsed), node=self.node)
            rows = await (await conn.execute(CLAIM, {"partner": partner, "now": now, "limit": limit,
                                                     "node": self.node, "lease": self.claim_lease_s})).fetchall()
            return sorted((delivery_row(r) for r in rows), key=lambda d: (d.next_attempt_at, d.created_at))

        claimed = await self._tx(op)
        sealed = [d for d in claimed if d.sealed_payload is not None]
        return await self._open_sealed(claimed, sealed) if sealed else claimed

    async def _open_sealed(self, rows: list[Delivery], sealed: list[Delivery]) -> list[Delivery]:
        """Open sealed payloads with their cases' keys; a message whose key was erased can never be sent
        and is cancelled here (this node holds its claim), with the reason."""
        keys = await self.vault.get(sorted({d.case_id for d in sealed}))
        gone: list[Delivery] = []
        for d in sealed:
            assert d.sealed_payload is not None
            try:
                d.payload = unseal(keys.get(d.case_id), d.sealed_payload, d.case_id)
            except Unsealable:
                gone.append(d)
        if gone:
            reason = "cancelled: the reporter data it carries was erased before it could be sent"

            async def op(conn: Conn) -> tuple[None, list[AuditEntry]]:
                held = await self._still_held(conn, gone)
                await conn.execute("UPDATE deliveries SET state = 'cancelled', last_error = %s, claimed_by = NULL,"
                                   " lease_until = NULL WHERE message_id = ANY(%s)", (reason, sorted(held)))
                return None, [AuditEntry("message.cancelled", message_id=d.message_id, case_id=d.case_id,
                                         partner=d.partner, payload_sha256=d.payload_sha256, detail=reason)
                              for d in gone if d.message_id in held]

            await self._write(op)
        dropped = {d.message_id for d in gone}
        return [d for d in rows if d.message_id not in dropped]

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return

        async def op(conn: Conn) -> None:
            await conn.execute("UPDATE deliveries SET state = 'queued', claimed_by = NULL, lease_until = NULL,"
                               f" attempts = GREATEST(attempts - 1, 0) WHERE {HELD}", self._held(deliveries))

        await self._tx(op)

    def _held(self, deliveries: Sequence[Delivery]) -> dict[str, Any]:
        return {"ids": [d.message_id for d in deliveries], "node": self.node}

    async def next_due(self, partner: str) -> float | None:
        rows = await self._rows("SELECT MIN(next_attempt_at) AS due FROM deliveries WHERE partner = %s"
                                " AND state = 'queued'", (partner,))
        due = rows[0]["due"] if rows else None
        return None if due is None else float(due)

    async def mark_delivered(self, results: Sequence[tuple[Delivery, str]], audit: Sequence[AuditEntry],
                             notices: Sequence[tuple[Delivery, Action]] = ()) -> None:
        async def op(conn: Conn) -> tuple[None, list[AuditEntry]]:
            now = time.time()
            held = await self._still_held(conn, [d for d, _ in results])
            async with conn.cursor() as cur:
                await cur.executemany(
                    "UPDATE deliveries SET state = 'delivered', receipt = %s, delivered_at = %s, last_error = NULL,"
                    " attempts = %s, claimed_by = NULL, lease_until = NULL WHERE message_id = %s",
                    [(receipt, now, d.attempts, d.message_id) for d, receipt in results if d.message_id in held])
            entries = [e for e in audit if e.message_id is None or e.message_id in held]
            for d, action in notices:
                if d.message_id not in held:
                    continue
                added, digest = await apply_actions(conn, d.case_id, [(item_id, action) for item_id in d.item_ids])
                if added:
                    entries.append(AuditEntry("case.updated", message_id=d.message_id, case_id=d.case_id,
                                              partner=d.partner, detail=f"{action['type']} recorded",
                                              doc_sha256=digest))
            return None, entries

        await self._write(op)

    async def _still_held(self, conn: Conn, deliveries: Sequence[Delivery]) -> set[str]:
        """The deliveries this node still holds, locked until the transaction ends; a claim that lapsed
        and went to another node is that node's to record, and is left alone here."""
        if not deliveries:
            return set()
        rows = await (await conn.execute(f"SELECT message_id FROM deliveries WHERE {HELD} ORDER BY message_id"
                                         " FOR UPDATE",
                                         self._held(deliveries))).fetchall()
        held = {str(r["message_id"]) for r in rows}
        if len(held) < len(deliveries):
            log.warning("claims.lost", node=self.node, count=len(deliveries) - len(held),
                        detail="the lease ran out before the outcome was recorded; another node sends them")
        return held

    async def mark_failed(self, deliveries: Sequence[Delivery], error: str, *, retry_at: float | None,
                          audit: Sequence[AuditEntry]) -> None:
        async def op(conn: Conn) -> tuple[None, list[AuditEntry]]:
            held = await self._still_held(conn, deliveries)
            state = DeliveryState.QUEUED if retry_at is not None else DeliveryState.DEAD
            async with conn.cursor() as cur:
                await cur.executemany(
                    "UPDATE deliveries SET state = %s, next_attempt_at = %s, last_error = %s, attempts = %s,"
                    " claimed_by = NULL, lease_until = NULL WHERE message_id = %s",
                    [(state.value, retry_at if retry_at is not None else d.next_attempt_at, error, d.attempts,
                      d.message_id) for d in deliveries if d.message_id in held])
            return None, [e for e in audit if e.message_id is None or e.message_id in held]

        await self._write(op)

    async def withdraw_removed(self, deliveries: Sequence[Delivery]) -> tuple[list[Delivery], list[Delivery]]:
        async def op(conn: Conn) -> tuple[tuple[list[Delivery], list[Delivery]], list[AuditEntry]]:
            keep: list[Delivery] = []
            gone: list[Delivery] = []
            case_ids = sorted({d.case_id for d in deliveries})
            rows = await (await conn.execute("SELECT case_id, doc FROM cases WHERE case_id = ANY(%s)",
                                             (case_ids,))).fetchall()
            removed = {r["case_id"]: removed_items(orjson.loads(r["doc"])) for r in rows}
            for d in deliveries:
                (gone if d.item_ids and set(d.item_ids) <= removed.get(d.case_id, set()) else keep).append(d)
            held = await self._still_held(conn, gone)
            gone = [d for d in gone if d.message_id in held]
            if not gone:
                return (keep, gone), []
            reason = "withdrawn: every item was reported removed before the notice went out"
            await conn.execute("UPDATE deliveries SET state = %s, last_error = %s, claimed_by = NULL,"
                               " lease_until = NULL WHERE message_id = ANY(%s)",
                               (DeliveryState.CANCELLED.value, reason, [d.message_id for d in gone]))
            return (keep, gone), [AuditEntry("message.withdrawn", message_id=d.message_id, case_id=d.case_id,
                                             partner=d.partner, payload_sha256=d.payload_sha256, detail=reason)
                                  for d in gone]

        return await self._write(op)

    async def requeue_dead(self, partner: str | None = None, *, deadline_s: float = 24 * 3600,
                           message_id: str | None = None) -> int:
        async def op(conn: Conn) -> tuple[int, list[AuditEntry]]:
            now = time.time()
            sql = ("UPDATE deliveries SET state = 'queued', next_attempt_at = %s, deadline_at = %s, attempts = 0,"
                   " claimed_by = NULL, lease_until = NULL WHERE state = 'dead'")
            args: list[Any] = [now, now + deadline_s]
            if partner is not None:
                sql += " AND partner = %s"
                args.append(partner)
            if message_id is not None:
                sql += " AND message_id = %s"
                args.append(message_id)
            count = (await conn.execute(sql, args)).rowcount
            return count, [AuditEntry("dead_letters.requeued", partner=partner, message_id=message_id,
                                      detail=str(count))]

        return await self._write(op)

    async def requeue_delivered(self, message_ids: Sequence[str]) -> int:
        async def op(conn: Conn) -> tuple[int, list[AuditEntry]]:
            cur = await conn.execute("UPDATE deliveries SET state = 'queued', next_attempt_at = 0, claimed_by = NULL,"
                                     " lease_until = NULL WHERE message_id = ANY(%s) AND state = 'delivered'",
                                     (list(message_ids),))
            return cur.rowcount, [AuditEntry("message.requeued", message_id=i) for i in message_ids]

        return await self._write(op)

    async def outbox_page(self, partner: str, after: tuple[float, str], limit: int) -> list[Delivery]:
        """A partner's outbox in the order rows were added, from ``(created_at, message_id)`` on (that row
        included, so a reader can resume inside it): what a pull transport (TAXII) pages through."""
        rows = await self._rows(
            f"SELECT {DELIVERY_COLUMNS} FROM {FROM_DELIVERIES} WHERE d.partner = %s AND d.state != 'cancelled'"
            " AND (d.created_at, d.message_id) >= (%s, %s) ORDER BY d.created_at, d.message_id LIMIT %s",
            (partner, after[0], after[1], limit))
        return [delivery_row(r) for r in rows]

    async def deliveries(self, partner: str | None = None) -> list[Delivery]:
        if partner is None:
            rows = await self._rows(f"SELECT {DELIVERY_COLUMNS} FROM {FROM_DELIVERIES} ORDER BY d.row_id")
        else:
            rows = await self._rows(f"SELECT {DELIVERY_COLUMNS} FROM {FROM_DELIVERIES} WHERE d.partner = %s"
                                    " ORDER BY d.row_id", (partner,))
        return [delivery_row(r) for r in rows]

    async def transport_state(self, message_id: str) -> dict[str, Any] | None:
        rows = await self._rows("SELECT state FROM transport_state WHERE message_id = %s", (message_id,))
        return dict(orjson.loads(rows[0]["state"])) if rows else None

    async def put_transport_state(self, message_id: str, state: dict[str, Any] | None) -> None:
        async def op(conn: Conn) -> None:
            if state is None:
                await conn.execute("DELETE FROM transport_state WHERE message_id = %s", (message_id,))
            else:
                await conn.execute(
                    "INSERT INTO transport_state (message_id, state, updated_at) VALUES (%s, %s, %s)"
                    " ON CONFLICT (message_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                    (message_id, orjson.dumps(state).decode(), time.time()))

        await self._tx(op)

    # --- partners ---------------------------------------------------------------------------------

    async def set_circuit(self, partner: str, circuit: str, failures: int) -> None:
        async def op(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO partner_state (partner, circuit, failures, changed_at) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (partner) DO UPDATE SET circuit = excluded.circuit, failures = excluded.failures,"
                " changed_at = excluded.changed_at", (partner, circuit, failures, time.time()))

        await self._tx(op)

    async def circuits(self) -> dict[str, tuple[str, int]]:
        rows = await self._rows("SELECT partner, circuit, failures FROM partner_state")
        return {r["partner"]: (r["circuit"], int(r["failures"])) for r in rows}

    async def partner_status(self) -> dict[str, PartnerStatus]:
        async def q(conn: Conn) -> dict[str, PartnerStatus]:
            out: dict[str, PartnerStatus] = {}
            for r in await (await conn.execute("SELECT partner, state, COUNT(*) AS n, MIN(created_at) AS oldest"
                                               " FROM deliveries GROUP BY partner, state")).fetchall():
                st = out.setdefault(r["partner"], PartnerStatus(r["partner"]))
                setattr(st, r["state"], int(r["n"]))
                if r["state"] == DeliveryState.QUEUED.value:
                    st.oldest_queued_at = r["oldest"]
            for r in await (await conn.execute(
                "SELECT DISTINCT ON (partner) partner, last_error FROM deliveries WHERE last_error IS NOT NULL"
                " ORDER BY partner, row_id DESC"
            )).fetchall():
                out.setdefault(r["partner"], PartnerStatus(r["partner"])).last_error = r["last_error"]
            return out

        return await self._read(q)
