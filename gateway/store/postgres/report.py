"""The statistics report's reads."""

from __future__ import annotations

import orjson

from hotline_gateway.store.postgres.base import PgBase
from hotline_gateway.store.report_records import ReportCase, ReportDelivery, report_item


class ReportOps(PgBase):
    async def report_cases(self, lo: str, hi: str) -> list[ReportCase]:
        """Cases received in ``[lo, hi)``; ``received_at`` is canonical UTC text compared byte-wise, so text
        order is time order."""
        rows = await self._rows('SELECT case_id, origin, category, received_at, doc FROM cases WHERE received_at'
                                ' >= %s AND received_at < %s ORDER BY received_at',
                                (lo, hi))
        return [ReportCase(r["case_id"], r["origin"], r["category"], r["received_at"],
                           [report_item(i) for i in orjson.loads(r["doc"])["items"]]) for r in rows]

    async def report_deliveries(self, lo: str, hi: str) -> list[ReportDelivery]:
        rows = await self._rows('SELECT d.case_id, d.partner, d.state, d.created_at, d.delivered_at FROM deliveries d'
                                ' JOIN cases c ON c.case_id = d.case_id WHERE c.received_at >= %s'
                                ' AND c.received_at < %s', (lo, hi))
        return [ReportDelivery(r["case_id"], r["partner"], r["state"], r["created_at"], r["delivered_at"])
                for r in rows]
