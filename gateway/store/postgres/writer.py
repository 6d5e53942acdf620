"""Group commit for the PostgreSQL store: the writes of one node that append to the audit chain are
queued and committed together, one transaction a batch, with a savepoint per write.

The chain is appended under a transaction-level advisory lock that is held through the commit, and a
commit waits for the disk: transactions holding the lock cannot share a disk flush, so one transaction
per write caps a gateway at about one write per flush (a few hundred a second here) and a burst of
single-case submissions queues behind the lock. Batching the writes that piled up while the previous
batch was committing takes the lock and flushes once per batch, as the SQLite store's writer thread
does; nodes then take turns per batch, not per case.

Each write runs in its own savepoint: one that fails (a case id stored with other content) rolls back
alone and its caller gets the error; the others commit. A connection lost or a transaction the server
rolled back (deadlock between two nodes' batches, serialisation failure) before the commit runs the
whole batch again; a failure during the commit fails every write of the batch (outcome unknown).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from hotline_gateway.core.errors import GatewayError, StoreError
from hotline_gateway.core.log import get_logger
from hotline_gateway.store.records import AuditEntry

log = get_logger("hotline_gateway.store.postgres.writer")

Conn = psycopg.AsyncConnection[DictRow]
WriteOp = Callable[[Conn], Awaitable[tuple[Any, Sequence[AuditEntry]]]]
Append = Callable[[Conn, Sequence[AuditEntry]], Awaitable[None]]
#: the most writes committed together
MAX_BATCH = 500
RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)


class GroupWriter:
    def __init__(self, pool: AsyncConnectionPool[Conn], append: Append, describe: str) -> None:
        self._pool, self._append, self._describe = pool, append, describe
        self._queue: asyncio.Queue[tuple[WriteOp, asyncio.Future[Any]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="postgres-writer")

    async def submit(self, op: WriteOp) -> Any:
        if self._task is None or self._task.done():
            raise StoreError("store is closed")
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put((op, fut))
        return await fut

    async def stop(self) -> None:
        """Commit what is queued, then stop; anything submitted after is refused."""
        if self._task is None:
            return
        task, self._task = self._task, None
        await self._queue.join()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._commit(batch)
            except Exception as exc:  # never leave a caller waiting
                log.exception("writer.failed")
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(StoreError(f"commit failed: {type(exc).__name__}"))
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _commit(self, batch: list[tuple[WriteOp, asyncio.Future[Any]]]) -> None:
        live = [(op, fut) for op, fut in batch if not fut.cancelled()]
        for attempt in range(len(RETRY_DELAYS) + 1):
            outcomes: list[tuple[asyncio.Future[Any], bool, Any]] = []
            committing = False
            try:
                async with self._pool.connection() as conn, conn.transaction():
                    entries: list[AuditEntry] = []
                    for op, fut in live:
                        try:
                            async with conn.transaction():  # a savepoint: a failing write rolls back alone
                                value, written = await op(conn)
                        except psycopg.OperationalError:
                            raise  # the connection or the whole transaction: the batch runs again
                        except GatewayError as exc:
                            outcomes.append((fut, False, exc))
                        except psycopg.Error as exc:
                            outcomes.append((fut, False, StoreError(f"PostgreSQL: {type(exc).__name__}")))
                        else:
                            outcomes.append((fut, True, value))
                            entries += written
                    await self._append(conn, entries)
                    committing = True
                self.batches += 1
                for fut, ok, value in outcomes:
                    if not fut.done():
                        (fut.set_result if ok else fut.set_exception)(value)
                return
            except PoolTimeout:
                error = StoreError(f"no connection to {self._describe}")
            except psycopg.OperationalError as exc:
                if not committing and attempt < len(RETRY_DELAYS):
                    log.warning("writer.retry", attempt=attempt + 1, error=type(exc).__name__, writes=len(live))
                    await asyncio.sleep(RETRY_DELAYS[attempt])
                    continue
                error = StoreError(f"commit failed{', outcome unknown' if committing else ''}: {type(exc).__name__}")
            except psycopg.Error as exc:
                error = StoreError(f"commit failed: {type(exc).__name__}")
            for _, fut in live:
                if not fut.done():
                    fut.set_exception(error)
            return
