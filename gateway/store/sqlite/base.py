"""The SQLite store's connections: one writer thread (group commit), one reader connection."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from hotline_gateway.core.errors import LifecycleRace, StoreError
from hotline_gateway.core.files import create_private, restrict
from hotline_gateway.store.records import Delivery, DeliveryState
from hotline_gateway.store.sqlite.migrations import migrate
from hotline_gateway.store.sqlite.rows import FRESH_MAX, RELEASE_MEMORY_S
from hotline_gateway.store.sqlite.vault import FILE as VAULT_FILE
from hotline_gateway.store.sqlite.vault import KeyVault
from hotline_gateway.store.sqlite.writer import Writer, connect, settle

T = TypeVar("T")
S = TypeVar("S", bound="SqliteBase")


class SqliteBase:
    """Connections, the writer thread and the claims held in memory, shared by the store's parts."""

    fresh_max = FRESH_MAX

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: Writer | None = None
        self._reader: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()
        self._claimed: dict[str, str] = {}  # message id -> partner
        self._released: dict[str, float] = {}  # message id -> monotonic time its claim ended
        #: (time, message id) in the order claims ended, so forgetting old releases costs only what it drops
        self._release_order: deque[tuple[float, str]] = deque()
        #: outbox rows this process queued at intake and no lane has claimed yet, so a claim finds their
        #: bytes here instead of reading them back (bounded; the oldest forgotten first, then read from disk)
        self._fresh: OrderedDict[str, Delivery] = OrderedDict()
        #: claimed messages whose case had no retraction or correction when the claim read them, so the
        #: lane's ``screen`` right after needs no read of its own (dropped when the claim ends)
        self._screened: set[str] = set()
        self._nonces: dict[tuple[str, str], int] = {}
        self._nonces_loaded = False
        self._vault: KeyVault | None = None
        #: threads for the vault's puts that hand their writes to the writer (``_write_after_keys``)
        self._key_puts: ThreadPoolExecutor | None = None

    def _remember_fresh(self, deliveries: Sequence[Delivery]) -> None:
        """Keep newly committed outbox rows for the first claim. Only unsealed ones: a sealed payload is
        opened from disk with its case's key at claim time, so an erased key still stops it."""
        fresh, held, released = self._fresh, self._claimed, self._released
        for d in deliveries:
            if d.sealed_payload is not None or d.state is not DeliveryState.QUEUED or d.attempts:
                continue
            if d.message_id in held or d.message_id in released:
                continue  # a lane already took it from disk, between the commit and this call
            fresh[d.message_id] = d
        while len(fresh) > self.fresh_max:
            fresh.popitem(last=False)

    def _reserve(self, message_ids: Sequence[str]) -> None:
        """Hold messages a change is about to cancel, so no lane claims them while it commits."""
        taken = [m for m in message_ids if m in self._claimed]
        if taken:
            raise LifecycleRace(f"{len(taken)} message(s) were claimed for sending while the change was prepared")
        for mid in message_ids:
            self._claimed[mid] = "(lifecycle)"

    def _unreserve(self, message_ids: Sequence[str]) -> None:
        self._unclaim(message_ids)

    def _unclaim(self, message_ids: Sequence[str]) -> None:
        now = time.monotonic()
        for mid in message_ids:
            self._screened.discard(mid)
            if self._claimed.pop(mid, None) is not None:
                self._released[mid] = now
                self._release_order.append((now, mid))

    def _forget_released(self, now: float | None = None) -> None:
        """Drop releases older than ``RELEASE_MEMORY_S`` (no claim still running began before them); runs
        on the event loop before every claim, so it walks only the entries it drops, never the whole map."""
        horizon = (time.monotonic() if now is None else now) - RELEASE_MEMORY_S
        order, released = self._release_order, self._released
        while order and order[0][0] < horizon:
            at, mid = order.popleft()
            if released.get(mid) == at:  # not released again since
                del released[mid]

    @classmethod
    async def open(cls: type[S], path: Path, *, recover: bool = True) -> S:
        """Open (creating and migrating as needed). ``recover`` re-queues deliveries an older version left
        in flight; only the gateway that owns the outbox passes it, never a command looking on."""
        store = cls(path)
        await asyncio.to_thread(store._open_sync, recover)
        return store

    def _open_sync(self, recover: bool) -> None:
        create_private(self.path)
        conn = connect(self.path)
        try:
            migrate(conn)
            if recover:
                conn.execute("UPDATE deliveries SET state='queued' WHERE state='in_flight'")
        finally:
            conn.close()
        for suffix in ("-wal", "-shm"):
            restrict(self.path.with_name(self.path.name + suffix))
        self._vault = KeyVault(self.path.with_name(VAULT_FILE))
        self._key_puts = ThreadPoolExecutor(max_workers=8, thread_name_prefix="vault-put")
        self._writer = Writer(self.path)
        self._writer.start()
        self._reader = connect(self.path)

    async def close(self) -> None:
        if self._key_puts is not None:  # first: puts under way hand their writes to the writer before it stops
            await asyncio.to_thread(self._key_puts.shutdown, wait=True)
            self._key_puts = None
        if self._writer is not None:
            self._writer.stop()
            await asyncio.to_thread(self._writer.join)
            self._writer = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._vault is not None:
            self._vault.close()
            self._vault = None

    @property
    def vault(self) -> KeyVault:
        if self._vault is None:
            raise StoreError("store is closed")
        return self._vault

    async def reporter_index_secret(self) -> bytes:
        return await asyncio.to_thread(self.vault.index_secret)

    @property
    def commit_batches(self) -> int:
        return self._writer.batches if self._writer else 0

    async def _write(self, fn: Callable[[Writer], T]) -> T:
        """Run ``fn`` in the next group commit; returns once it is durable."""
        if self._writer is None:
            raise StoreError("store is closed")
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._writer.queue.put((fn, fut))
        return await fut

    async def _write_after_keys(self, keys: list[tuple[str, bytes]], fn: Callable[[Writer], T]) -> T:
        """Store ``keys`` in the vault, then run ``fn`` in the next group commit; returns once both are durable.

        The put's thread hands ``fn`` to the writer itself the moment the keys are on disk: awaiting the
        put on the event loop and queueing the write from there put a loop wake-up (as late as the loop's
        lag) between the vault's fsync and the store's. The keys' fsync still precedes the store's commit
        (sealed data is never durable without its key); the writer never waits on the vault, so other
        writes are not held up behind it."""
        writer, pool = self._writer, self._key_puts
        if writer is None or pool is None:
            raise StoreError("store is closed")
        vault = self.vault
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()

        def put_then_queue() -> None:
            try:
                vault.put(keys)
            except BaseException as exc:
                fut.get_loop().call_soon_threadsafe(settle, fut, False, exc)
            else:
                writer.queue.put((fn, fut))

        pool.submit(put_then_queue)
        return await fut

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            if self._reader is None:
                raise StoreError("store is closed")
            with self._read_lock:
                self._reader.execute("BEGIN")
                try:
                    return fn(self._reader)
                finally:
                    self._reader.execute("COMMIT")

        return await asyncio.to_thread(run)

    async def hold_leadership(self) -> bool:
        """One node, always the leader: a SQLite store belongs to one gateway process."""
        return True

    async def release_leadership(self) -> None:
        return None

    async def probe_write(self, timeout: float = 5.0) -> None:
        """A real write through the writer thread, committed and synced like an intake: rewriting the
        schema version with the value it has changes nothing yet writes a page, so a read-only or full
        disk fails here where a bare ``SELECT`` in a transaction would pass."""
        if self._writer is None or not self._writer.is_alive():
            raise StoreError("store writer is not running")

        def op(w: Writer) -> None:
            (version,) = w.conn.execute("PRAGMA user_version").fetchone()
            w.conn.execute(f"PRAGMA user_version = {int(version)}")

        try:
            await asyncio.wait_for(self._write(op), timeout)
        except TimeoutError:
            raise StoreError(f"no commit within {timeout:g} s") from None
        except sqlite3.Error as exc:
            raise StoreError(f"write failed: {exc}") from None
