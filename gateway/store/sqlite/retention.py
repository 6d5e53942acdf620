"""Retention: what the store says about each case for the retention policy, erasing a case's reporter
data (its key first: crypto-shredding), and purging a case whole. Each erasure and purge is one audit
entry that names the case, never the data."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence

import orjson

from hotline_gateway.store.documents import doc_digest
from hotline_gateway.store.records import AuditEntry, Erasure, RetentionRow
from hotline_gateway.store.report_records import report_item
from hotline_gateway.store.sqlite.base import SqliteBase
from hotline_gateway.store.sqlite.writer import Writer

_ERASED_QUEUED = "cancelled: the reporter data it carries was erased before it could be sent"


class RetentionOps(SqliteBase):
    async def retention_rows(self) -> list[RetentionRow]:
        def q(c: sqlite3.Connection) -> list[RetentionRow]:
            rows = c.execute(
                "SELECT c.case_id, c.received_at, c.category, c.doc, r.case_id IS NOT NULL AND r.erased_at IS NULL"
                " FROM cases c LEFT JOIN reporter_data r ON r.case_id = c.case_id")
            out = []
            for case_id, received_at, category, doc, has_reporter in rows:
                parsed = orjson.loads(doc)
                out.append(RetentionRow(case_id, received_at, category, parsed.get("status", ""),
                                        [report_item(i) for i in parsed["items"]], bool(has_reporter)))
            return out

        return await self._read(q)

    async def cases_of_reporter(self, token: str) -> list[str]:
        return await self._read(lambda c: [r[0] for r in c.execute(
            "SELECT case_id FROM reporter_index WHERE token=? ORDER BY case_id", (token,))])

    async def erase_reporters(self, case_ids: Sequence[str], reason: str) -> list[Erasure]:
        """Delete the keys (the data is unreadable from that moment, in every copy), then drop the sealed
        data and its index, cancel messages still queued that carry it, and audit each erasure."""
        if not case_ids:
            return []
        await asyncio.to_thread(self.vault.delete, list(case_ids))

        def op(w: Writer) -> list[Erasure]:
            now = time.time()
            marks = ",".join("?" * len(case_ids))
            live = [r[0] for r in w.conn.execute(
                f"SELECT case_id FROM reporter_data WHERE erased_at IS NULL AND case_id IN ({marks})",
                list(case_ids))]
            out: list[Erasure] = []
            for case_id in live:
                sent_to = sorted({r[0] for r in w.conn.execute(
                    "SELECT partner FROM deliveries WHERE case_id=? AND carries_reporter=1 AND state='delivered'",
                    (case_id,))})
                cancelled = w.conn.execute(
                    "UPDATE deliveries SET state='cancelled', last_error=? WHERE case_id=? AND carries_reporter=1"
                    " AND state IN ('queued', 'dead')", (_ERASED_QUEUED, case_id)).rowcount
                w.conn.execute("UPDATE reporter_data SET sealed=NULL, erased_at=? WHERE case_id=?", (now, case_id))
                w.conn.execute("DELETE FROM reporter_index WHERE case_id=?", (case_id,))
                w.append_audit([AuditEntry("reporter.erased", case_id=case_id,
                                           detail=f"{reason}; sent before to: {', '.join(sent_to) or 'nobody'}")])
                out.append(Erasure(case_id, sent_to, int(cancelled)))
            return out

        return await self._write(op)

    async def purge_cases(self, case_ids: Sequence[str], reason: str) -> int:
        """Delete cases whole (document, outbox rows and payloads, sealed reporter data and key); the
        audit chain keeps one entry per case with the digest of the document that went."""
        if not case_ids:
            return 0
        await asyncio.to_thread(self.vault.delete, list(case_ids))

        def op(w: Writer) -> int:
            purged = 0
            for case_id in case_ids:
                row = w.conn.execute("SELECT doc FROM cases WHERE case_id=?", (case_id,)).fetchone()
                if row is None:
                    continue
                ids = [r[0] for r in w.conn.execute("SELECT message_id FROM deliveries WHERE case_id=?", (case_id,))]
                w.conn.executemany("DELETE FROM payloads WHERE message_id=?", [(i,) for i in ids])
                w.conn.executemany("DELETE FROM transport_state WHERE message_id=?", [(i,) for i in ids])
                w.conn.execute("DELETE FROM deliveries WHERE case_id=?", (case_id,))
                w.conn.execute("DELETE FROM reporter_index WHERE case_id=?", (case_id,))
                w.conn.execute("DELETE FROM reporter_data WHERE case_id=?", (case_id,))
                w.conn.execute("DELETE FROM lifecycle WHERE case_id=?", (case_id,))
                w.conn.execute("DELETE FROM cases WHERE case_id=?", (case_id,))
                w.append_audit([AuditEntry("case.purged", case_id=case_id, doc_sha256=doc_digest(bytes(row[0])),
                                           detail=f"{reason}; {len(ids)} message(s) with it")])
                purged += 1
            return purged

        return await self._write(op)
