"""The key vault commits concurrent puts together (group commit): each put returns only once its own keys
are on disk, and a put whose transaction failed raises rather than returning as if its keys were kept."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import pytest

from hotline_gateway.store.sqlite.vault import KeyVault

THREADS, PUTS, KEYS = 8, 15, 5


def test_concurrent_puts_are_each_durable_when_they_return(tmp_path: Path) -> None:
    vault = KeyVault(tmp_path / "keys.sqlite3")
    written: dict[str, bytes] = {}
    returned: list[list[str]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)
    lock = threading.Lock()

    def work() -> None:
        start.wait()
        for _ in range(PUTS):
            keys = [(str(uuid.uuid4()), os.urandom(32)) for _ in range(KEYS)]
            try:
                vault.put(keys)
            except BaseException as exc:  # reported by the assertion below
                errors.append(exc)
                return
            # Read back through another connection at once: returned means committed, not merely queued.
            check = KeyVault(tmp_path / "keys.sqlite3")
            try:
                seen = check.get([case_id for case_id, _ in keys])
            finally:
                check.close()
            with lock:
                written.update(keys)
                returned.append([case_id for case_id, _ in keys if seen.get(case_id) != dict(keys)[case_id]])

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(returned) == THREADS * PUTS
    assert all(not missing for missing in returned), "a put returned before its keys were committed"
    vault.close()
    reopened = KeyVault(tmp_path / "keys.sqlite3")
    try:
        assert reopened.get(sorted(written)) == written
    finally:
        reopened.close()


def test_puts_waiting_behind_a_commit_are_committed_together_in_one_transaction(tmp_path: Path) -> None:
    vault = KeyVault(tmp_path / "keys.sqlite3")
    commits: list[str] = []
    vault._conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    keys = {f"case-{n}": os.urandom(32) for n in range(THREADS)}
    with vault._lock:  # a commit in progress: every put now queues behind it
        threads = [threading.Thread(target=vault.put, args=([item],)) for item in keys.items()]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while (vault._open is None or len(vault._open.keys) < THREADS) and time.monotonic() < deadline:
            time.sleep(0.001)
        assert vault._open is not None and len(vault._open.keys) == THREADS
    for t in threads:
        t.join(30)
    assert len(commits) == 1, commits
    assert vault.get(sorted(keys)) == keys
    vault.close()


def test_a_put_whose_transaction_fails_raises_and_stores_nothing_of_its_group(tmp_path: Path) -> None:
    vault = KeyVault(tmp_path / "keys.sqlite3")
    bad = [("case-a", os.urandom(32)), ("case-b", object())]  # not a value SQLite can store
    with pytest.raises(sqlite3.ProgrammingError):
        vault.put(bad)  # type: ignore[arg-type]
    assert vault.get(["case-a", "case-b"]) == {}
    vault.put([("case-c", b"k" * 32)])  # the vault is usable after a failed group
    assert vault.get(["case-c"]) == {"case-c": b"k" * 32}
    vault.close()
