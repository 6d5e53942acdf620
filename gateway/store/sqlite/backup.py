"""An online backup of the store: SQLite's backup API copies a consistent snapshot while the gateway runs.

A plain file copy of a WAL database taken while it is written can miss committed pages still in the
``-wal`` file or catch a half-written page; the backup API reads one transaction's view. The copy is
written beside its target under a temporary name (mode 0600), switched to a single-file journal so it
stands alone, checked (integrity and the audit hash chain) and only then renamed into place.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from hotline_gateway.core.errors import BadInput, StoreError
from hotline_gateway.core.files import PRIVATE_FILE
from hotline_gateway.store.audit import verify_chain

#: pages copied per step; between steps the gateway's writer may commit (the copy restarts if it does)
PAGES_PER_STEP = 1024


@dataclass(frozen=True)
class BackupResult:
    path: Path
    bytes: int
    cases: int
    deliveries: int
    audit_entries: int
    audit_head: str


def backup(db_path: Path, out: Path) -> BackupResult:
    """Copy the store at ``db_path`` to ``out`` (which must not exist) and check the copy."""
    if not db_path.exists():
        raise BadInput(f"{db_path}: no store yet (has the gateway run?)")
    if out.exists():
        raise BadInput(f"{out}: already exists; not overwriting a backup")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except OSError as exc:
        raise BadInput(f"{out}: cannot create ({exc.strerror})") from None
    os.close(fd)
    try:
        with closing(sqlite3.connect(db_path, timeout=30)) as src, closing(sqlite3.connect(tmp)) as dst:
            src.backup(dst, pages=PAGES_PER_STEP)
            dst.execute("PRAGMA journal_mode=DELETE")
            result = _check(dst, out)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        tmp.replace(out)
    except sqlite3.Error as exc:
        raise StoreError(f"backup of {db_path} failed: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return result


def _check(db: sqlite3.Connection, out: Path) -> BackupResult:
    (status,) = db.execute("PRAGMA integrity_check").fetchone()
    if status != "ok":
        raise StoreError(f"the backup copy fails its integrity check: {status}")
    db.row_factory = sqlite3.Row
    summary = verify_chain(dict(r) for r in db.execute("SELECT * FROM audit ORDER BY seq"))
    (cases,) = db.execute("SELECT COUNT(*) FROM cases").fetchone()
    (deliveries,) = db.execute("SELECT COUNT(*) FROM deliveries").fetchone()
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    (size,) = db.execute("PRAGMA page_size").fetchone()
    return BackupResult(out, int(pages) * int(size), int(cases), int(deliveries), summary.entries, summary.head)
