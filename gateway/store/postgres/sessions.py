"""Operators' sessions of the status page, shared by every node: sign in on one, be known on all."""

from __future__ import annotations

import time

from hotline_gateway.store.postgres.base import Conn, PgBase


class SessionOps(PgBase):
    async def add_session(self, id_sha256: str, csrf: str, expires_at: float) -> None:
        async def op(conn: Conn) -> None:
            now = time.time()
            await conn.execute("DELETE FROM sessions WHERE expires_at <= %s", (now,))
            await conn.execute("INSERT INTO sessions (id_sha256, csrf, created_at, expires_at) VALUES (%s, %s, %s, %s)",
                               (id_sha256, csrf, now, expires_at))

        await self._tx(op)

    async def session(self, id_sha256: str) -> str | None:
        rows = await self._rows("SELECT csrf FROM sessions WHERE id_sha256 = %s AND expires_at > %s",
                                (id_sha256, time.time()))
        return str(rows[0]["csrf"]) if rows else None

    async def end_session(self, id_sha256: str) -> None:
        async def op(conn: Conn) -> None:
            await conn.execute("DELETE FROM sessions WHERE id_sha256 = %s", (id_sha256,))

        await self._tx(op)
