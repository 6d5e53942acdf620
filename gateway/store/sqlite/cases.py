"""Cases: stored documents, who sent them, and actions recorded on their items."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from hotline_gateway.crypto.sealing import Unsealable, unseal
from hotline_gateway.store.interface import Action
from hotline_gateway.store.records import AuditEntry, Delivery, DeliveryState
from hotline_gateway.store.sqlite.base import SqliteBase
from hotline_gateway.store.sqlite.rows import DELIVERY_COLUMNS, FROM_DELIVERIES, apply_actions, delivery_row
from hotline_gateway.store.sqlite.writer import Writer


class CaseOps(SqliteBase):

    async def case_docs(self, case_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not case_ids:
            return {}

        def q(c: sqlite3.Connection) -> dict[str, dict[str, Any]]:
            marks = ",".join("?" * len(case_ids))
            rows = c.execute(f"SELECT case_id, doc FROM cases WHERE case_id IN ({marks})", list(case_ids))
            return {r[0]: orjson.loads(r[1]) for r in rows}

        return await self._read(q)

    async def case_origin(self, case_id: str) -> str | None:
        def q(c: sqlite3.Connection) -> str | None:
            row = c.execute("SELECT origin FROM cases WHERE case_id=?", (case_id,)).fetchone()
            return None if row is None else str(row[0])

        return await self._read(q)

    async def items_sent_to(self, case_id: str, partner: str) -> set[str]:
        def q(c: sqlite3.Connection) -> set[str]:
            rows = c.execute("SELECT item_ids FROM deliveries WHERE case_id=? AND partner=? AND state != 'cancelled'",
                             (case_id, partner))
            return {i for (ids,) in rows for i in orjson.loads(ids)}

        return await self._read(q)

    async def get_case(self, case_id: str) -> tuple[dict[str, Any], list[Delivery]] | None:
        def q(c: sqlite3.Connection) -> tuple[dict[str, Any], list[Delivery]] | None:
            row = c.execute("SELECT case_id, origin, message_id, received_at, doc, routing FROM cases WHERE case_id=?",
                            (case_id,)).fetchone()
            if row is None:
                return None
            info = {"case": orjson.loads(row["doc"]), "origin": row["origin"], "message_id": row["message_id"],
                    "routing": orjson.loads(row["routing"])}
            return info, self._case_deliveries(c, case_id)

        found = await self._read(q)
        if found is not None:
            reporter = await self.case_reporter(case_id)
            if reporter is not None:
                found[0]["case"]["reporter"] = reporter
        return found

    def _case_deliveries(self, c: sqlite3.Connection, case_id: str) -> list[Delivery]:
        deliveries = [delivery_row(r) for r in c.execute(
            f"SELECT {DELIVERY_COLUMNS} FROM {FROM_DELIVERIES} WHERE d.case_id=? ORDER BY d.partner, d.created_at",
            (case_id,))]
        for d in deliveries:
            if d.state is DeliveryState.QUEUED and d.message_id in self._claimed:
                d.state = DeliveryState.IN_FLIGHT  # claimed by a lane of this process: being sent now
        return deliveries

    async def case_deliveries(self, case_id: str) -> list[Delivery]:
        return await self._read(lambda c: self._case_deliveries(c, case_id))

    async def case_reporter(self, case_id: str) -> dict[str, Any] | None:
        """The reporter of a case whose reporter data was sealed, opened with the case's key; after its
        erasure, only its kind and when it was erased (the stored document says ``withheld``). None for a
        case with nothing sealed."""

        def q(c: sqlite3.Connection) -> tuple[str, bytes | None, float | None] | None:
            row = c.execute("SELECT kind, sealed, erased_at FROM reporter_data WHERE case_id=?", (case_id,)).fetchone()
            return None if row is None else (row[0], None if row[1] is None else bytes(row[1]), row[2])

        row = await self._read(q)
        if row is None:
            return None
        kind, sealed, erased_at = row
        keys = await asyncio.to_thread(self.vault.get, [case_id])
        if sealed is None or case_id not in keys:
            return {"kind": kind, "erased": True} | ({"erased_at": erased_at} if erased_at else {})
        try:
            opened: dict[str, Any] = orjson.loads(unseal(keys[case_id], sealed, case_id))
        except Unsealable:
            return {"kind": kind, "erased": True}
        return opened

    async def add_actions(self, case_id: str, updates: Sequence[tuple[str, Action]], *, source: str,
                          message_id: str | None = None) -> list[tuple[str, dict[str, Any]]] | None:
        def op(w: Writer) -> list[tuple[str, dict[str, Any]]] | None:
            added, digest = apply_actions(w.conn, case_id, updates)
            if added:
                detail = "; ".join(f"{item_id} {a['type']}" for item_id, a in added)
                w.append_audit([AuditEntry("case.updated", message_id=message_id, case_id=case_id,
                                           partner=None if source == "local" else source, detail=detail,
                                           doc_sha256=digest)])
            return added

        return await self._write(op)
