"""TAXII 2.1 collections: each partner's STIX outbox indexed object by object (see ``taxii_records``),
and status resources, shared by every node. Objects of cancelled deliveries are not served.

Indexing cannot follow a watermark of row ids here, as the SQLite store does: on several nodes, rows
are numbered when inserted but committed in any order, so a row numbered below the watermark could
commit after it and never be served. Each delivery row says instead whether it was indexed
(``taxii_indexed``, set at insert for transports that are not TAXII), and the partner's index row is
locked while its pending rows are indexed, so nodes index one after the other and ``added_us`` only
grows.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import orjson

from hotline_gateway.store.postgres.base import Conn, PgBase
from hotline_gateway.store.postgres.rows import DELIVERY_COLUMNS, FROM_DELIVERIES, delivery_row
from hotline_gateway.store.records import Delivery
from hotline_gateway.store.taxii_records import COLUMNS, Entry, Filter, entry, object_version

PENDING = "SELECT 1 FROM deliveries WHERE partner = %s AND NOT taxii_indexed LIMIT 1"


class TaxiiOps(PgBase):

    async def taxii_refresh(self, partner: str) -> None:
        """Index the partner's outbox rows not indexed yet (a read first: most calls find none)."""
        if not await self._rows(PENDING, (partner,)):
            return

        async def op(conn: Conn) -> None:
            await conn.execute("INSERT INTO taxii_indexed (partner, last_added_us) VALUES (%s, 0)"
                               " ON CONFLICT DO NOTHING", (partner,))
            row = await (await conn.execute("SELECT last_added_us FROM taxii_indexed WHERE partner = %s FOR UPDATE",
                                            (partner,))).fetchone()
            floor_us = int(row["last_added_us"]) if row else 0
            rows = await (await conn.execute(
                "SELECT d.message_id, d.created_at, p.payload, p.sealed FROM deliveries d"
                " JOIN payloads p ON p.message_id = d.message_id"
                " WHERE d.partner = %s AND NOT d.taxii_indexed ORDER BY d.row_id", (partner,))).fetchall()
            found: list[tuple[Any, ...]] = []
            for r in rows:
                added_us = max(int(r["created_at"] * 1_000_000), floor_us)
                floor_us = added_us
                if r["sealed"]:
                    continue  # carries reporter data: never served to a sharing platform
                try:
                    objects = orjson.loads(r["payload"]).get("objects", [])
                except (orjson.JSONDecodeError, AttributeError):
                    continue  # not a bundle: nothing to serve
                for obj in objects if isinstance(objects, list) else []:
                    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
                        continue
                    version, version_us = object_version(obj, added_us)
                    found.append((partner, obj["id"], str(obj.get("type", "")), str(obj.get("spec_version", "2.1")),
                                  version, version_us, added_us, r["message_id"], orjson.dumps(obj)))
            if found:
                async with conn.cursor() as cur:
                    await cur.executemany(
                        "INSERT INTO taxii_objects (partner, object_id, type, spec_version, version, version_us,"
                        " added_us, message_id, object) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                        " ON CONFLICT DO NOTHING", found)
            if rows:
                await conn.execute("UPDATE deliveries SET taxii_indexed = true WHERE message_id = ANY(%s)",
                                   ([r["message_id"] for r in rows],))
                await conn.execute("UPDATE taxii_indexed SET last_added_us = %s WHERE partner = %s",
                                   (floor_us, partner))
            return None

        await self._tx(op)

    async def taxii_objects(self, partner: str, where: Filter, limit: int) -> list[Entry]:
        """Up to ``limit`` entries in the order they were added, after ``where.after``, matching the filters."""
        sql = [f"SELECT {COLUMNS} FROM taxii_objects t JOIN deliveries d ON d.message_id = t.message_id"
               " WHERE t.partner = %s AND d.state != 'cancelled' AND (t.added_us, t.seq) > (%s, %s)"]
        args: list[Any] = [partner, where.after[0], where.after[1]]
        for column, values in (("t.object_id", where.ids), ("t.type", where.types),
                               ("t.spec_version", where.spec_versions)):
            if values:
                sql.append(f"AND {column} = ANY(%s)")
                args.append(list(values))
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
                clauses.append("t.version_us = %s")
                args.append(v)
        if clauses:
            sql.append("AND (" + " OR ".join(clauses) + ")")
        sql.append("ORDER BY t.added_us, t.seq LIMIT %s")
        args.append(limit)
        rows = await self._rows(" ".join(sql), args)
        return [entry(tuple(r.values())) for r in rows]

    async def taxii_undelivered(self, message_ids: Sequence[str]) -> list[Delivery]:
        """Those of these deliveries not yet marked delivered (a client has now fetched their bundles)."""
        if not message_ids:
            return []
        rows = await self._rows(f"SELECT {DELIVERY_COLUMNS} FROM {FROM_DELIVERIES} WHERE d.message_id = ANY(%s)"
                                " AND d.state NOT IN ('delivered', 'cancelled')", (list(message_ids),))
        return [delivery_row(r) for r in rows]

    async def taxii_put_status(self, partner: str, status: dict[str, Any]) -> None:
        async def op(conn: Conn) -> None:
            await conn.execute("INSERT INTO taxii_status (id, partner, created_at, doc) VALUES (%s, %s, %s, %s)",
                               (status["id"], partner, time.time(), orjson.dumps(status)))

        await self._tx(op)

    async def taxii_status(self, partner: str, status_id: str) -> dict[str, Any] | None:
        """A status resource, only to the partner it belongs to."""
        rows = await self._rows("SELECT doc FROM taxii_status WHERE id = %s AND partner = %s", (status_id, partner))
        return dict(orjson.loads(rows[0]["doc"])) if rows else None
