"""Retention: what the store says about each case for the retention policy, erasing a case's reporter
data (its key first: crypto-shredding), and purging a case whole. Each erasure and purge is one audit
entry that names the case, never the data."""

from __future__ import annotations

import time
from collections.abc import Sequence

import orjson

from hotline_gateway.store.documents import doc_digest
from hotline_gateway.store.postgres.base import Conn, PgBase
from hotline_gateway.store.records import AuditEntry, Erasure, RetentionRow
from hotline_gateway.store.report_records import report_item

_ERASED_QUEUED = "cancelled: the reporter data it carries was erased before it could be sent"


class RetentionOps(PgBase):
    async def retention_rows(self) -> list[RetentionRow]:
        rows = await self._rows(
            "SELECT c.case_id, c.received_at, c.category, c.doc, (r.case_id IS NOT NULL AND r.erased_at IS NULL)"
            " AS has_reporter FROM cases c LEFT JOIN reporter_data r ON r.case_id = c.case_id")
        out = []
        for r in rows:
            parsed = orjson.loads(r["doc"])
            out.append(RetentionRow(r["case_id"], r["received_at"], r["category"], parsed.get("status", ""),
                                    [report_item(i) for i in parsed["items"]], bool(r["has_reporter"])))
        return out

    async def cases_of_reporter(self, token: str) -> list[str]:
        rows = await self._rows("SELECT case_id FROM reporter_index WHERE token = %s ORDER BY case_id", (token,))
        return [str(r["case_id"]) for r in rows]

    async def erase_reporters(self, case_ids: Sequence[str], reason: str) -> list[Erasure]:
        """Delete the keys (the data is unreadable from that moment, on every node), then drop the sealed
        data and its index, cancel messages still queued that carry it, and audit each erasure. A message
        carrying it that a node holds in flight is cancelled by that node when its send cannot open it."""
        if not case_ids:
            return []
        await self.vault.delete(list(case_ids))

        async def op(conn: Conn) -> tuple[list[Erasure], list[AuditEntry]]:
            now = time.time()
            live = [r["case_id"] for r in await (await conn.execute(
                "SELECT case_id FROM reporter_data WHERE erased_at IS NULL AND case_id = ANY(%s) ORDER BY case_id"
                " FOR UPDATE", (list(case_ids),))).fetchall()]
            out: list[Erasure] = []
            entries: list[AuditEntry] = []
            for case_id in live:
                sent_to = sorted({r["partner"] for r in await (await conn.execute(
                    "SELECT partner FROM deliveries WHERE case_id = %s AND carries_reporter AND state = 'delivered'",
                    (case_id,))).fetchall()})
                cancelled = (await conn.execute(
                    "UPDATE deliveries SET state = 'cancelled', last_error = %s WHERE case_id = %s"
                    " AND carries_reporter AND state IN ('queued', 'dead')", (_ERASED_QUEUED, case_id))).rowcount
                await conn.execute("UPDATE reporter_data SET sealed = NULL, erased_at = %s WHERE case_id = %s",
                                   (now, case_id))
                await conn.execute("DELETE FROM reporter_index WHERE case_id = %s", (case_id,))
                entries.append(AuditEntry("reporter.erased", case_id=case_id,
                                          detail=f"{reason}; sent before to: {', '.join(sent_to) or 'nobody'}"))
                out.append(Erasure(case_id, sent_to, cancelled))
            return out, entries

        return await self._write(op)

    async def purge_cases(self, case_ids: Sequence[str], reason: str) -> int:
        """Delete cases whole (document, outbox rows and payloads, sealed reporter data and key); the
        audit chain keeps one entry per case with the digest of the document that went."""
        if not case_ids:
            return 0
        await self.vault.delete(list(case_ids))

        async def op(conn: Conn) -> tuple[int, list[AuditEntry]]:
            entries: list[AuditEntry] = []
            for case_id in case_ids:
                row = await (await conn.execute("SELECT doc FROM cases WHERE case_id = %s FOR UPDATE",
                                                (case_id,))).fetchone()
                if row is None:
                    continue
                ids = [r["message_id"] for r in await (await conn.execute(
                    "SELECT message_id FROM deliveries WHERE case_id = %s", (case_id,))).fetchall()]
                await conn.execute("DELETE FROM deliveries WHERE case_id = %s", (case_id,))
                await conn.execute("DELETE FROM payloads WHERE message_id = ANY(%s)", (ids,))
                await conn.execute("DELETE FROM transport_state WHERE message_id = ANY(%s)", (ids,))
                await conn.execute("DELETE FROM reporter_index WHERE case_id = %s", (case_id,))
                await conn.execute("DELETE FROM reporter_data WHERE case_id = %s", (case_id,))
                await conn.execute("DELETE FROM lifecycle WHERE case_id = %s", (case_id,))
                await conn.execute("DELETE FROM cases WHERE case_id = %s", (case_id,))
                entries.append(AuditEntry("case.purged", case_id=case_id, doc_sha256=doc_digest(bytes(row["doc"])),
                                          detail=f"{reason}; {len(ids)} message(s) with it"))
            return len(entries), entries

        return await self._write(op)
