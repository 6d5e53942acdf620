"""The audit trail: the chain, its signed checkpoints, what partners witnessed of us, and the evidence it
covers (case documents and payloads, by digest)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from hotline_gateway.store.audit import GENESIS, ChainSummary, ChainWalker
from hotline_gateway.store.documents import sealed_payload_problems
from hotline_gateway.store.postgres.base import Conn, PgBase
from hotline_gateway.store.postgres.rows import DELIVERY_COLUMNS, FROM_DELIVERIES, TABLES, delivery_row
from hotline_gateway.store.records import AuditEntry, Delivery

#: checkpoints of one partner kept as witnessed (the newest)
WITNESS_KEEP = 10_000
#: audit entries read per round trip while verifying the chain
PAGE = 5000
#: each case with the digest of its document, the last digest the chain recorded for it and how often it
#: was accepted; one pass over each table joined by hash (a subquery per case would walk the chain per case)
CASE_EVIDENCE = (
    "WITH recorded AS (SELECT DISTINCT ON (case_id) case_id, doc_sha256 FROM audit"
    "  WHERE case_id IS NOT NULL AND doc_sha256 IS NOT NULL ORDER BY case_id, seq DESC),"
    " accepted AS (SELECT case_id, COUNT(*) AS n FROM audit WHERE kind = 'case.accepted' GROUP BY case_id)"
    " SELECT c.case_id, encode(sha256(c.doc), 'hex') AS actual, r.doc_sha256 AS recorded,"
    " COALESCE(a.n, 0) AS accepted FROM cases c LEFT JOIN recorded r ON r.case_id = c.case_id"
    " LEFT JOIN accepted a ON a.case_id = c.case_id"
)
#: each outbound message with its payload's digest, and how often the chain recorded it queued (with that
#: digest) and delivered
PAYLOAD_EVIDENCE = (
    "WITH queued AS (SELECT message_id, payload_sha256, COUNT(*) AS n FROM audit WHERE kind = 'message.queued'"
    "  GROUP BY message_id, payload_sha256),"
    " delivered AS (SELECT message_id, COUNT(*) AS n FROM audit WHERE kind = 'message.delivered'"
    "  GROUP BY message_id)"
    " SELECT d.message_id, d.case_id, d.state, d.payload_sha256 AS declared,"
    " encode(sha256(p.payload), 'hex') AS actual, p.sealed, CASE WHEN p.sealed THEN p.payload END AS blob,"
    " COALESCE(q.n, 0) AS queued, COALESCE(dl.n, 0) AS delivered"
    " FROM deliveries d JOIN payloads p ON p.message_id = d.message_id"
    " LEFT JOIN queued q ON q.message_id = d.message_id AND q.payload_sha256 = d.payload_sha256"
    " LEFT JOIN delivered dl ON dl.message_id = d.message_id"
)
AUDIT_FIELDS = ("seq, at, kind, message_id, case_id, partner, payload_sha256, signatures, detail, doc_sha256,"
                " prev_hash, hash")


class AuditOps(PgBase):

    async def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        async def op(_conn: Conn) -> tuple[None, Sequence[AuditEntry]]:
            return None, entries

        await self._write(op)

    async def recent_audit(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = await self._rows("SELECT seq, at, kind, partner, message_id, case_id FROM audit ORDER BY seq DESC"
                                " LIMIT %s", (limit,))
        return [dict(r) for r in rows]

    async def verify_audit(self) -> ChainSummary:
        """Walk the chain in pages of ``PAGE`` entries (constant memory, however long the chain)."""
        walker = ChainWalker()
        last = 0
        while True:
            rows = await self._rows(f"SELECT {AUDIT_FIELDS} FROM audit WHERE seq > %s ORDER BY seq LIMIT %s",
                                    (last, PAGE))
            for row in rows:
                walker.feed(dict(row))
            if len(rows) < PAGE:
                return walker.summary()
            last = int(rows[-1]["seq"])

    async def audit_head(self) -> tuple[int, str]:
        rows = await self._rows("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        return (int(rows[0]["seq"]), str(rows[0]["hash"])) if rows else (0, GENESIS)

    async def audit_hash_at(self, seq: int) -> str | None:
        rows = await self._rows("SELECT hash FROM audit WHERE seq = %s", (seq,))
        return str(rows[0]["hash"]) if rows else None

    async def add_checkpoint(self, seq: int, head: str, at: str, jws: str) -> None:
        async def op(conn: Conn) -> None:
            await conn.execute("INSERT INTO checkpoints (seq, head, at, jws) VALUES (%s, %s, %s, %s)"
                               " ON CONFLICT DO NOTHING", (seq, head, at, jws))

        await self._tx(op)

    async def checkpoints(self) -> list[tuple[int, str, str, str]]:
        rows = await self._rows("SELECT seq, head, at, jws FROM checkpoints ORDER BY seq")
        return [(int(r["seq"]), r["head"], r["at"], r["jws"]) for r in rows]

    async def latest_checkpoint(self) -> str | None:
        rows = await self._rows("SELECT jws FROM checkpoints ORDER BY seq DESC LIMIT 1")
        return str(rows[0]["jws"]) if rows else None

    async def add_witnessed(self, gateway: str, seq: int, head: str, at: str, jws: str) -> None:
        async def op(conn: Conn) -> None:
            await conn.execute("INSERT INTO witnessed (gateway, seq, head, at, jws, received_at)"
                               " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                               (gateway, seq, head, at, jws, time.time()))
            # What a partner witnessed is kept whole up to a bound per partner: the newest win.
            await conn.execute("DELETE FROM witnessed WHERE gateway = %s AND seq < (SELECT MIN(seq) FROM"
                               " (SELECT seq FROM witnessed WHERE gateway = %s ORDER BY seq DESC LIMIT %s) AS kept)",
                               (gateway, gateway, WITNESS_KEEP))

        await self._tx(op)

    async def witnessed(self, gateway: str) -> list[str]:
        rows = await self._rows("SELECT jws FROM witnessed WHERE gateway = %s ORDER BY seq", (gateway,))
        return [str(r["jws"]) for r in rows]

    async def evidence_problems(self, limit: int = 50) -> tuple[list[str], list[str]]:
        """Stored documents and payloads held against the digests the chain recorded for them: a case
        document or payload edited in place, or a case or delivery the chain never saw, is a problem.
        Read through server-side cursors, so memory stays flat however many cases there are. A sealed
        payload is opened with its case's key to be checked; one whose key was erased can no longer be,
        and that erasure is itself in the chain."""

        async def q(conn: Conn) -> tuple[list[str], list[str], list[tuple[str, str, str, bytes]]]:
            problems: list[str] = []
            warnings: list[str] = []
            cases = conn.cursor(name="evidence_cases")
            await cases.execute(CASE_EVIDENCE)
            async for r in cases:
                if r["recorded"] is None and r["accepted"] == 0:
                    problems.append(f"case {r['case_id']}: stored without any audit entry")
                elif r["recorded"] is None:
                    warnings.append(f"case {r['case_id']}: stored before case documents were digested; not covered")
                elif r["recorded"] != r["actual"]:
                    problems.append(f"case {r['case_id']}: document differs from the digest the audit chain recorded")
                if len(problems) >= limit:
                    await cases.close()
                    return problems, warnings[:limit], []
            await cases.close()
            sealed: list[tuple[str, str, str, bytes]] = []
            payloads = conn.cursor(name="evidence_payloads")
            await payloads.execute(PAYLOAD_EVIDENCE)
            async for r in payloads:
                message_id = r["message_id"]
                if r["sealed"]:
                    sealed.append((message_id, r["case_id"], r["declared"], bytes(r["blob"])))
                elif r["actual"] != r["declared"]:
                    problems.append(f"message {message_id}: payload differs from its recorded digest")
                if r["queued"] == 0:
                    problems.append(f"message {message_id}: queued without the audit entry that records its digest")
                elif r["state"] == "delivered" and r["delivered"] == 0:
                    problems.append(f"message {message_id}: marked delivered without an audit entry")
                if len(problems) >= limit:
                    break
            await payloads.close()
            return problems, warnings[:limit], sealed

        problems, warnings, sealed = await self._tx(q)
        keys = await self.vault.get(sorted({case_id for _, case_id, _, _ in sealed}))
        problems += sealed_payload_problems(sealed, keys)
        return problems[:limit], warnings

    # --- queries ----------------------------------------------------------------------------------

    async def count(self, table: str) -> int:
        if table not in TABLES:
            raise ValueError(table)
        rows = await self._rows(f"SELECT COUNT(*) AS n FROM {table}")
        return int(rows[0]["n"])

    async def dead_letters(self, limit: int = 100) -> list[Delivery]:
        rows = await self._rows(f"SELECT {DELIVERY_COLUMNS} FROM {FROM_DELIVERIES} WHERE d.state = 'dead'"
                                " ORDER BY d.created_at DESC LIMIT %s", (limit,))
        return [delivery_row(r) for r in rows]
