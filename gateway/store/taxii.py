"""TAXII 2.1 collections in the store: each partner's STIX outbox indexed object by object, and status resources.

A collection is the STIX bundles routed to a partner (its outbox rows). Before each read, the rows
added since the last read are indexed: every object version once per collection (our identity and the
TLP marking recur in every bundle), with ``added_us``, the microsecond it entered the collection, and
``version_us``, its version (``modified``, else ``created``, else the time it was added) -- integers,
stored and compared as the same representation, so ``added_after=T`` is strictly after T and a client
polling from the last ``X-TAXII-Date-Added-Last`` never gets that object again. ``added_us`` is the
delivery's creation time, but never earlier than anything already indexed for the partner, so a row
committed late cannot slip behind a client's cursor. Objects of cancelled deliveries are not served.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from hotline_gateway.store.records import Delivery
from hotline_gateway.store.sqlite import _DELIVERY_COLUMNS, SqliteStore, _delivery, _Writer


def to_us(text: str) -> int:
    """An RFC 3339 timestamp as integer microseconds since the epoch (digits past the sixth are dropped: a time
    between two microseconds is after the earlier one); ValueError when it is not one."""
    stamp = text.strip()
    if not stamp.endswith(("Z", "z")) or "T" not in stamp.upper():
        raise ValueError(text)
    head, _, fraction = stamp[:-1].partition(".")
    if fraction and not fraction.isdigit():
        raise ValueError(text)
    moment = datetime.fromisoformat(head.upper() + "+00:00")
    return int(moment.timestamp()) * 1_000_000 + int((fraction + "000000")[:6] or 0)


def from_us(value: int) -> str:
    """Integer microseconds as the TAXII timestamp (six fractional digits, Z)."""
    seconds, micros = divmod(value, 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{micros:06d}Z"


@dataclass(frozen=True, slots=True)
class Entry:
    """One object version in a collection."""

    seq: int
    object_id: str
    type: str
    spec_version: str
    version: str
    version_us: int
    added_us: int
    message_id: str
    object: dict[str, Any]

    @property
    def date_added(self) -> str:
        return from_us(self.added_us)


@dataclass(frozen=True, slots=True)
class Filter:
    """TAXII's filters (§3.4): added_after, match[id], match[type], match[version], match[spec_version]."""

    after: tuple[int, int] = (-1, -1)  # (added_us, seq) to start after
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    #: "last" (default), "first", "all", or version timestamps as microseconds
    versions: tuple[str | int, ...] = ("last",)
    spec_versions: tuple[str, ...] = ()


_COLUMNS = "t.seq, t.object_id, t.type, t.spec_version, t.version, t.version_us, t.added_us, t.message_id, t.object"


def _entry(row: sqlite3.Row | tuple[Any, ...]) -> Entry:
    return Entry(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], orjson.loads(row[8]))


def _version(obj: dict[str, Any], added_us: int) -> tuple[str, int]:
    for key in ("modified", "created"):
        value = obj.get(key)
        if isinstance(value, str):
            try:
                return value, to_us(value)
            except ValueError:
                continue
    return from_us(added_us), added_us


class TaxiiStore:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def refresh(self, partner: str) -> None:
        """Index the partner's outbox rows added since the last call (a read first: most calls find none)."""

        def behind(c: sqlite3.Connection) -> bool:
            row = c.execute("SELECT last_rowid FROM taxii_indexed WHERE partner=?", (partner,)).fetchone()
            newer = c.execute("SELECT 1 FROM deliveries WHERE partner=? AND rowid > ? LIMIT 1",
                              (partner, row[0] if row else 0)).fetchone()
            return newer is not None

        if not await self.store.read(behind):
            return

        def op(w: _Writer) -> None:
            c = w.conn
            row = c.execute("SELECT last_rowid, last_added_us FROM taxii_indexed WHERE partner=?",
                            (partner,)).fetchone()
            last_rowid, floor_us = (row[0], row[1]) if row else (0, 0)
            rows = c.execute("SELECT rowid, message_id, created_at, payload FROM deliveries"
                             " WHERE partner=? AND rowid > ? ORDER BY rowid", (partner, last_rowid)).fetchall()
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
                    version, version_us = _version(obj, added_us)
                    c.execute("INSERT OR IGNORE INTO taxii_objects(partner, object_id, type, spec_version, version,"
                              " version_us, added_us, message_id, object) VALUES (?,?,?,?,?,?,?,?,?)",
                              (partner, obj["id"], str(obj.get("type", "")), str(obj.get("spec_version", "2.1")),
                               version, version_us, added_us, message_id, orjson.dumps(obj)))
            if rows:
                c.execute("INSERT OR REPLACE INTO taxii_indexed(partner, last_rowid, last_added_us) VALUES (?,?,?)",
                          (partner, last_rowid, floor_us))

        await self.store.write(op)

    async def objects(self, partner: str, where: Filter, limit: int) -> list[Entry]:
        """Up to ``limit`` entries in the order they were added, after ``where.after``, matching the filters."""

        def q(c: sqlite3.Connection) -> list[Entry]:
            sql = [f"SELECT {_COLUMNS} FROM taxii_objects t JOIN deliveries d ON d.message_id = t.message_id"
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
            return [_entry(r) for r in c.execute(" ".join(sql), args)]

        return await self.store.read(q)

    async def undelivered(self, message_ids: list[str]) -> list[Delivery]:
        """Those of these deliveries not yet marked delivered (a client has now fetched their bundles)."""

        def q(c: sqlite3.Connection) -> list[Delivery]:
            marks = ",".join("?" * len(message_ids))
            rows = c.execute(f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE message_id IN ({marks})"
                             " AND state NOT IN ('delivered', 'cancelled')", message_ids)
            return [_delivery(r) for r in rows]

        return await self.store.read(q) if message_ids else []

    async def put_status(self, partner: str, status: dict[str, Any]) -> None:
        def op(w: _Writer) -> None:
            w.conn.execute("INSERT INTO taxii_status(id, partner, created_at, doc) VALUES (?,?,?,?)",
                           (status["id"], partner, time.time(), orjson.dumps(status)))

        await self.store.write(op)

    async def status(self, partner: str, status_id: str) -> dict[str, Any] | None:
        """A status resource, only to the partner it belongs to."""

        def q(c: sqlite3.Connection) -> dict[str, Any] | None:
            row = c.execute("SELECT doc FROM taxii_status WHERE id=? AND partner=?", (status_id, partner)).fetchone()
            return None if row is None else dict(orjson.loads(row[0]))

        return await self.store.read(q)
