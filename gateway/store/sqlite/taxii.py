"""TAXII 2.1 collections: each partner's STIX outbox indexed object by object (see ``taxii_records``),
and status resources. Objects of cancelled deliveries are not served."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import Any

import orjson

from hotline_gateway.store.records import Delivery
from hotline_gateway.store.sqlite.base import SqliteBase
from hotline_gateway.store.sqlite.rows import DELIVERY_COLUMNS, FROM_DELIVERIES, delivery_row
from hotline_gateway.store.sqlite.writer import Writer
from hotline_gateway.store.taxii_records import COLUMNS, Entry, Filter, entry, object_version


class TaxiiOps(SqliteBase):

    async def taxii_refresh(self, partner: str) -> None:
        """Index the partner's outbox rows added since the last call (a read first: most calls find none)."""

        def behind(c: sqlite3.Connection) -> bool:
            row = c.execute("SELECT last_rowid FROM taxii_indexed WHERE partner=?", (partner,)).fetchone()
            newer = c.execute("SELECT 1 FROM deliveries WHERE partner=? AND rowid > ? LIMIT 1",
                              (partner, row[0] if row else 0)).fetchone()
            return newer is not None

        if not await self._read(behind):
            return

        def op(w: Writer) -> None:
            c = w.conn
            row = c.execute("SELECT last_rowid, last_added_us FROM taxii_indexed WHERE partner=?",
                            (partner,)).fetchone()
            last_rowid, floor_us = (row[0], row[1]) if row else (0, 0)
            rows = c.execute("SELECT d.rowid, d.message_id, d.created_at, p.payload FROM deliveries d"
                             " JOIN payloads p ON p.message_id = d.message_id"
                             " WHERE d.partner=? AND p.sealed=0 AND d.rowid > ? ORDER BY d.rowid",
                             (partner, last_rowid)).fetchall()
            for rowid, message_id, created_at, payload in rows:
                added_us = max(int(created_at * 1_000_000), floor_us)
                floor_us, last_rowid = added_us, rowid
                try:
                    objects = orjson.loads(payload).get("objects", [])
                except (orjson.JSONDecodeError, AttributeError):
                    continue  # not a bundle: nothing to serve
                for obj in objects if isinstance(objects, list) else []:
                    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
                        continue
                    version, version_us = object_version(obj, added_us)
                    c.execute("INSERT OR IGNORE INTO taxii_objects(partner, object_id, type, spec_version, version,"
                              " version_us, added_us, message_id, object) VALUES (?,?,?,?,?,?,?,?,?)",
                              (partner, obj["id"], str(obj.get("type", "")), str(obj.get("spec_version", "2.1")),
                               version, version_us, added_us, message_id, orjson.dumps(obj)))
            if rows:
                c.execute("INSERT OR REPLACE INTO taxii_indexed(partner, last_rowid, last_added_us) VALUES (?,?,?)",
                          (partner, last_rowid, floor_us))

        await self._write(op)

    async def taxii_objects(self, partner: str, where: Filter, limit: int) -> list[Entry]:
        """Up to ``limit`` entries in the order they were added, after ``where.after``, matching the filters."""

        def q(c: sqlite3.Connection) -> list[Entry]:
            sql = [f"SELECT {COLUMNS} FROM taxii_objects t JOIN deliveries d ON d.message_id = t.message_id"
                   " WHERE t.partner=? AND d.state != 'cancelled'"
                   " AND (t.added_us > ? OR (t.added_us = ? AND t.seq > ?))"]
            args: list[Any] = [partner, where.after[0], where.after[0], where.after[1]]
            for column, values in (("t.object_id", where.ids), ("t.type", where.types),
                                   ("t.spec_version", where.spec_versions)):
                if values:
                    sql.append(f"AND {column} IN ({','.join('?' * len(values))})")
                    args += list(values)
            clauses: list[str] = []
            for v in where.versions:
                if v == "all":
                    clauses = []
                    break
                if v in ("last", "first"):
                    agg = "MAX" if v == "last" else "MIN"
                    clauses.append(f"t.version_us = (SELECT {agg}(o.version_us) FROM taxii_objects o"
                                   " WHERE o.partner = t.partner AND o.object_id = t.object_id)")
                else:
                    clauses.append("t.version_us = ?")
                    args.append(v)
            if clauses:
                sql.append("AND (" + " OR ".join(clauses) + ")")
            sql.append("ORDER BY t.added_us, t.seq LIMIT ?")
            args.append(limit)
            return [entry(r) for r in c.execute(" ".join(sql), args)]

        return await self._read(q)

    async def taxii_undelivered(self, message_ids: Sequence[str]) -> list[Delivery]:
        """Those of these deliveries not yet marked delivered (a client has now fetched their bundles)."""

        def q(c: sqlite3.Connection) -> list[Delivery]:
            marks = ",".join("?" * len(message_ids))
            rows = c.execute(f"SELECT {DELIVERY_COLUMNS} FROM {FROM_DELIVERIES} WHERE d.message_id IN ({marks})"
                             " AND d.state NOT IN ('delivered', 'cancelled')", message_ids)
            return [delivery_row(r) for r in rows]

        return await self._read(q) if message_ids else []

    async def taxii_put_status(self, partner: str, status: dict[str, Any]) -> None:
        def op(w: Writer) -> None:
            w.conn.execute("INSERT INTO taxii_status(id, partner, created_at, doc) VALUES (?,?,?,?)",
                           (status["id"], partner, time.time(), orjson.dumps(status)))

        await self._write(op)

    async def taxii_status(self, partner: str, status_id: str) -> dict[str, Any] | None:
        """A status resource, only to the partner it belongs to."""

        def q(c: sqlite3.Connection) -> dict[str, Any] | None:
            row = c.execute("SELECT doc FROM taxii_status WHERE id=? AND partner=?", (status_id, partner)).fetchone()
            return None if row is None else dict(orjson.loads(row[0]))

        return await self._read(q)
