"""The key vault: per-case keys that seal reporter data, in a small SQLite file of its own beside the
store (``reporter-keys.sqlite3``).

Kept apart so that a backup of the store carries the sealed data but not the keys: once a key is
deleted here, the reporter data is unreadable in the store, its write-ahead log and every backup.

The vault keeps a write-ahead log with ``secure_delete``: a put costs one synced append (a rollback
journal cost a journal file created, synced and unlinked per put: ~0.3 ms of kernel CPU on every
intake, issue 11). An erasure overwrites the deleted key's cells in the log, then checkpoints the log
into the file (overwriting the key's bytes there) and truncates it, so no file of the vault still holds
the key's bytes, as the rollback journal's unlink left none. Back the vault up separately, and keep those
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
from hotline_gateway.core.log import get_logger

FILE = "reporter-keys.sqlite3"
log = get_logger("hotline_gateway.vault")


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
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA secure_delete=ON")
        self._conn.execute("CREATE TABLE IF NOT EXISTS case_keys (case_id TEXT PRIMARY KEY, key BLOB NOT NULL,"
                           " created_at REAL NOT NULL) WITHOUT ROWID")
        self._conn.execute("CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL)"
                           " WITHOUT ROWID")

    def close(self) -> None:
        with self._lock:
            self._conn.close()  # the last connection to close checkpoints the log and removes it

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
            self._scrub_log()
        return int(count)

    def _scrub_log(self) -> None:
        """Copy the log into the file (the deleted cells, zeroed, over the key's bytes) and truncate it: the
        frames written when the keys were put held them too. Another process reading the vault at that
        moment holds the log back (SQLite waits for it up to the connection's timeout): the keys are gone
        all the same (nothing can read them), their bytes stay in the log until the next erasure or the
        last connection's close checkpoints it, and the operator is told."""
        busy, _, _ = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            log.warning("vault.log_not_scrubbed", file=f"{self.path.name}-wal",
                        why="another process held the vault's log; erased keys' bytes stay there until the next"
                            " erasure or restart")

    def index_secret(self) -> bytes:
        """The key of the reporter index (created on first use)."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM secrets WHERE name='reporter_index'").fetchone()
            if row is not None:
                return bytes(row[0])
            value = secrets.token_bytes(32)
            self._conn.execute("INSERT INTO secrets(name, value) VALUES ('reporter_index', ?)", (value,))
            return value
