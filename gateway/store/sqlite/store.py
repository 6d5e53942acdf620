"""The embedded default store: one SQLite file in WAL mode, one writer thread with group commit, and a
reader connection for queries (see ``writer.py`` for how writes become durable).

Claims are in memory: this store belongs to one gateway process (SQLite is the single-node store), so
claiming a due delivery need not cost a write through the writer. The worker reads due rows, holds them
as claimed until their outcome is committed, and a crash simply leaves them queued: they are sent again
after the restart under the same message id, and the receiver deduplicates.

The implementation is split by topic (``intake``, ``cases``, ``outbox``, ``evidence``, ``sessions``) over one base
(``base``: the connections); ``SqliteStore`` is all of them, and satisfies ``store.interface.Store``.
"""

from __future__ import annotations

from hotline_gateway.store.sqlite.cases import CaseOps
from hotline_gateway.store.sqlite.evidence import AuditOps
from hotline_gateway.store.sqlite.intake import IntakeOps
from hotline_gateway.store.sqlite.lifecycle import LifecycleOps
from hotline_gateway.store.sqlite.outbox import OutboxOps
from hotline_gateway.store.sqlite.report import ReportOps
from hotline_gateway.store.sqlite.retention import RetentionOps
from hotline_gateway.store.sqlite.sessions import SessionOps
from hotline_gateway.store.sqlite.taxii import TaxiiOps


class SqliteStore(IntakeOps, CaseOps, OutboxOps, AuditOps, SessionOps, ReportOps, RetentionOps, TaxiiOps,
                  LifecycleOps):
    """Durable store on one SQLite file. Open with ``await SqliteStore.open(path)``; close with ``close()``."""
