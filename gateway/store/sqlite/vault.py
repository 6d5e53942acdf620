"""The key vault: per-case keys that seal reporter data, in a small SQLite file of its own beside the
store (``reporter-keys.sqlite3``).

Kept apart so that a backup of the store carries the sealed data but not the keys: once a key is
deleted here, the reporter data is unreadable in the store, its write-ahead log and every backup. The
vault itself uses a rollback journal (no WAL) with ``secure_delete``, so a deleted key's bytes are
overwritten on disk, not merely unlinked from the b-tree. Back the vault up separately, and keep those
copies no longer than reporter data may be kept (``docs/deploy.md``).
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hotline_gateway.core.files import create_private

FILE = "reporter-keys.sqlite3"


@dataclass(slots=True)
class _Group:
    """Keys of the puts that arrived while the previous group was committing: one transaction for all."""

    keys: list[tuple[str, bytes, float]] = field(default_factory=list)
    done: bool = False
    error: BaseException | None = None


class KeyVault:
    def __init__(self, path: Path) -> None:
        create_private(path)
        self.path = path
        self._lock = threading.Lock()
        self._joining = threading.Lock()
        self._open: _Group | None = None
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=DELETE")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA secure_delete=ON")
        self._conn.execute("CREATE TABLE IF NOT EXISTS case_keys (case_id TEXT PRIMARY KEY, key BLOB NOT NULL,"
                           " created_at REAL NOT NULL) WITHOUT ROWID")
        self._conn.execute("CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL)"
                           " WITHOUT ROWID")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def put(self, keys: Iterable[tuple[str, bytes]]) -> None:
        """Store keys durably (before the sealed data that needs them is committed).

        Group commit: a put joins the group still open; the first of its group to get the connection
        closes the group and commits every key in it, so concurrent submissions share one synced
        transaction (each costs several fsyncs) instead of queueing for one each. Returns once this
        put's keys are on disk; raises if their transaction failed."""
        now = time.time()
        with self._joining:
            group = self._open
            if group is None:
                group = self._open = _Group()
            group.keys += [(case_id, key, now) for case_id, key in keys]
        with self._lock:
            if not group.done:
                with self._joining:
                    if self._open is group:
                        self._open = None  # later puts start the next group
                try:
                    self._conn.execute("BEGIN IMMEDIATE")
                    try:
                        self._conn.executemany(
                            "INSERT OR IGNORE INTO case_keys(case_id, key, created_at) VALUES (?, ?, ?)", group.keys)
                        self._conn.execute("COMMIT")
                    except BaseException:
                        if self._conn.in_transaction:
                            self._conn.execute("ROLLBACK")
                        raise
                except BaseException as exc:
                    group.error = exc
                finally:
                    group.done = True
        if group.error is not None:
            raise group.error

    def get(self, case_ids: Sequence[str]) -> dict[str, bytes]:
        if not case_ids:
            return {}
        with self._lock:
            marks = ",".join("?" * len(case_ids))
            return {r[0]: bytes(r[1]) for r in self._conn.execute(
                f"SELECT case_id, key FROM case_keys WHERE case_id IN ({marks})", list(case_ids))}

    def delete(self, case_ids: Sequence[str]) -> int:
        """Forget keys for good (the bytes are overwritten: ``secure_delete``)."""
        if not case_ids:
            return 0
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            marks = ",".join("?" * len(case_ids))
            count = self._conn.execute(f"DELETE FROM case_keys WHERE case_id IN ({marks})", list(case_ids)).rowcount
            self._conn.execute("COMMIT")
        return int(count)

    def index_secret(self) -> bytes:
        """The key of the reporter index (created on first use)."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM secrets WHERE name='reporter_index'").fetchone()
            if row is not None:
                return bytes(row[0])
            value = secrets.token_bytes(32)
            self._conn.execute("INSERT INTO secrets(name, value) VALUES ('reporter_index', ?)", (value,))
            return value
