"""This node's own PostgreSQL session: its name, and the lead of the singletons, as advisory locks.

Session-level advisory locks live exactly as long as the session: when a node dies its connection
closes and the server frees them, so another node can take over. Two locks:

- the node's name, held for the process's lifetime: two processes never act as one node (each node's
  claims are its own; a restarted node gives back the claims its previous run left, which is safe only
  because nobody else holds that name);
- the leadership: the node holding it runs the singletons (work-queue poller, checkpoint signer,
  housekeeping); the others try to take it on every ``hold``.

The lead is a lease. The holder renews it on every ``hold`` (a round trip, well within the lease); the
server ends a session silent for longer than the lease (``idle_session_timeout``), freeing its locks
even when the node hangs without closing its socket; and the holder counts itself leader only until
one lease after its last renewal, so a node that stalled never acts on a lead it may have lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import psycopg

from hotline_gateway.core.errors import StoreError
from hotline_gateway.core.log import get_logger
from hotline_gateway.store.postgres import locks

log = get_logger("hotline_gateway.store.postgres.node")

#: how long a starting node waits for its name, held by a session of its killed predecessor still closing
NAME_WAIT_S = 10.0


class NodeSession:
    def __init__(self, dsn: str, node: str, lease_s: float) -> None:
        self.dsn, self.node, self.lease_s = dsn, node, lease_s
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        self._leading = False
        self._renewed = 0.0
        self._lock = asyncio.Lock()

    @property
    def leading(self) -> bool:
        return self._leading and time.monotonic() - self._renewed < self.lease_s

    async def start(self) -> None:
        """Connect and take this node's name; refuses when a live process already holds it."""
        deadline = time.monotonic() + NAME_WAIT_S
        while not await self._connect_or_fail():
            if time.monotonic() > deadline:
                await self.close()
                raise StoreError(f"node {self.node!r} is already running on this store: give each node its own "
                                 "[gateway] node name")
            await asyncio.sleep(0.2)

    async def _connect_or_fail(self) -> bool:
        try:
            return await self._connect()
        except psycopg.Error as exc:
            raise StoreError(f"node {self.node!r} cannot open its session: {type(exc).__name__}: "
                             f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"[:300]) from None

    async def _connect(self) -> bool:
        """A fresh session holding the node's name; False when another session holds it."""
        await self._drop()
        timeout = max(1, int(self.lease_s))
        conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True, connect_timeout=timeout,
                                                     application_name=f"hotline-gateway {self.node} (node)")
        try:
            await conn.execute(f"SET idle_session_timeout = {int(self.lease_s * 1000)}")
            cur = await conn.execute("SELECT pg_try_advisory_lock(%s, %s)",
                                     (locks.NODE_NAMESPACE, locks.node_key(self.node)))
            row = await cur.fetchone()
        except BaseException:
            await conn.close()
            raise
        if not (row and row[0]):
            await conn.close()
            return False
        self._conn = conn
        return True

    async def hold(self) -> bool:
        """Renew the lead, or try to take it; False on any failure (the session is then rebuilt next time)."""
        async with self._lock:
            try:
                await asyncio.wait_for(self._hold(), timeout=self.lease_s / 3)
            except (psycopg.Error, OSError, TimeoutError) as exc:
                if self._leading:
                    log.warning("leadership.lost", node=self.node, error=type(exc).__name__)
                self._leading = False
                await self._drop()
            return self.leading

    async def _hold(self) -> None:
        if self._conn is None or self._conn.closed:
            self._leading = False
            if not await self._connect():
                return
        assert self._conn is not None
        if self._leading:
            await self._conn.execute("SELECT 1")
        else:
            cur = await self._conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (locks.NAMESPACE, locks.LEADER))
            row = await cur.fetchone()
            self._leading = bool(row and row[0])
            if self._leading:
                log.info("leadership.acquired", node=self.node)
        self._renewed = time.monotonic()

    async def release(self) -> None:
        async with self._lock:
            if self._leading and self._conn is not None and not self._conn.closed:
                with contextlib.suppress(psycopg.Error, OSError):
                    await self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", (locks.NAMESPACE, locks.LEADER))
                log.info("leadership.released", node=self.node)
            self._leading = False

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.close()

    async def close(self) -> None:
        await self.release()
        await self._drop()
