"""Durable progress of multi-step deliveries, keyed by message id.

A CyberTipline-style report is submit → fileinfo → finish; if the gateway stops between steps, or the
finish answer is lost, the next attempt must carry on with the same report id rather than file the
report twice. Each step's result is written before the next step starts.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import orjson

from hotline_gateway.store.sqlite import SqliteStore, _Writer


class TransportState:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def get(self, message_id: str) -> dict[str, Any] | None:
        def q(c: sqlite3.Connection) -> dict[str, Any] | None:
            row = c.execute("SELECT state FROM transport_state WHERE message_id=?", (message_id,)).fetchone()
            return None if row is None else dict(orjson.loads(row[0]))

        return await self.store.read(q)

    async def put(self, message_id: str, state: dict[str, Any] | None) -> None:
        def op(w: _Writer) -> None:
            if state is None:
                w.conn.execute("DELETE FROM transport_state WHERE message_id=?", (message_id,))
            else:
                w.conn.execute("INSERT OR REPLACE INTO transport_state(message_id, state, updated_at) VALUES (?,?,?)",
                               (message_id, orjson.dumps(state).decode(), time.time()))

        await self.store.write(op)
