"""Intake: submissions and partners' messages committed atomically with their outbox rows; nonces."""

from __future__ import annotations

import time
from collections.abc import Sequence

from hotline_gateway.store.documents import doc_digest
from hotline_gateway.store.interface import CaseConflict
from hotline_gateway.store.lifecycle_rules import seal_with, to_seal
from hotline_gateway.store.postgres.base import Conn, PgBase
from hotline_gateway.store.postgres.lifecycle import apply_change
from hotline_gateway.store.postgres.rows import INBOUND_COLUMNS, apply_actions, inbound_row, insert_deliveries
from hotline_gateway.store.records import AuditEntry, ChangeOutcome, InboundRecord, Intake, IntakeResult

NONCE_INSERT = "INSERT INTO nonces (kid, nonce, created) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING"


class IntakeOps(PgBase):

    async def commit_intakes(self, intakes: Sequence[Intake], *, nonce: tuple[str, str, int] | None = None
                             ) -> list[IntakeResult]:
        keys = [(c.case_id, c.reporter.key) for i in intakes for c in i.cases if c.reporter is not None]
        if keys:  # the keys are durable before the sealed data that needs them
            await self.vault.put(keys)
        await self._seal_planned(intakes)

        async def op(conn: Conn) -> tuple[list[IntakeResult], list[AuditEntry]]:
            results: list[IntakeResult] = []
            audit: list[AuditEntry] = []
            for intake in intakes:
                result, entries = await _commit_one(conn, intake)
                results.append(result)
                audit += entries
            if nonce is not None:  # spent already (``spend_nonce``); kept durably with what it carried
                await conn.execute(NONCE_INSERT, nonce)
            return results, audit

        return await self._write(op)

    async def _seal_planned(self, intakes: Sequence[Intake]) -> None:
        """Seal, with the case's own key, the messages a retraction or correction queues that carry reporter data."""
        needed = to_seal(intakes)
        if needed:
            seal_with(needed, await self.vault.get(sorted({d.case_id for d in needed})))

    async def find_inbound(self, sender: str, message_ids: Sequence[str]) -> dict[str, InboundRecord]:
        if not message_ids:
            return {}
        rows = await self._rows(f"SELECT {INBOUND_COLUMNS} FROM inbound WHERE sender = %s AND message_id = ANY(%s)",
                                (sender, list(message_ids)))
        return {r["message_id"]: inbound_row(r) for r in rows}

    async def spend_nonce(self, kid: str, nonce: str, created: int) -> bool:
        """One insert under the table's unique key, shared by every node: the first request to spend a
        nonce wins, wherever it arrived. Committed without waiting for the disk (a nonce lost in a crash
        of the database only reopens a replay of a message that is then answered from the store, and
        the nonce of an accepted message is written durably with it)."""

        async def op(conn: Conn) -> bool:
            await conn.execute("SET LOCAL synchronous_commit = off")
            return (await conn.execute(NONCE_INSERT, (kid, nonce, created))).rowcount == 1

        return await self._tx(op)

    async def prune_nonces(self, before: int) -> int:
        async def op(conn: Conn) -> int:
            return (await conn.execute("DELETE FROM nonces WHERE created < %s", (before,))).rowcount

        return await self._tx(op)


async def _commit_one(conn: Conn, intake: Intake) -> tuple[IntakeResult, list[AuditEntry]]:
    rec = intake.inbound
    if rec is not None:
        # A concurrent commit of the same sender and message id (on any node) makes this insert wait for
        # it; then nothing is inserted and the stored record answers.
        cur = await conn.execute(
            "INSERT INTO inbound (sender, message_id, kid, received_at, payload_sha256, receipt)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (rec.sender, rec.message_id, rec.kid, rec.received_at, rec.payload_sha256, rec.receipt))
        if cur.rowcount == 0:
            row = await (await conn.execute(f"SELECT {INBOUND_COLUMNS} FROM inbound WHERE sender = %s"
                                            " AND message_id = %s", (rec.sender, rec.message_id))).fetchone()
            assert row is not None
            return IntakeResult(fresh=[False] * len(intake.cases), duplicate_of=inbound_row(row)), []
    now = time.time()
    digests = {case.case_id: doc_digest(case.doc) for case in intake.cases}
    inserted: set[str] = set()
    if intake.cases:
        async with conn.cursor() as cur:  # one pipelined round of inserts, whatever the number of cases
            await cur.executemany(
                "INSERT INTO cases (case_id, origin, message_id, received_at, category, doc, routing, stored_at,"
                " submitted_sha256) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
                " RETURNING case_id",
                [(c.case_id, c.origin, c.message_id, c.received_at, c.category, c.doc, c.routing, now,
                  digests[c.case_id]) for c in intake.cases], returning=True)
            while True:
                inserted.update(str(r["case_id"]) for r in await cur.fetchall())
                if not cur.nextset():
                    break
    skipped = {c.case_id for c in intake.cases if c.case_id not in inserted}
    if skipped:
        stored = {r["case_id"]: r for r in await (await conn.execute(
            "SELECT case_id, doc, submitted_sha256 FROM cases WHERE case_id = ANY(%s)", (sorted(skipped),))).fetchall()}
        for case in intake.cases:
            row = stored.get(case.case_id)
            if case.case_id in inserted or row is None:
                continue
            same = (row["submitted_sha256"] == digests[case.case_id] if row["submitted_sha256"] is not None
                    else bytes(row["doc"]) == case.doc)
            if not same and not intake.keep_first:
                raise CaseConflict(case.case_id)
    fresh = [c.case_id in inserted for c in intake.cases]
    digests = {k: v for k, v in digests.items() if k in inserted}
    sealed = [c for c in intake.cases if c.reporter is not None and c.case_id in inserted]
    if sealed:
        async with conn.cursor() as cur:
            await cur.executemany("INSERT INTO reporter_data (case_id, kind, sealed, sealed_at)"
                                  " VALUES (%s, %s, %s, %s)",
                                  [(c.case_id, c.reporter.kind, c.reporter.sealed, now) for c in sealed
                                   if c.reporter is not None])
            tokens = [(token, c.case_id) for c in sealed if c.reporter is not None for token in c.reporter.tokens]
            if tokens:
                await cur.executemany("INSERT INTO reporter_index (token, case_id) VALUES (%s, %s)"
                                      " ON CONFLICT DO NOTHING", tokens)
    await insert_deliveries(conn, [d for d in intake.deliveries if d.case_id not in skipped])
    audit: list[AuditEntry] = []
    for entry in intake.audit:
        if entry.case_id in skipped:
            continue
        if entry.kind == "case.accepted" and entry.case_id in digests:
            entry.doc_sha256 = digests[entry.case_id]
        audit.append(entry)
    for case_id, updates in intake.updates.items():
        added, updated = await apply_actions(conn, case_id, updates)
        if added:
            audit.append(AuditEntry("case.updated", message_id=rec.message_id if rec else None, case_id=case_id,
                                    partner=rec.sender if rec else None,
                                    detail=f"{len(added)} action(s) reported", doc_sha256=updated))
    outcomes: list[ChangeOutcome] = []
    for change in intake.changes:
        outcome, entries = await apply_change(conn, change, rec)
        outcomes.append(outcome)
        audit += entries
    return IntakeResult(fresh=fresh, changes=outcomes), audit
