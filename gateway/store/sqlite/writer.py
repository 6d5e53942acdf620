"""The single writer of a SQLite store: one thread, group commit, the audit chain appended in place.

Every write is a function run inside a SAVEPOINT of a batch transaction; the writer takes all the
writes that queued up while the previous batch was committing and commits them together with
``synchronous=FULL``. So nothing is acknowledged before it is on disk, yet a thousand concurrent
submissions cost one fsync rather than a thousand. A write that fails rolls back only its savepoint.

The audit chain's head is read inside each batch's transaction (after ``BEGIN IMMEDIATE`` holds the
file's write lock), never cached across batches: another process that appended to the chain meanwhile
(``hotline-gateway retry`` while ``serve`` runs) is simply continued, not contradicted.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hotline_gateway.core.errors import StoreError
from hotline_gateway.core.files import restrict
from hotline_gateway.core.timefmt import now_iso
from hotline_gateway.store.audit import GENESIS, chain_rows
from hotline_gateway.store.records import AuditEntry

_STOP = object()
MAX_BATCH = 2000


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.row_factory = sqlite3.Row
    restrict(path)  # the store holds reporter data: owner only, whatever the umask said
    return conn


class Writer(threading.Thread):
    def __init__(self, path: Path) -> None:
        super().__init__(name="sqlite-writer", daemon=True)
        self.conn = connect(path)
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.audit_seq = 0
        self.audit_head = GENESIS
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

    def stop(self) -> None:
        self.queue.put(_STOP)

    def _read_head(self) -> None:
        row = self.conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        self.audit_seq, self.audit_head = (row[0], row[1]) if row else (0, GENESIS)

    def _commit(self, batch: list[Any]) -> None:
        results: list[tuple[asyncio.Future[Any], bool, Any]] = []
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            self._read_head()
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
            err = StoreError(f"commit failed: {exc}")
            results = [(fut, False, err) for _, fut in batch]
        for fut, ok, value in results:
            fut.get_loop().call_soon_threadsafe(settle, fut, ok, value)

    def append_audit(self, entries: Sequence[AuditEntry], at: str | None = None) -> None:
        rows = chain_rows(entries, self.audit_seq, self.audit_head, at or now_iso())
        if rows:
            self.audit_seq, self.audit_head = rows[-1]["seq"], rows[-1]["hash"]
        self.conn.executemany(
            "INSERT INTO audit(seq, at, kind, message_id, case_id, partner, payload_sha256, signatures, detail,"
            " doc_sha256, prev_hash, hash) VALUES (:seq, :at, :kind, :message_id, :case_id, :partner, :payload_sha256,"
            " :signatures, :detail, :doc_sha256, :prev_hash, :hash)",
            rows,
        )


def settle(fut: asyncio.Future[Any], ok: bool, value: Any) -> None:
    """Resolve a write's future on its loop (called there, by ``call_soon_threadsafe``)."""
    if fut.done():
        return
    if ok:
        fut.set_result(value)
    else:
        fut.set_exception(value)
