"""The embedded default store: one SQLite file in WAL mode, one writer thread with group commit, and a
reader connection for queries (see ``writer.py`` for how writes become durable).

Claims are in memory: this store belongs to one gateway process (SQLite is the single-node store), so
claiming a due delivery need not cost a write through the writer. The worker reads due rows, holds them
as claimed until their outcome is committed, and a crash simply leaves them queued: they are sent again
after the restart under the same message id, and the receiver deduplicates.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import orjson

from hotline_gateway.core.errors import StoreError
from hotline_gateway.core.files import private_dir, restrict
from hotline_gateway.core.takedown import merge_actions, removed_items
from hotline_gateway.store.audit import ChainSummary, verify_chain
from hotline_gateway.store.interface import Action, CaseConflict
from hotline_gateway.store.records import (
    AuditEntry,
    Delivery,
    DeliveryState,
    InboundRecord,
    Intake,
    IntakeResult,
    PartnerStatus,
)
from hotline_gateway.store.sqlite.migrations import migrate
from hotline_gateway.store.sqlite.writer import Writer, connect, doc_digest

T = TypeVar("T")
#: how long a released claim is remembered: a due-row query that began before the release committed
#: may still see the row queued, and must not take it again
_RELEASE_MEMORY_S = 60.0
_DELIVERY_COLUMNS = (
    "d.message_id, d.case_id, d.partner, d.format, d.transport, d.message_type, p.payload, d.payload_sha256,"
    " p.signature, d.state, d.attempts, d.created_at, d.next_attempt_at, d.deadline_at, d.last_error, d.receipt,"
    " d.delivered_at, d.item_ids"
)
_FROM_DELIVERIES = "deliveries d JOIN payloads p ON p.message_id = d.message_id"
_TABLES = frozenset({"inbound", "cases", "deliveries", "audit"})


def _delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(
        message_id=row["message_id"], case_id=row["case_id"], partner=row["partner"], format=row["format"],
        transport=row["transport"], message_type=row["message_type"], payload=bytes(row["payload"]),
        payload_sha256=row["payload_sha256"], signature=row["signature"], state=DeliveryState(row["state"]),
        attempts=row["attempts"], created_at=row["created_at"], next_attempt_at=row["next_attempt_at"],
        deadline_at=row["deadline_at"], last_error=row["last_error"], receipt=row["receipt"],
        delivered_at=row["delivered_at"], item_ids=orjson.loads(row["item_ids"]),
    )


def _inbound(row: sqlite3.Row) -> InboundRecord:
    return InboundRecord(row["message_id"], row["sender"], row["received_at"], row["payload_sha256"], row["receipt"],
                         row["kid"])


def _dump(doc: Any) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


class SqliteStore:
    """Durable store on one SQLite file. Open with ``await SqliteStore.open(path)``; close with ``close()``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: Writer | None = None
        self._reader: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()
        self._claimed: dict[str, str] = {}  # message id -> partner
        self._released: dict[str, float] = {}  # message id -> monotonic time its claim ended
        self._nonces: dict[tuple[str, str], int] = {}
        self._nonces_loaded = False

    @classmethod
    async def open(cls, path: Path, *, recover: bool = True) -> SqliteStore:
        """Open (creating and migrating as needed). ``recover`` re-queues deliveries an older version left
        in flight; only the gateway that owns the outbox passes it, never a command looking on."""
        store = cls(path)
        await asyncio.to_thread(store._open_sync, recover)
        return store

    def _open_sync(self, recover: bool) -> None:
        private_dir(self.path.parent)
        conn = connect(self.path)
        try:
            migrate(conn)
            if recover:
                conn.execute("UPDATE deliveries SET state='queued' WHERE state='in_flight'")
        finally:
            conn.close()
        for suffix in ("-wal", "-shm"):
            restrict(self.path.with_name(self.path.name + suffix))
        self._writer = Writer(self.path)
        self._writer.start()
        self._reader = connect(self.path)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.stop()
            await asyncio.to_thread(self._writer.join)
            self._writer = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    @property
    def commit_batches(self) -> int:
        return self._writer.batches if self._writer else 0

    async def _write(self, fn: Callable[[Writer], T]) -> T:
        """Run ``fn`` in the next group commit; returns once it is durable."""
        if self._writer is None:
            raise StoreError("store is closed")
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._writer.queue.put((fn, fut))
        return await fut

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            if self._reader is None:
                raise StoreError("store is closed")
            with self._read_lock:
                self._reader.execute("BEGIN")
                try:
                    return fn(self._reader)
                finally:
                    self._reader.execute("COMMIT")

        return await asyncio.to_thread(run)

    async def probe_write(self, timeout: float = 5.0) -> None:
        """A real write through the writer thread, committed and synced like an intake: rewriting the
        schema version with the value it has changes nothing yet writes a page, so a read-only or full
        disk fails here where a bare ``SELECT`` in a transaction would pass."""
        if self._writer is None or not self._writer.is_alive():
            raise StoreError("store writer is not running")

        def op(w: Writer) -> None:
            (version,) = w.conn.execute("PRAGMA user_version").fetchone()
            w.conn.execute(f"PRAGMA user_version = {int(version)}")

        try:
            await asyncio.wait_for(self._write(op), timeout)
        except TimeoutError:
            raise StoreError(f"no commit within {timeout:g} s") from None
        except sqlite3.Error as exc:
            raise StoreError(f"write failed: {exc}") from None

    # --- intake -----------------------------------------------------------------------------------

    async def commit_intakes(self, intakes: Sequence[Intake], *, nonce: tuple[str, str, int] | None = None
                             ) -> list[IntakeResult]:
        def op(w: Writer) -> list[IntakeResult]:
            results = [_commit_one(w, intake) for intake in intakes]
            if nonce is not None:
                w.conn.execute("INSERT OR IGNORE INTO nonces(kid, nonce, created) VALUES (?, ?, ?)", nonce)
            return results

        return await self._write(op)

    async def find_inbound(self, sender: str, message_ids: Sequence[str]) -> dict[str, InboundRecord]:
        if not message_ids:
            return {}

        def q(c: sqlite3.Connection) -> dict[str, InboundRecord]:
            marks = ",".join("?" * len(message_ids))
            rows = c.execute("SELECT message_id, sender, kid, received_at, payload_sha256, receipt FROM inbound"
                             f" WHERE sender = ? AND message_id IN ({marks})", [sender, *message_ids])
            return {r["message_id"]: _inbound(r) for r in rows}

        return await self._read(q)

    async def spend_nonce(self, kid: str, nonce: str, created: int) -> bool:
        """In memory for this single-node store (loaded at start with the nonces of accepted messages,
        which are committed with them); True when the nonce is fresh."""
        if not self._nonces_loaded:
            await self._load_nonces(created)
        if (kid, nonce) in self._nonces:
            return False
        self._nonces[(kid, nonce)] = created
        return True

    async def _load_nonces(self, now: int) -> None:
        rows = await self._read(lambda c: c.execute("SELECT kid, nonce, created FROM nonces WHERE created >= ?",
                                                    (now - 3600,)).fetchall())
        for kid, nonce, created in rows:
            self._nonces.setdefault((kid, nonce), created)
        self._nonces_loaded = True

    async def prune_nonces(self, before: int) -> int:
        self._nonces = {k: v for k, v in self._nonces.items() if v >= before}
        return int(await self._write(lambda w: w.conn.execute("DELETE FROM nonces WHERE created < ?",
                                                              (before,)).rowcount))

    # --- cases ------------------------------------------------------------------------------------

    async def case_docs(self, case_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not case_ids:
            return {}

        def q(c: sqlite3.Connection) -> dict[str, dict[str, Any]]:
            marks = ",".join("?" * len(case_ids))
            rows = c.execute(f"SELECT case_id, doc FROM cases WHERE case_id IN ({marks})", list(case_ids))
            return {r[0]: orjson.loads(r[1]) for r in rows}

        return await self._read(q)

    async def case_origin(self, case_id: str) -> str | None:
        def q(c: sqlite3.Connection) -> str | None:
            row = c.execute("SELECT origin FROM cases WHERE case_id=?", (case_id,)).fetchone()
            return None if row is None else str(row[0])

        return await self._read(q)

    async def items_sent_to(self, case_id: str, partner: str) -> set[str]:
        def q(c: sqlite3.Connection) -> set[str]:
            rows = c.execute("SELECT item_ids FROM deliveries WHERE case_id=? AND partner=? AND state != 'cancelled'",
                             (case_id, partner))
            return {i for (ids,) in rows for i in orjson.loads(ids)}

        return await self._read(q)

    async def get_case(self, case_id: str) -> tuple[dict[str, Any], list[Delivery]] | None:
        def q(c: sqlite3.Connection) -> tuple[dict[str, Any], list[Delivery]] | None:
            row = c.execute("SELECT case_id, origin, message_id, received_at, doc, routing FROM cases WHERE case_id=?",
                            (case_id,)).fetchone()
            if row is None:
                return None
            deliveries = [_delivery(r) for r in c.execute(
                f"SELECT {_DELIVERY_COLUMNS} FROM {_FROM_DELIVERIES} WHERE d.case_id=? ORDER BY d.partner", (case_id,))]
            info = {"case": orjson.loads(row["doc"]), "origin": row["origin"], "message_id": row["message_id"],
                    "routing": orjson.loads(row["routing"])}
            return info, deliveries

        return await self._read(q)

    async def add_actions(self, case_id: str, updates: Sequence[tuple[str, Action]], *, source: str,
                          message_id: str | None = None) -> list[tuple[str, dict[str, Any]]] | None:
        def op(w: Writer) -> list[tuple[str, dict[str, Any]]] | None:
            added, digest = _apply_actions(w.conn, case_id, updates)
            if added:
                detail = "; ".join(f"{item_id} {a['type']}" for item_id, a in added)
                w.append_audit([AuditEntry("case.updated", message_id=message_id, case_id=case_id,
                                           partner=None if source == "local" else source, detail=detail,
                                           doc_sha256=digest)])
            return added

        return await self._write(op)

    # --- outbox -----------------------------------------------------------------------------------

    def _forget_released(self) -> None:
        horizon = time.monotonic() - _RELEASE_MEMORY_S
        if len(self._released) > 10_000 or (self._released and next(iter(self._released.values())) < horizon):
            self._released = {k: v for k, v in self._released.items() if v >= horizon}

    def _unclaim(self, message_ids: Sequence[str]) -> None:
        now = time.monotonic()
        for mid in message_ids:
            if self._claimed.pop(mid, None) is not None:
                self._released[mid] = now

    async def claim_due(self, partner: str, now: float, limit: int) -> list[Delivery]:
        self._forget_released()
        started = time.monotonic()
        held = sum(1 for p in self._claimed.values() if p == partner)

        def q(c: sqlite3.Connection) -> list[Delivery]:
            rows = c.execute(
                f"SELECT {_DELIVERY_COLUMNS} FROM {_FROM_DELIVERIES} WHERE d.partner=? AND d.state='queued'"
                " AND d.next_attempt_at<=? ORDER BY d.next_attempt_at LIMIT ?", (partner, now, limit + held))
            return [_delivery(r) for r in rows]

        claimed: list[Delivery] = []
        for d in await self._read(q):
            if d.message_id in self._claimed or self._released.get(d.message_id, -1.0) >= started:
                continue
            self._claimed[d.message_id] = partner
            d.attempts += 1
            d.state = DeliveryState.IN_FLIGHT
            claimed.append(d)
            if len(claimed) == limit:
                break
        return claimed

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        self._unclaim([d.message_id for d in deliveries])

    async def next_due(self, partner: str) -> float | None:
        def q(c: sqlite3.Connection) -> float | None:
            row = c.execute("SELECT MIN(next_attempt_at) FROM deliveries WHERE partner=? AND state='queued'",
                            (partner,)).fetchone()
            return None if row[0] is None else float(row[0])

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
                added, digest = _apply_actions(w.conn, d.case_id, [(item_id, action) for item_id in d.item_ids])
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
                f"SELECT {_DELIVERY_COLUMNS} FROM {_FROM_DELIVERIES} WHERE d.partner=? AND d.state != 'cancelled'"
                " AND (d.created_at > ? OR (d.created_at = ? AND d.message_id >= ?))"
                " ORDER BY d.created_at, d.message_id LIMIT ?", (partner, after[0], after[0], after[1], limit))
            return [_delivery(r) for r in rows]

        return await self._read(q)

    async def deliveries(self, partner: str | None = None) -> list[Delivery]:
        def q(c: sqlite3.Connection) -> list[Delivery]:
            if partner is None:
                return [_delivery(r) for r in c.execute(f"SELECT {_DELIVERY_COLUMNS} FROM {_FROM_DELIVERIES}")]
            return [_delivery(r) for r in c.execute(
                f"SELECT {_DELIVERY_COLUMNS} FROM {_FROM_DELIVERIES} WHERE d.partner=?", (partner,))]

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

    # --- audit ------------------------------------------------------------------------------------

    async def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        await self._write(lambda w: w.append_audit(entries))

    async def recent_audit(self, limit: int = 20) -> list[dict[str, Any]]:
        def q(c: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = c.execute("SELECT seq, at, kind, partner, message_id, case_id FROM audit ORDER BY seq DESC LIMIT ?",
                             (limit,))
            return [dict(zip(("seq", "at", "kind", "partner", "message_id", "case_id"), r, strict=True)) for r in rows]

        return await self._read(q)

    async def verify_audit(self) -> ChainSummary:
        return await self._read(lambda c: verify_chain(_iter_audit(c)))

    # --- queries ----------------------------------------------------------------------------------

    async def count(self, table: str) -> int:
        if table not in _TABLES:
            raise ValueError(table)
        return await self._read(lambda c: int(c.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]))

    async def dead_letters(self, limit: int = 100) -> list[Delivery]:
        def q(c: sqlite3.Connection) -> list[Delivery]:
            rows = c.execute(f"SELECT {_DELIVERY_COLUMNS} FROM {_FROM_DELIVERIES} WHERE d.state='dead'"
                             " ORDER BY d.created_at DESC LIMIT ?", (limit,))
            return [_delivery(r) for r in rows]

        return await self._read(q)


def _iter_audit(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    for row in conn.execute("SELECT * FROM audit ORDER BY seq"):
        yield dict(row)


def _apply_actions(conn: sqlite3.Connection, case_id: str, updates: Sequence[tuple[str, Action]]
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
    data = _dump(doc)
    conn.execute("UPDATE cases SET doc=?, updated_at=? WHERE case_id=?", (data, time.time(), case_id))
    return added, doc_digest(data)


def _commit_one(w: Writer, intake: Intake) -> IntakeResult:
    c = w.conn
    rec = intake.inbound
    if rec is not None:
        row = c.execute("SELECT message_id, sender, kid, received_at, payload_sha256, receipt FROM inbound"
                        " WHERE sender=? AND message_id=?", (rec.sender, rec.message_id)).fetchone()
        if row is not None:
            return IntakeResult(fresh=[False] * len(intake.cases), duplicate_of=_inbound(row))
        c.execute("INSERT INTO inbound(sender, message_id, kid, received_at, payload_sha256, receipt)"
                  " VALUES (?, ?, ?, ?, ?, ?)",
                  (rec.sender, rec.message_id, rec.kid, rec.received_at, rec.payload_sha256, rec.receipt))
    now = time.time()
    fresh: list[bool] = []
    skipped: set[str] = set()
    digests: dict[str, str] = {}
    for case in intake.cases:
        digest = doc_digest(case.doc)
        row = c.execute("SELECT doc, submitted_sha256 FROM cases WHERE case_id = ?", (case.case_id,)).fetchone()
        if row is not None:
            same = row[1] == digest if row[1] is not None else bytes(row[0]) == case.doc
            if not same and not intake.keep_first:
                raise CaseConflict(case.case_id)
            fresh.append(False)
            skipped.add(case.case_id)
            continue
        c.execute("INSERT INTO cases(case_id, origin, message_id, received_at, category, doc, routing, stored_at,"
                  " submitted_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (case.case_id, case.origin, case.message_id, case.received_at, case.category, case.doc,
                   case.routing, now, digest))
        digests[case.case_id] = digest
        fresh.append(True)
    kept = [d for d in intake.deliveries if d.case_id not in skipped]
    c.executemany("INSERT INTO payloads(message_id, payload, signature) VALUES (?, ?, ?)",
                  [(d.message_id, d.payload, d.signature) for d in kept])
    c.executemany(
        "INSERT INTO deliveries(message_id, case_id, partner, format, transport, message_type, payload_sha256, state,"
        " attempts, created_at, next_attempt_at, deadline_at, last_error, receipt, delivered_at, item_ids)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(d.message_id, d.case_id, d.partner, d.format, d.transport, d.message_type, d.payload_sha256,
          d.state.value, d.attempts, d.created_at, d.next_attempt_at, d.deadline_at, d.last_error, d.receipt,
          d.delivered_at, orjson.dumps(d.item_ids)) for d in kept])
    audit: list[AuditEntry] = []
    for entry in intake.audit:
        if entry.case_id in skipped:
            continue
        if entry.kind == "case.accepted" and entry.case_id in digests:
            entry.doc_sha256 = digests[entry.case_id]
        audit.append(entry)
    for case_id, updates in intake.updates.items():
        added, updated = _apply_actions(c, case_id, updates)
        if added:
            audit.append(AuditEntry("case.updated", message_id=rec.message_id if rec else None, case_id=case_id,
                                    partner=rec.sender if rec else None,
                                    detail=f"{len(added)} action(s) reported", doc_sha256=updated))
    w.append_audit(audit)
    return IntakeResult(fresh=fresh)
