"""The PostgreSQL store: several nodes of one gateway on one database.

What one SQLite process keeps in memory is here in the database, shared by every node: claims (rows
``in_flight``, ``claimed_by`` a node until ``lease_until``, taken with ``FOR UPDATE SKIP LOCKED``),
nonces (a unique key: the first node to spend one wins), sessions, circuits, transport state, and the
reporter-key vault (``vault.py``: a database of its own, outside the store's backups). Each
node holds its name and, when it leads, the singletons' lead as session-level advisory locks
(``node.py``).

The audit chain stays one chain per gateway: each transaction appends its entries last, after taking a
transaction-level advisory lock, reading the head and linking to it; the lock is released by the
commit. The alternative, a sequence with one chain segment per node, was measured against it on this
store's workload (concurrent transactions of an intake, its outbox rows and three audit entries, on
two cores with a 1.8 ms fsync): one transaction per write under the lock reached about 300-470 a
second with 8 in flight against 1,300-1,900 without it, since commits holding the lock cannot share a
disk flush. The lock was kept, and its cost taken away where it arises: a node's writes that append
are committed in groups (``writer.py``: the writes that queued while the previous group was
committing, a savepoint each), so the lock is taken and the disk flushed once per group, and two
nodes take turns per group, not per case — as the SQLite store's writer thread does on one node. With
one chain, every verifier, checkpoint and partner's witness speaks of one head, as with one node;
segments would make ``audit verify`` and the checkpoints name one head per node that ever ran.
``bench/throughput.py --store`` gives the end-to-end figures.
"""

from __future__ import annotations

from hotline_gateway.store.postgres.cases import CaseOps
from hotline_gateway.store.postgres.evidence import AuditOps
from hotline_gateway.store.postgres.intake import IntakeOps
from hotline_gateway.store.postgres.lifecycle import LifecycleOps
from hotline_gateway.store.postgres.outbox import OutboxOps
from hotline_gateway.store.postgres.report import ReportOps
from hotline_gateway.store.postgres.retention import RetentionOps
from hotline_gateway.store.postgres.sessions import SessionOps
from hotline_gateway.store.postgres.taxii import TaxiiOps


class PostgresStore(IntakeOps, CaseOps, OutboxOps, AuditOps, SessionOps, ReportOps, RetentionOps, TaxiiOps,
                    LifecycleOps):
    """Open with ``await PostgresStore.open(url, gateway=..., node=...)``; close with ``close()``."""
