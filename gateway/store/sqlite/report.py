"""The statistics report's reads, on the store's reader connection (never through the writer)."""

from __future__ import annotations

import sqlite3

import orjson

from hotline_gateway.store.report_records import ReportCase, ReportDelivery, report_item
from hotline_gateway.store.sqlite.base import SqliteBase


class ReportOps(SqliteBase):
    async def report_cases(self, lo: str, hi: str) -> list[ReportCase]:
        """Cases received in ``[lo, hi)``; ``received_at`` is canonical UTC text, so text order is time order."""

        def q(c: sqlite3.Connection) -> list[ReportCase]:
            rows = c.execute("SELECT case_id, origin, category, received_at, doc FROM cases"
                             " WHERE received_at >= ? AND received_at < ? ORDER BY received_at", (lo, hi)).fetchall()
            return [ReportCase(case_id, origin, category, received_at,
                               [report_item(i) for i in orjson.loads(doc)["items"]])
                    for case_id, origin, category, received_at, doc in rows]

        return await self._read(q)

    async def report_deliveries(self, lo: str, hi: str) -> list[ReportDelivery]:
        """Every outbound message about a case received in ``[lo, hi)``, whenever it was sent."""

        def q(c: sqlite3.Connection) -> list[ReportDelivery]:
            rows = c.execute("SELECT d.case_id, d.partner, d.state, d.created_at, d.delivered_at FROM deliveries d"
                             " JOIN cases c ON c.case_id = d.case_id WHERE c.received_at >= ? AND c.received_at < ?",
                             (lo, hi)).fetchall()
            return [ReportDelivery(*row) for row in rows]

        return await self._read(q)
