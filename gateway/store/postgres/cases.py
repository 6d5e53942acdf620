"""Cases: stored documents, who sent them, and actions recorded on their items."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from hotline_gateway.crypto.sealing import Unsealable, unseal
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
            info = {"case": orjson.loads(row["doc"]), "origin": row["origin"], "message_id": row["message_id"],
                    "routing": orjson.loads(row["routing"])}
            return info, await _case_deliveries(conn, case_id)

        found = await self._read(q)
        if found is not None:
            reporter = await self.case_reporter(case_id)
            if reporter is not None:
                found[0]["case"]["reporter"] = reporter
        return found

    async def case_deliveries(self, case_id: str) -> list[Delivery]:
        """Claims are rows here: a message any node is sending now is ``in_flight`` as stored."""
        return await self._read(lambda conn: _case_deliveries(conn, case_id))

    async def case_reporter(self, case_id: str) -> dict[str, Any] | None:
        """The reporter of a case whose reporter data was sealed, opened with the case's key; after its
        erasure, only its kind and when it was erased. None for a case with nothing sealed."""
        rows = await self._rows("SELECT kind, sealed, erased_at FROM reporter_data WHERE case_id = %s", (case_id,))
        if not rows:
            return None
        kind, sealed, erased_at = rows[0]["kind"], rows[0]["sealed"], rows[0]["erased_at"]
        keys = await self.vault.get([case_id])
        if sealed is None or case_id not in keys:
            return {"kind": kind, "erased": True} | ({"erased_at": erased_at} if erased_at else {})
        try:
            opened: dict[str, Any] = orjson.loads(unseal(keys[case_id], bytes(sealed), case_id))
        except Unsealable:
            return {"kind": kind, "erased": True}
        return opened

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


async def _case_deliveries(conn: Conn, case_id: str) -> list[Delivery]:
    rows = await (await conn.execute(f"SELECT {DELIVERY_COLUMNS} FROM {FROM_DELIVERIES} WHERE d.case_id = %s"
                                     " ORDER BY d.partner, d.created_at, d.row_id", (case_id,))).fetchall()
    return [delivery_row(r) for r in rows]
