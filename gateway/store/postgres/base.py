"""The PostgreSQL store's connections: a pool for its transactions, and this node's own session.

Every store method is one transaction on a pooled connection (READ COMMITTED). A connection lost, or a
transaction the server rolled back (serialisation failure, deadlock, shutdown), before the commit was
sent is run again on a fresh connection with exponential backoff: nothing of it was written. A failure
while committing is not retried (its outcome is unknown); it is reported as a ``StoreError``, and what
the callers do next is idempotent anyway (message ids, case ids, claims with leases).

Audit entries are appended last in their transaction, under a transaction-level advisory lock, so the
chain is one chain for every node (see ``store.py`` for why a lock and not per-node segments); the
writes that append are committed in groups (``writer.py``) so the lock is taken once per group.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from hotline_gateway.core.errors import GatewayError, StoreError
from hotline_gateway.core.log import get_logger
from hotline_gateway.core.timefmt import now_iso
from hotline_gateway.store.audit import GENESIS, chain_rows
from hotline_gateway.store.postgres import locks
from hotline_gateway.store.postgres.migrations import migrate
from hotline_gateway.store.postgres.node import NodeSession
from hotline_gateway.store.postgres.vault import PgKeyVault
from hotline_gateway.store.postgres.writer import GroupWriter
from hotline_gateway.store.records import AuditEntry

T = TypeVar("T")
S = TypeVar("S", bound="PgBase")
Conn = psycopg.AsyncConnection[DictRow]

log = get_logger("hotline_gateway.store.postgres")

#: waits between attempts of a transaction that failed before its commit (about 6 s in all)
RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)
#: how long an operation waits for a pooled connection
CONNECT_TIMEOUT_S = 10.0
AUDIT_INSERT = (
    "INSERT INTO audit(seq, at, kind, message_id, case_id, partner, payload_sha256, signatures, detail, doc_sha256,"
    " prev_hash, hash) VALUES (%(seq)s, %(at)s, %(kind)s, %(message_id)s, %(case_id)s, %(partner)s,"
    " %(payload_sha256)s, %(signatures)s, %(detail)s, %(doc_sha256)s, %(prev_hash)s, %(hash)s)"
)


def describe(dsn: str) -> str:
    """The URL without its password, for logs and the start-up block."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "postgresql://(unparsable URL)"
    host, port, db, user = (str(info.get(k) or "") for k in ("host", "port", "dbname", "user"))
    return f"postgresql://{user + '@' if user else ''}{host or 'localhost'}{':' + port if port else ''}/{db}"


async def append_audit(conn: Conn, entries: Sequence[AuditEntry]) -> None:
    """Append to the one chain of this gateway: the advisory lock is held until the transaction ends,
    so the head read after taking it is the head every node sees, and no one appends in between.
    (Two statements: under READ COMMITTED a statement's snapshot is taken when it starts, so a head read
    in the statement that waits for the lock could be stale.)"""
    if not entries:
        return
    await conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (locks.NAMESPACE, locks.AUDIT))
    row = await (await conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")).fetchone()
    seq, head = (int(row["seq"]), str(row["hash"])) if row else (0, GENESIS)
    async with conn.cursor() as cur:
        await cur.executemany(AUDIT_INSERT, chain_rows(entries, seq, head, now_iso()))


class PgBase:
    """The pool, this node's session and the transaction helpers shared by the store's parts."""

    def __init__(self, dsn: str, *, gateway: str, node: str, claim_lease_s: float, leader_lease_s: float) -> None:
        self.dsn, self.gateway, self.node = dsn, gateway, node
        self.claim_lease_s, self.leader_lease_s = claim_lease_s, leader_lease_s
        self._pool: AsyncConnectionPool[Conn] | None = None
        self._session: NodeSession | None = None
        self._vault: PgKeyVault | None = None
        self._writer: GroupWriter | None = None

    @classmethod
    async def open(cls: type[S], dsn: str, *, gateway: str, node: str = "node", recover: bool = True,
                   claim_lease_s: float = 120.0, leader_lease_s: float = 15.0, max_connections: int = 16,
                   vault: str | None = None) -> S:
        """Connect, migrate, and check the database is this gateway's; open the reporter-key vault
        (``vault``, a database of its own; by default the store's). With ``recover`` (the running gateway,
        never a command looking on) this node's name is taken for the process's lifetime and the claims
        an earlier run of this node left are given back at once."""
        store = cls(dsn, gateway=gateway, node=node, claim_lease_s=claim_lease_s, leader_lease_s=leader_lease_s)
        pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            dsn, connection_class=psycopg.AsyncConnection[DictRow], min_size=1, max_size=max_connections,
            kwargs={"autocommit": True, "row_factory": dict_row, "application_name": f"hotline-gateway {node}"},
            open=False, name=f"hotline-{node}", timeout=CONNECT_TIMEOUT_S)
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        except PoolTimeout:
            await pool.close()
            raise StoreError(f"cannot connect to {describe(dsn)} within {CONNECT_TIMEOUT_S:g} s") from None
        store._pool = pool
        store._writer = GroupWriter(pool, append_audit, describe(dsn))
        store._writer.start()
        try:
            await store._tx(lambda c: migrate(c, gateway))
            store._vault = await PgKeyVault.open(vault or dsn, node, separate=vault is not None and vault != dsn)
            if recover:
                store._session = NodeSession(dsn, node, leader_lease_s)
                await store._session.start()
                released = await store._tx(store._release_own_claims)
                if released:
                    log.info("claims.recovered", node=node, count=released)
        except BaseException:
            await store.close()
            raise
        return store

    async def _release_own_claims(self, conn: Conn) -> int:
        cur = await conn.execute("UPDATE deliveries SET state='queued', claimed_by=NULL, lease_until=NULL"
                                 " WHERE state='in_flight' AND claimed_by=%s", (self.node,))
        return cur.rowcount

    async def close(self) -> None:
        """Give back what this node still claims (the worker has drained; anything left is another
        node's to send now rather than after the lease), hand over the lead, close the pool."""
        if self._session is not None:
            try:
                released = await self._tx(self._release_own_claims)
                if released:
                    log.info("claims.released", node=self.node, count=released)
            except StoreError as exc:
                log.warning("claims.not_released", node=self.node, error=exc.message)
            await self._session.close()
            self._session = None
        if self._writer is not None:
            await self._writer.stop()
            self._writer = None
        if self._vault is not None:
            await self._vault.close()
            self._vault = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @property
    def vault(self) -> PgKeyVault:
        if self._vault is None:
            raise StoreError("store is closed")
        return self._vault

    async def reporter_index_secret(self) -> bytes:
        return await self.vault.index_secret()

    # --- transactions -----------------------------------------------------------------------------

    def _pooled(self) -> AsyncConnectionPool[Conn]:
        if self._pool is None:
            raise StoreError("store is closed")
        return self._pool

    async def _tx(self, op: Callable[[Conn], Awaitable[T]], *, transaction: bool = True) -> T:
        """Run ``op`` in one transaction, committed before this returns; run again while nothing was
        written. Without ``transaction`` each statement of ``op`` commits on its own (reads)."""
        pool = self._pooled()
        for attempt in range(len(RETRY_DELAYS) + 1):
            committing = False
            try:
                async with pool.connection() as conn:
                    if not transaction:
                        return await op(conn)
                    async with conn.transaction():
                        value = await op(conn)
                        committing = True
                    return value
            except GatewayError:
                raise
            except PoolTimeout:
                raise StoreError(f"no connection to {describe(self.dsn)} within {CONNECT_TIMEOUT_S:g} s") from None
            except psycopg.OperationalError as exc:
                if committing:
                    raise StoreError(f"commit failed, outcome unknown: {_reason(exc)}") from None
                if attempt == len(RETRY_DELAYS):
                    raise StoreError(f"PostgreSQL: {_reason(exc)}") from None
                log.warning("store.retry", attempt=attempt + 1, error=_reason(exc))
                await asyncio.sleep(RETRY_DELAYS[attempt])
            except psycopg.Error as exc:
                raise StoreError(f"PostgreSQL: {_reason(exc)}") from None
        raise AssertionError("unreachable")

    async def _write(self, op: Callable[[Conn], Awaitable[tuple[T, Sequence[AuditEntry]]]]) -> T:
        """A write whose audit entries (returned by ``op``) join the chain: committed with the other such
        writes queued meanwhile, in one transaction that appends them all last (``writer.py``)."""
        if self._writer is None:
            raise StoreError("store is closed")
        value: T = await self._writer.submit(op)
        return value

    async def _read(self, op: Callable[[Conn], Awaitable[T]]) -> T:
        """Reads: statements on a pooled connection outside a transaction (no BEGIN/COMMIT round trips),
        retried like a transaction."""
        return await self._tx(op, transaction=False)

    async def _rows(self, sql: str, args: Sequence[Any] | dict[str, Any] = ()) -> list[DictRow]:
        async def q(conn: Conn) -> list[DictRow]:
            return await (await conn.execute(sql, args)).fetchall()

        return await self._read(q)

    # --- readiness and leadership -----------------------------------------------------------------

    async def probe_write(self, timeout: float = 5.0) -> None:
        """A real, synced write (one row rewritten with the value it has), within ``timeout``."""

        async def op(conn: Conn) -> None:
            await conn.execute("UPDATE meta SET value=value WHERE key='gateway'")

        started = time.monotonic()
        try:
            await asyncio.wait_for(self._tx(op), timeout)
        except TimeoutError:
            raise StoreError(f"no commit within {timeout:g} s") from None
        if time.monotonic() - started > timeout / 2:
            log.warning("store.slow_commit", seconds=round(time.monotonic() - started, 3))

    async def hold_leadership(self) -> bool:
        """True while this node holds the leadership lock on its own session (see ``node.py``)."""
        if self._session is None:
            return False
        return await self._session.hold()

    async def release_leadership(self) -> None:
        if self._session is not None:
            await self._session.release()


def _reason(exc: psycopg.Error) -> str:
    """An error's class and first line, never the statement's parameters (they may hold reporter data)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    code = f" [{exc.sqlstate}]" if exc.sqlstate else ""
    return f"{type(exc).__name__}{code}: {first}"[:300]
