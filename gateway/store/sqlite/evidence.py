"""The audit trail: the chain, its signed checkpoints, what partners witnessed of us, and the
evidence it covers (case documents and payloads, by digest)."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
from collections.abc import Iterator, Sequence
from typing import Any

from hotline_gateway.store.audit import GENESIS, ChainSummary, verify_chain
from hotline_gateway.store.documents import sealed_payload_problems
from hotline_gateway.store.records import AuditEntry, Delivery
from hotline_gateway.store.sqlite.base import SqliteBase
from hotline_gateway.store.sqlite.rows import DELIVERY_COLUMNS, FROM_DELIVERIES, TABLES, delivery_row
from hotline_gateway.store.sqlite.writer import Writer

#: checkpoints of one partner kept as witnessed (the newest)
WITNESS_KEEP = 10_000


def _sha256(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


class AuditOps(SqliteBase):

    async def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        await self._write(lambda w: w.append_audit(entries))

    async def recent_audit(self, limit: int = 20) -> list[dict[str, Any]]:
        def q(c: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = c.execute("SELECT seq, at, kind, partner, message_id, case_id FROM audit ORDER BY seq DESC LIMIT ?",
                             (limit,))
            return [dict(zip(("seq", "at", "kind", "partner", "message_id", "case_id"), r, strict=True)) for r in rows]

        return await self._read(q)

    async def verify_audit(self) -> ChainSummary:
        return await self._read(lambda c: verify_chain(iter_audit(c)))

    async def audit_head(self) -> tuple[int, str]:
        def q(c: sqlite3.Connection) -> tuple[int, str]:
            row = c.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            return (int(row[0]), str(row[1])) if row else (0, GENESIS)

        return await self._read(q)

    async def audit_hash_at(self, seq: int) -> str | None:
        def q(c: sqlite3.Connection) -> str | None:
            row = c.execute("SELECT hash FROM audit WHERE seq=?", (seq,)).fetchone()
            return None if row is None else str(row[0])

        return await self._read(q)

    async def add_checkpoint(self, seq: int, head: str, at: str, jws: str) -> None:
        await self._write(lambda w: w.conn.execute(
            "INSERT OR IGNORE INTO checkpoints(seq, head, at, jws) VALUES (?, ?, ?, ?)", (seq, head, at, jws)))

    async def checkpoints(self) -> list[tuple[int, str, str, str]]:
        return await self._read(lambda c: [(int(r[0]), r[1], r[2], r[3]) for r in c.execute(
            "SELECT seq, head, at, jws FROM checkpoints ORDER BY seq")])

    async def latest_checkpoint(self) -> str | None:
        def q(c: sqlite3.Connection) -> str | None:
            row = c.execute("SELECT jws FROM checkpoints ORDER BY seq DESC LIMIT 1").fetchone()
            return None if row is None else str(row[0])

        return await self._read(q)

    async def add_witnessed(self, gateway: str, seq: int, head: str, at: str, jws: str) -> None:
        def op(w: Writer) -> None:
            w.conn.execute("INSERT OR IGNORE INTO witnessed(gateway, seq, head, at, jws, received_at)"
                           " VALUES (?, ?, ?, ?, ?, ?)", (gateway, seq, head, at, jws, time.time()))
            # What a partner witnessed is kept whole up to a bound per partner: the newest win.
            w.conn.execute("DELETE FROM witnessed WHERE gateway=? AND seq NOT IN (SELECT seq FROM witnessed"
                           " WHERE gateway=? ORDER BY seq DESC LIMIT ?)", (gateway, gateway, WITNESS_KEEP))

        await self._write(op)

    async def witnessed(self, gateway: str) -> list[str]:
        return await self._read(lambda c: [str(r[0]) for r in c.execute(
            "SELECT jws FROM witnessed WHERE gateway=? ORDER BY seq", (gateway,))])

    async def evidence_problems(self, limit: int = 50) -> tuple[list[str], list[str]]:
        """Stored documents and payloads held against the digests the chain recorded for them: a case
        document or payload edited in place, or a case or delivery the chain never saw, is a problem;
        a case stored before documents were digested (schema 5) is a warning. A sealed payload is opened
        with its case's key to be checked; one whose key was erased (retention, an erasure request) can
        no longer be, and that erasure is itself in the chain."""

        def q(c: sqlite3.Connection) -> tuple[list[str], list[str], list[tuple[str, str, str, bytes]]]:
            c.create_function("sha256", 1, _sha256, deterministic=True)
            problems: list[str] = []
            warnings: list[str] = []
            for case_id, doc_digest_, recorded, accepted in c.execute(
                "SELECT c.case_id, sha256(c.doc),"
                " (SELECT a.doc_sha256 FROM audit a WHERE a.case_id = c.case_id AND a.doc_sha256 IS NOT NULL"
                "  ORDER BY a.seq DESC LIMIT 1),"
                " (SELECT COUNT(*) FROM audit a WHERE a.case_id = c.case_id AND a.kind = 'case.accepted')"
                " FROM cases c"
            ):
                if recorded is None and accepted == 0:
                    problems.append(f"case {case_id}: stored without any audit entry")
                elif recorded is None:
                    warnings.append(f"case {case_id}: stored before case documents were digested; not covered")
                elif recorded != doc_digest_:
                    problems.append(f"case {case_id}: document differs from the digest the audit chain recorded")
                if len(problems) >= limit:
                    return problems, warnings[:limit], []
            sealed: list[tuple[str, str, str, bytes]] = []
            for message_id, case_id, state, declared, actual, is_sealed, blob, queued, delivered in c.execute(
                "SELECT d.message_id, d.case_id, d.state, d.payload_sha256, sha256(p.payload), p.sealed, p.payload,"
                " (SELECT COUNT(*) FROM audit a WHERE a.message_id = d.message_id AND a.kind = 'message.queued'"
                "  AND a.payload_sha256 = d.payload_sha256),"
                " (SELECT COUNT(*) FROM audit a WHERE a.message_id = d.message_id AND a.kind = 'message.delivered')"
                f" FROM {FROM_DELIVERIES}"
            ):
                if is_sealed:
                    sealed.append((message_id, case_id, declared, bytes(blob)))
                elif actual != declared:
                    problems.append(f"message {message_id}: payload differs from its recorded digest")
                if queued == 0:
                    problems.append(f"message {message_id}: queued without the audit entry that records its digest")
                elif state == "delivered" and delivered == 0:
                    problems.append(f"message {message_id}: marked delivered without an audit entry")
                if len(problems) >= limit:
                    break
            return problems, warnings[:limit], sealed

        problems, warnings, sealed = await self._read(q)
        keys = await asyncio.to_thread(self.vault.get, sorted({case_id for _, case_id, _, _ in sealed}))
        problems += sealed_payload_problems(sealed, keys)
        return problems[:limit], warnings

    # --- queries ----------------------------------------------------------------------------------

    async def count(self, table: str) -> int:
        if table not in TABLES:
            raise ValueError(table)
        return await self._read(lambda c: int(c.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]))

    async def dead_letters(self, limit: int = 100) -> list[Delivery]:
        def q(c: sqlite3.Connection) -> list[Delivery]:
            rows = c.execute(f"SELECT {DELIVERY_COLUMNS} FROM {FROM_DELIVERIES} WHERE d.state='dead'"
                             " ORDER BY d.created_at DESC LIMIT ?", (limit,))
            return [delivery_row(r) for r in rows]

        return await self._read(q)


def iter_audit(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    for row in conn.execute("SELECT * FROM audit ORDER BY seq"):
        yield dict(row)
