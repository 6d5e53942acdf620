"""Intake: submissions and partners' messages committed atomically, with their outbox rows."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence

from hotline_gateway.store.documents import doc_digest
from hotline_gateway.store.interface import CaseConflict
from hotline_gateway.store.lifecycle_rules import seal_with, to_seal
from hotline_gateway.store.records import AuditEntry, Delivery, InboundRecord, Intake, IntakeResult
from hotline_gateway.store.sqlite.base import SqliteBase
from hotline_gateway.store.sqlite.lifecycle import apply_change
from hotline_gateway.store.sqlite.rows import apply_actions, inbound_row, insert_deliveries
from hotline_gateway.store.sqlite.writer import Writer


class IntakeOps(SqliteBase):

    async def commit_intakes(self, intakes: Sequence[Intake], *, nonce: tuple[str, str, int] | None = None
                             ) -> list[IntakeResult]:
        keys = [(c.case_id, c.reporter.key) for i in intakes for c in i.cases if c.reporter is not None]

        queued: list[Delivery] = []

        def op(w: Writer) -> list[IntakeResult]:
            queued.clear()
            results = [_commit_one(w, intake, queued) for intake in intakes]
            if nonce is not None:
                w.conn.execute("INSERT OR IGNORE INTO nonces(kid, nonce, created) VALUES (?, ?, ?)", nonce)
            return results

        await self._seal_planned(intakes)
        cancels = [mid for i in intakes for change in i.changes for plan in change.plans for mid in plan.cancel]
        self._reserve(cancels)
        try:
            if keys:  # the keys are durable before the sealed data that needs them
                results = await self._write_after_keys(keys, op)
            else:
                results = await self._write(op)
        finally:
            self._unreserve(cancels)
        self._remember_fresh(queued)
        return results

    async def _seal_planned(self, intakes: Sequence[Intake]) -> None:
        """Seal, with the case's own key, the messages a retraction or correction queues that carry reporter data."""
        needed = to_seal(intakes)
        if needed:
            seal_with(needed, await asyncio.to_thread(self.vault.get, sorted({d.case_id for d in needed})))

    async def find_inbound(self, sender: str, message_ids: Sequence[str]) -> dict[str, InboundRecord]:
        if not message_ids:
            return {}

        def q(c: sqlite3.Connection) -> dict[str, InboundRecord]:
            marks = ",".join("?" * len(message_ids))
            rows = c.execute("SELECT message_id, sender, kid, received_at, payload_sha256, receipt FROM inbound"
                             f" WHERE sender = ? AND message_id IN ({marks})", [sender, *message_ids])
            return {r["message_id"]: inbound_row(r) for r in rows}

        return await self._read(q)

    async def spend_nonce(self, kid: str, nonce: str, created: int) -> bool:
        """In memory for this single-node store (loaded at start with the nonces of accepted messages,
        which are committed with them); True when the nonce is fresh."""
        if not self._nonces_loaded:
            await self._load_nonces(created)
        if (kid, nonce) in self._nonces:
            return False
        self._nonces[(kid, nonce)] = created
        return True

    async def _load_nonces(self, now: int) -> None:
        rows = await self._read(lambda c: c.execute("SELECT kid, nonce, created FROM nonces WHERE created >= ?",
                                                    (now - 3600,)).fetchall())
        for kid, nonce, created in rows:
            self._nonces.setdefault((kid, nonce), created)
        self._nonces_loaded = True

    async def prune_nonces(self, before: int) -> int:
        self._nonces = {k: v for k, v in self._nonces.items() if v >= before}
        return int(await self._write(lambda w: w.conn.execute("DELETE FROM nonces WHERE created < ?",
                                                              (before,)).rowcount))


def _commit_one(w: Writer, intake: Intake, queued: list[Delivery]) -> IntakeResult:
    """Write one intake; the outbox rows it inserts are added to ``queued``."""
    c = w.conn
    rec = intake.inbound
    if rec is not None:
        row = c.execute("SELECT message_id, sender, kid, received_at, payload_sha256, receipt FROM inbound"
                        " WHERE sender=? AND message_id=?", (rec.sender, rec.message_id)).fetchone()
        if row is not None:
            return IntakeResult(fresh=[False] * len(intake.cases), duplicate_of=inbound_row(row))
        c.execute("INSERT INTO inbound(sender, message_id, kid, received_at, payload_sha256, receipt)"
                  " VALUES (?, ?, ?, ?, ?, ?)",
                  (rec.sender, rec.message_id, rec.kid, rec.received_at, rec.payload_sha256, rec.receipt))
    now = time.time()
    fresh: list[bool] = []
    skipped: set[str] = set()
    digests: dict[str, str] = {}
    for case in intake.cases:
        digest = doc_digest(case.doc)
        row = c.execute("SELECT doc, submitted_sha256 FROM cases WHERE case_id = ?", (case.case_id,)).fetchone()
        if row is not None:
            same = row[1] == digest if row[1] is not None else bytes(row[0]) == case.doc
            if not same and not intake.keep_first:
                raise CaseConflict(case.case_id)
            fresh.append(False)
            skipped.add(case.case_id)
            continue
        c.execute("INSERT INTO cases(case_id, origin, message_id, received_at, category, doc, routing, stored_at,"
                  " submitted_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (case.case_id, case.origin, case.message_id, case.received_at, case.category, case.doc,
                   case.routing, now, digest))
        digests[case.case_id] = digest
        if case.reporter is not None:
            c.execute("INSERT INTO reporter_data(case_id, kind, sealed, sealed_at) VALUES (?, ?, ?, ?)",
                      (case.case_id, case.reporter.kind, case.reporter.sealed, now))
            c.executemany("INSERT OR IGNORE INTO reporter_index(token, case_id) VALUES (?, ?)",
                          [(token, case.case_id) for token in case.reporter.tokens])
        fresh.append(True)
    inserted = [d for d in intake.deliveries if d.case_id not in skipped]
    insert_deliveries(c, inserted)
    queued.extend(inserted)
    audit: list[AuditEntry] = []
    for entry in intake.audit:
        if entry.case_id in skipped:
            continue
        if entry.kind == "case.accepted" and entry.case_id in digests:
            entry.doc_sha256 = digests[entry.case_id]
        audit.append(entry)
    for case_id, updates in intake.updates.items():
        added, updated = apply_actions(c, case_id, updates)
        if added:
            audit.append(AuditEntry("case.updated", message_id=rec.message_id if rec else None, case_id=case_id,
                                    partner=rec.sender if rec else None,
                                    detail=f"{len(added)} action(s) reported", doc_sha256=updated))
    outcomes = [apply_change(w, change, audit, rec) for change in intake.changes]
    w.append_audit(audit)
    return IntakeResult(fresh=fresh, changes=outcomes)
