"""The key vault of a PostgreSQL store: the per-case keys that seal reporter data, shared by every node,
in a database of its own (``[gateway] vault``) so that the store's backups (``pg_dump``) carry the sealed
data but never the keys that open it.

Without a ``vault`` URL the keys are kept in the store's own database: erasure then still makes the data
unreadable in the live database, but not in dumps or WAL archives of that database taken before — name
a vault database (on a server whose WAL is not archived) to have erasure reach backups too. PostgreSQL
has no ``secure_delete``: a deleted key's row is vacuumed at once here (its space is reused; its bytes
may stay in the vault's data files until overwritten and in its WAL until recycled). See README.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from hotline_gateway.core.errors import StoreError
from hotline_gateway.core.log import get_logger
from hotline_gateway.store.postgres import locks

log = get_logger("hotline_gateway.store.postgres.vault")
Conn = psycopg.AsyncConnection[tuple[Any, ...]]
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS case_keys (case_id text PRIMARY KEY, key bytea NOT NULL,"
    " created_at double precision NOT NULL);"
    " CREATE TABLE IF NOT EXISTS secrets (name text PRIMARY KEY, value bytea NOT NULL);"
)


class PgKeyVault:
    def __init__(self, pool: AsyncConnectionPool[Conn], separate: bool) -> None:
        self._pool = pool
        self.separate = separate

    @classmethod
    async def open(cls, url: str, node: str, *, separate: bool) -> PgKeyVault:
        pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            url, min_size=1, max_size=4, open=False, name=f"hotline-vault-{node}", timeout=10.0,
            kwargs={"autocommit": True, "application_name": f"hotline-gateway {node} (vault)"})
        try:
            await pool.open(wait=True, timeout=10.0)
            async with pool.connection() as conn, conn.transaction():
                # nodes starting together: concurrent CREATE TABLE IF NOT EXISTS can collide in the catalog
                await conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (locks.NAMESPACE, locks.VAULT))
                await conn.execute(SCHEMA.encode())
        except psycopg.Error as exc:
            await pool.close()
            raise StoreError(f"the reporter-key vault cannot be opened: {type(exc).__name__}") from None
        if not separate:
            log.warning("vault.in_store_database", node=node,
                        detail="reporter keys share the store's database: erasure does not reach its backups; "
                               "set [gateway] vault to a database of its own")
        return cls(pool, separate)

    async def close(self) -> None:
        await self._pool.close()

    async def put(self, keys: Iterable[tuple[str, bytes]]) -> None:
        """Keep keys durably, before the sealed data that needs them is committed."""
        now = time.time()
        rows = [(case_id, key, now) for case_id, key in keys]
        try:
            async with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                await cur.executemany("INSERT INTO case_keys (case_id, key, created_at) VALUES (%s, %s, %s)"
                                      " ON CONFLICT DO NOTHING", rows)
        except psycopg.Error as exc:
            raise StoreError(f"the reporter-key vault refused a write: {type(exc).__name__}") from None

    async def get(self, case_ids: Sequence[str]) -> dict[str, bytes]:
        if not case_ids:
            return {}
        try:
            async with self._pool.connection() as conn:
                rows = await (await conn.execute("SELECT case_id, key FROM case_keys WHERE case_id = ANY(%s)",
                                                 (list(case_ids),))).fetchall()
        except psycopg.Error as exc:
            raise StoreError(f"the reporter-key vault cannot be read: {type(exc).__name__}") from None
        return {str(r[0]): bytes(r[1]) for r in rows}

    async def delete(self, case_ids: Sequence[str]) -> int:
        """Forget keys for good, then vacuum the table so their rows' space is reclaimed at once."""
        if not case_ids:
            return 0
        try:
            async with self._pool.connection() as conn:
                count = (await conn.execute("DELETE FROM case_keys WHERE case_id = ANY(%s)",
                                            (list(case_ids),))).rowcount
                await conn.execute("VACUUM case_keys")
        except psycopg.Error as exc:
            raise StoreError(f"the reporter-key vault refused an erasure: {type(exc).__name__}") from None
        return count

    async def index_secret(self) -> bytes:
        """The key of the reporter index, made once by whichever node asks first."""
        try:
            async with self._pool.connection() as conn:
                await conn.execute("INSERT INTO secrets (name, value) VALUES ('reporter_index', %s)"
                                   " ON CONFLICT DO NOTHING", (secrets.token_bytes(32),))
                row = await (await conn.execute("SELECT value FROM secrets WHERE name = 'reporter_index'")).fetchone()
        except psycopg.Error as exc:
            raise StoreError(f"the reporter-key vault cannot be read: {type(exc).__name__}") from None
        assert row is not None
        return bytes(row[0])
