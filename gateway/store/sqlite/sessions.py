"""Operators' sessions of the status page."""

from __future__ import annotations

import sqlite3
import time

from hotline_gateway.store.sqlite.base import SqliteBase
from hotline_gateway.store.sqlite.writer import Writer


class SessionOps(SqliteBase):
    async def add_session(self, id_sha256: str, csrf: str, expires_at: float) -> None:
        def op(w: Writer) -> None:
            now = time.time()
            w.conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,))
            w.conn.execute("INSERT INTO sessions(id_sha256, csrf, created_at, expires_at) VALUES (?, ?, ?, ?)",
                           (id_sha256, csrf, now, expires_at))

        await self._write(op)

    async def session(self, id_sha256: str) -> str | None:
        """The live session's CSRF token, or None."""

        def q(c: sqlite3.Connection) -> str | None:
            row = c.execute("SELECT csrf FROM sessions WHERE id_sha256=? AND expires_at > ?",
                            (id_sha256, time.time())).fetchone()
            return None if row is None else str(row[0])

        return await self._read(q)

    async def end_session(self, id_sha256: str) -> None:
        await self._write(lambda w: w.conn.execute("DELETE FROM sessions WHERE id_sha256=?", (id_sha256,)))
