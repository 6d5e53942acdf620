"""Cases: stored documents, who sent them, and actions recorded on their items."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from hotline_gateway.store.interface import Action
from hotline_gateway.store.postgres.base import Conn, PgBase
from hotline_gateway.store.postgres.rows import DELIVERY_COLUMNS, FROM_DELIVERIES, apply_actions, delivery_row
from hotline_gateway.store.records import AuditEntry, Delivery


class CaseOps(PgBase):

    async def case_docs(self, case_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not case_ids:
            return {}
        rows = await self._rows("SELECT case_id, doc FROM cases WHERE case_id = ANY(%s)", (list(case_ids),))
        return {r["case_id"]: orjson.loads(r["doc"]) for r in rows}

    async def case_origin(self, case_id: str) -> str | None:
        rows = await self._rows("SELECT origin FROM cases WHERE case_id = %s", (case_id,))
        return str(rows[0]["origin"]) if rows else None

    async def items_sent_to(self, case_id: str, partner: str) -> set[str]:
        rows = await self._rows("SELECT item_ids FROM deliveries WHERE case_id = %s AND partner = %s"
                                " AND state != 'cancelled'", (case_id, partner))
        return {i for r in rows for i in orjson.loads(r["item_ids"])}

    async def get_case(self, case_id: str) -> tuple[dict[str, Any], list[Delivery]] | None:
        async def q(conn: Conn) -> tuple[dict[str, Any], list[Delivery]] | None:
            row = await (await conn.execute("SELECT case_id, origin, message_id, received_at, doc, routing FROM cases"
                                            " WHERE case_id = %s", (case_id,))).fetchone()
            if row is None:
                return None
            rows = await (await conn.execute(f"SELECT {DELIVERY_COLUMNS} FROM {FROM_DELIVERIES} WHERE d.case_id = %s"
                                             " ORDER BY d.partner, d.row_id", (case_id,))).fetchall()
            info = {"case": orjson.loads(row["doc"]), "origin": row["origin"], "message_id": row["message_id"],
                    "routing": orjson.loads(row["routing"])}
            return info, [delivery_row(r) for r in rows]

        return await self._read(q)

    async def add_actions(self, case_id: str, updates: Sequence[tuple[str, Action]], *, source: str,
                          message_id: str | None = None) -> list[tuple[str, dict[str, Any]]] | None:
        async def op(conn: Conn) -> tuple[list[tuple[str, dict[str, Any]]] | None, list[AuditEntry]]:
            added, digest = await apply_actions(conn, case_id, updates)
            if not added:
                return added, []
            detail = "; ".join(f"{item_id} {a['type']}" for item_id, a in added)
            return added, [AuditEntry("case.updated", message_id=message_id, case_id=case_id,
                                      partner=None if source == "local" else source, detail=detail,
                                      doc_sha256=digest)]

        return await self._write(op)
