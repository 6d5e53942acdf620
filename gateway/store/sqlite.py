"""The embedded default store: one SQLite file in WAL mode, written by one thread with group commit.

Every write is a function run inside a SAVEPOINT of a batch transaction; the writer thread takes all
the writes that queued up while the previous batch was committing and commits them together with
``synchronous=FULL``. So nothing is acknowledged before it is on disk, yet a thousand concurrent
submissions cost one fsync rather than a thousand. A write that fails rolls back only its savepoint.
"""

from __future__ import annotations

import asyncio
import hashlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson

from hotline_gateway.core.errors import GatewayError, StoreError
from hotline_gateway.core.model import format_timestamp
from hotline_gateway.store.actions import apply_actions
from hotline_gateway.store.audit import GENESIS, ChainSummary, entry_hash, verify_chain
from hotline_gateway.store.files import ensure_private_db
from hotline_gateway.store.migrations import migrate
from hotline_gateway.store.records import (
    AuditEntry,
    Delivery,
    DeliveryState,
    InboundRecord,
    Intake,
    PartnerStatus,
)

T = TypeVar("T")
_STOP = object()
MAX_BATCH = 2000


class DuplicateMessage(GatewayError):
    """A message id that is already stored; the caller answers with the stored receipt."""

    code = "duplicate_message"
    http_status = 409

    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        super().__init__(f"message {message_id} already stored")


class CaseConflict(GatewayError):
    """The same case id with different content: a resubmission must be identical to be idempotent."""

    code = "case_conflict"
    http_status = 409
    exit_code = 2

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        super().__init__(f"case {case_id} already stored with different content")


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.row_factory = sqlite3.Row
    return conn


class _Writer(threading.Thread):
    def __init__(self, path: Path) -> None:
        super().__init__(name="sqlite-writer", daemon=True)
        self.conn = _connect(path)
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        row = self.conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        self.audit_seq: int = row[0] if row else 0
        self.audit_head: str = row[1] if row else GENESIS
        self.batches = 0

    def run(self) -> None:
        while True:
            first = self.queue.get()
            if first is _STOP:
                break
            batch = [first]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    nxt = self.queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
            self._commit(batch)
            if stop:
                break
        self.conn.close()

    def _commit(self, batch: list[Any]) -> None:
        results: list[tuple[asyncio.Future[Any], bool, Any]] = []
        seq0, head0 = self.audit_seq, self.audit_head
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            for fn, fut in batch:
                seq, head = self.audit_seq, self.audit_head
                self.conn.execute("SAVEPOINT op")
                try:
                    value = fn(self)
                except Exception as exc:
                    self.conn.execute("ROLLBACK TO op")
                    self.conn.execute("RELEASE op")
                    self.audit_seq, self.audit_head = seq, head
                    results.append((fut, False, exc))
                else:
                    self.conn.execute("RELEASE op")
                    results.append((fut, True, value))
            self.conn.execute("COMMIT")
            self.batches += 1
        except sqlite3.Error as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            self.audit_seq, self.audit_head = seq0, head0
            err = StoreError(f"commit failed: {exc}")
            results = [(fut, False, err) for _, fut in batch]
        for fut, ok, value in results:
            loop = fut.get_loop()
            loop.call_soon_threadsafe(_settle, fut, ok, value)

    def append_audit(self, entries: list[AuditEntry], at: str) -> None:
        for e in entries:
            self.audit_seq += 1
            row = {
                "seq": self.audit_seq, "at": at, "kind": e.kind, "message_id": e.message_id, "case_id": e.case_id,
                "partner": e.partner, "payload_sha256": e.payload_sha256,
                "signatures": orjson.dumps(e.signatures).decode(), "detail": e.detail,
            }
            row["prev_hash"] = self.audit_head
            row["hash"] = self.audit_head = entry_hash(self.audit_head, row)
            self.conn.execute(
                "INSERT INTO audit(seq, at, kind, message_id, case_id, partner, payload_sha256, signatures, detail,"
                " prev_hash, hash) VALUES (:seq, :at, :kind, :message_id, :case_id, :partner, :payload_sha256,"
                " :signatures, :detail, :prev_hash, :hash)",
                row,
            )


def _settle(fut: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if fut.done():
        return
    if ok:
        fut.set_result(value)
    else:
        fut.set_exception(value)


def _now_iso() -> str:
    return format_timestamp(datetime.now(UTC))


_DELIVERY_COLUMNS = (
    "message_id, case_id, partner, format, transport, message_type, payload, payload_sha256, signature, state,"
    " attempts, created_at, next_attempt_at, deadline_at, last_error, receipt, delivered_at, item_ids"
)


def _delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(
        message_id=row["message_id"], case_id=row["case_id"], partner=row["partner"], format=row["format"],
        transport=row["transport"], message_type=row["message_type"], payload=bytes(row["payload"]),
        payload_sha256=row["payload_sha256"], signature=row["signature"], state=DeliveryState(row["state"]),
        attempts=row["attempts"], created_at=row["created_at"], next_attempt_at=row["next_attempt_at"],
        deadline_at=row["deadline_at"], last_error=row["last_error"], receipt=row["receipt"],
        delivered_at=row["delivered_at"], item_ids=orjson.loads(row["item_ids"]),
    )


def close_delivered(w: _Writer, results: list[tuple[Delivery, str]], audit: list[AuditEntry]) -> None:
    w.conn.executemany(
        "UPDATE deliveries SET state='delivered', receipt=?, delivered_at=?, last_error=NULL WHERE message_id=?",
        [(receipt, time.time(), d.message_id) for d, receipt in results],
    )
    w.append_audit(audit, _now_iso())


class SqliteStore:
    """Durable store on one SQLite file. Open with ``await SqliteStore.open(path)``; close with ``close()``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: _Writer | None = None
        self._reader: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()

    @classmethod
    async def open(cls, path: Path, *, recover: bool = True) -> SqliteStore:
        """Open (creating and migrating as needed). ``recover`` re-queues deliveries left in flight by a
        crash; only the gateway that owns the outbox passes it, never a command looking on."""
        store = cls(path)
        await asyncio.to_thread(store._open_sync, recover)
        return store

    def _open_sync(self, recover: bool) -> None:
        ensure_private_db(self.path)  # folder 0700, files 0600, whatever the umask
        conn = _connect(self.path)
        try:
            migrate(conn)
            # A crash leaves claimed rows in flight: they were never receipted, so they go out again
            # (same message id, so the receiver deduplicates).
            if recover:
                conn.execute("UPDATE deliveries SET state='queued' WHERE state='in_flight'")
        finally:
            conn.close()
        self._writer = _Writer(self.path)
        self._writer.start()
        self._reader = _connect(self.path)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.queue.put(_STOP)
            await asyncio.to_thread(self._writer.join)
            self._writer = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    @property
    def commit_batches(self) -> int:
        return self._writer.batches if self._writer else 0

    async def write(self, fn: Callable[[_Writer], T]) -> T:
        """Run ``fn`` in the next group commit; returns once it is durable."""
        if self._writer is None:
            raise StoreError("store is closed")
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._writer.queue.put((fn, fut))
        return await fut

    async def probe_write(self, timeout: float = 5.0) -> None:
        """Readiness: a real write through the writer thread, committed and synced like an intake.

        Rewriting the schema version with the value it has changes nothing yet writes a page, so a
        read-only or full disk fails here; a bare ``SELECT`` in a transaction would still pass.
        """
        if self._writer is None or not self._writer.is_alive():
            raise StoreError("store writer is not running")

        def op(w: _Writer) -> None:
            (version,) = w.conn.execute("PRAGMA user_version").fetchone()
            w.conn.execute(f"PRAGMA user_version = {int(version)}")

        try:
            await asyncio.wait_for(self.write(op), timeout)
        except TimeoutError:
            raise StoreError(f"no commit within {timeout:g} s") from None
        except sqlite3.Error as exc:
            raise StoreError(f"write failed: {exc}") from None

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
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

    # --- intake -----------------------------------------------------------------------------------

    async def commit_intake(self, intake: Intake) -> list[bool]:
        """Commit one submission atomically. Returns, per case, True if new and False if an identical copy was
        already stored. Raises DuplicateMessage or CaseConflict, in which case nothing was written."""

        def op(w: _Writer) -> list[bool]:
            c = w.conn
            now = time.time()
            for rec in intake.inbound:
                try:
                    c.execute(
                        "INSERT INTO inbound(message_id, sender, kid, received_at, payload_sha256, receipt)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (rec.message_id, rec.sender, rec.kid, rec.received_at, rec.payload_sha256, rec.receipt),
                    )
                except sqlite3.IntegrityError:
                    raise DuplicateMessage(rec.message_id) from None
            fresh: list[bool] = []
            skipped: set[str] = set()
            for case in intake.cases:
                digest = hashlib.sha256(case.doc).hexdigest()
                row = c.execute("SELECT doc, submitted_sha256 FROM cases WHERE case_id = ?",
                                (case.case_id,)).fetchone()
                if row is not None:
                    same = row[1] == digest if row[1] is not None else bytes(row[0]) == case.doc
                    if not same and not intake.keep_first:
                        raise CaseConflict(case.case_id)
                    fresh.append(False)
                    skipped.add(case.case_id)
                    continue
                c.execute(
                    "INSERT INTO cases(case_id, origin, message_id, received_at, category, doc, routing, stored_at,"
                    " submitted_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (case.case_id, case.origin, case.message_id, case.received_at, case.category, case.doc,
                     case.routing, now, digest),
                )
                fresh.append(True)
            rows = [
                (d.message_id, d.case_id, d.partner, d.format, d.transport, d.message_type, d.payload,
                 d.payload_sha256, d.signature, d.state.value, d.attempts, d.created_at, d.next_attempt_at,
                 d.deadline_at, d.last_error, d.receipt, d.delivered_at, orjson.dumps(d.item_ids))
                for d in intake.deliveries
                if d.case_id not in skipped
            ]
            c.executemany(f"INSERT INTO deliveries({_DELIVERY_COLUMNS}) VALUES ({', '.join('?' * 18)})", rows)
            for case_id, updates in intake.updates.items():
                apply_actions(c, case_id, updates)
            if intake.nonce is not None:
                c.execute("INSERT OR IGNORE INTO nonces(kid, nonce, created) VALUES (?, ?, ?)", intake.nonce)
            w.append_audit([a for a in intake.audit if a.case_id not in skipped], _now_iso())
            return fresh

        return await self.write(op)

    async def find_inbound(self, message_ids: list[str]) -> dict[str, InboundRecord]:
        def q(c: sqlite3.Connection) -> dict[str, InboundRecord]:
            marks = ",".join("?" * len(message_ids))
            rows = c.execute(
                "SELECT message_id, sender, kid, received_at, payload_sha256, receipt FROM inbound"
                f" WHERE message_id IN ({marks})",
                message_ids,
            ).fetchall()
            return {r["message_id"]: InboundRecord(r["message_id"], r["sender"], r["received_at"],
                                                  r["payload_sha256"], r["receipt"], r["kid"]) for r in rows}

        return await self.read(q) if message_ids else {}

    async def recent_nonces(self, since: int) -> list[tuple[str, str, int]]:
        def q(c: sqlite3.Connection) -> list[tuple[str, str, int]]:
            return [tuple(r) for r in c.execute("SELECT kid, nonce, created FROM nonces WHERE created >= ?", (since,))]

        return await self.read(q)

    async def prune_nonces(self, before: int) -> None:
        await self.write(lambda w: w.conn.execute("DELETE FROM nonces WHERE created < ?", (before,)))

    # --- outbox -----------------------------------------------------------------------------------

    async def claim_due(self, partner: str, now: float, limit: int) -> list[Delivery]:
        """Move up to ``limit`` due deliveries of one partner to in flight, oldest first."""

        def op(w: _Writer) -> list[Delivery]:
            rows = w.conn.execute(
                f"UPDATE deliveries SET state='in_flight', attempts=attempts+1 WHERE message_id IN ("
                " SELECT message_id FROM deliveries WHERE partner=? AND state='queued' AND next_attempt_at<=?"
                f" ORDER BY next_attempt_at LIMIT ?) RETURNING {_DELIVERY_COLUMNS}",
                (partner, now, limit),
            ).fetchall()
            return sorted((_delivery(r) for r in rows), key=lambda d: d.next_attempt_at)

        return await self.write(op)

    async def mark_delivered(self, results: list[tuple[Delivery, str]], audit: list[AuditEntry]) -> None:
        """Close deliveries with their verified receipts."""

        await self.write(lambda w: close_delivered(w, results, audit))

    async def mark_failed(
        self, deliveries: list[Delivery], error: str, *, retry_at: float | None, audit: list[AuditEntry]
    ) -> None:
        """Put deliveries back in the queue for ``retry_at``, or dead-letter them when it is None."""

        def op(w: _Writer) -> None:
            state = DeliveryState.QUEUED if retry_at is not None else DeliveryState.DEAD
            w.conn.executemany(
                "UPDATE deliveries SET state=?, next_attempt_at=?, last_error=? WHERE message_id=?",
                [(state.value, retry_at if retry_at is not None else d.next_attempt_at, error, d.message_id)
                 for d in deliveries],
            )
            w.append_audit(audit, _now_iso())

        await self.write(op)

    async def requeue_dead(self, partner: str | None = None, *, deadline_s: float = 24 * 3600,
                           message_id: str | None = None) -> int:
        def op(w: _Writer) -> int:
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
            count = w.conn.execute(sql, args).rowcount
            w.append_audit([AuditEntry("dead_letters.requeued", partner=partner, detail=str(count))], _now_iso())
            return int(count)

        return await self.write(op)

    async def set_circuit(self, partner: str, circuit: str, failures: int) -> None:
        await self.write(lambda w: w.conn.execute(
            "INSERT INTO partner_state(partner, circuit, failures, changed_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(partner) DO UPDATE SET circuit=excluded.circuit, failures=excluded.failures,"
            " changed_at=excluded.changed_at",
            (partner, circuit, failures, time.time()),
        ))

    async def circuits(self) -> dict[str, str]:
        return await self.read(lambda c: {r[0]: r[1] for r in c.execute("SELECT partner, circuit FROM partner_state")})

    async def next_due(self, partner: str) -> float | None:
        def q(c: sqlite3.Connection) -> float | None:
            row = c.execute(
                "SELECT MIN(next_attempt_at) FROM deliveries WHERE partner=? AND state='queued'", (partner,)
            ).fetchone()
            return None if row[0] is None else float(row[0])

        return await self.read(q)

    # --- queries ----------------------------------------------------------------------------------

    async def get_case(self, case_id: str) -> tuple[dict[str, Any], list[Delivery]] | None:
        def q(c: sqlite3.Connection) -> tuple[dict[str, Any], list[Delivery]] | None:
            row = c.execute(
                "SELECT case_id, origin, message_id, received_at, doc, routing FROM cases WHERE case_id=?", (case_id,)
            ).fetchone()
            if row is None:
                return None
            deliveries = [
                _delivery(r)
                for r in c.execute(f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE case_id=? ORDER BY partner",
                                   (case_id,))
            ]
            info = {"case": orjson.loads(row["doc"]), "origin": row["origin"], "message_id": row["message_id"],
                    "routing": orjson.loads(row["routing"])}
            return info, deliveries

        return await self.read(q)

    async def case_docs(self, case_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Stored canonical documents of those cases that exist."""

        def q(c: sqlite3.Connection) -> dict[str, dict[str, Any]]:
            marks = ",".join("?" * len(case_ids))
            rows = c.execute(f"SELECT case_id, doc FROM cases WHERE case_id IN ({marks})", case_ids)
            return {r[0]: orjson.loads(r[1]) for r in rows}

        return await self.read(q) if case_ids else {}

    async def partner_status(self) -> dict[str, PartnerStatus]:
        def q(c: sqlite3.Connection) -> dict[str, PartnerStatus]:
            out: dict[str, PartnerStatus] = {}
            rows = c.execute("SELECT partner, state, COUNT(*), MIN(created_at) FROM deliveries GROUP BY partner, state")
            for r in rows:
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

        return await self.read(q)

    async def count(self, table: str) -> int:
        if table not in {"inbound", "cases", "deliveries", "audit"}:
            raise ValueError(table)
        return await self.read(lambda c: int(c.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]))

    async def dead_letters(self, limit: int = 100) -> list[Delivery]:
        def q(c: sqlite3.Connection) -> list[Delivery]:
            rows = c.execute(f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE state='dead'"
                             " ORDER BY created_at DESC LIMIT ?", (limit,))
            return [_delivery(r) for r in rows]

        return await self.read(q)

    async def recent_audit(self, limit: int = 20) -> list[dict[str, Any]]:
        def q(c: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = c.execute("SELECT seq, at, kind, partner, message_id, case_id FROM audit ORDER BY seq DESC LIMIT ?",
                             (limit,))
            return [dict(zip(("seq", "at", "kind", "partner", "message_id", "case_id"), r, strict=True)) for r in rows]

        return await self.read(q)

    async def outbox_page(self, partner: str, after: tuple[float, str], limit: int) -> list[Delivery]:
        """A partner's outbox in the order rows were added, from ``(created_at, message_id)`` on (that row
        included, so a reader can resume inside it): what a pull transport (TAXII) pages through."""

        def q(c: sqlite3.Connection) -> list[Delivery]:
            rows = c.execute(
                f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE partner=? AND state != 'cancelled'"
                " AND (created_at > ? OR (created_at = ? AND message_id >= ?))"
                " ORDER BY created_at, message_id LIMIT ?",
                (partner, after[0], after[0], after[1], limit),
            )
            return [_delivery(r) for r in rows]

        return await self.read(q)

    async def deliveries(self, partner: str | None = None) -> list[Delivery]:
        def q(c: sqlite3.Connection) -> list[Delivery]:
            if partner is None:
                return [_delivery(r) for r in c.execute(f"SELECT {_DELIVERY_COLUMNS} FROM deliveries")]
            return [_delivery(r) for r in c.execute(f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE partner=?",
                                                    (partner,))]

        return await self.read(q)

    async def verify_audit(self) -> ChainSummary:
        return await self.read(lambda c: verify_chain(iter_audit(c)))


def iter_audit(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    for row in conn.execute("SELECT * FROM audit ORDER BY seq"):
        yield dict(row)
