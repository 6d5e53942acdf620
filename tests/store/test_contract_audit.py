"""Store contract, the audit trail and operators' sessions."""

from __future__ import annotations

import time

import pytest

from hotline_gateway.store.audit import GENESIS, AuditBroken
from hotline_gateway.store.interface import Store
from hotline_gateway.store.records import AuditEntry
from tests.store.builders import intake
from tests.store.conftest import Opener


async def test_the_chain_grows_by_appends_and_verifies_entry_by_entry(store: Store) -> None:
    assert await store.audit_head() == (0, GENESIS)
    assert (await store.verify_audit()).entries == 0
    await store.append_audit([AuditEntry("one", detail="a"), AuditEntry("two", partner="DE-HOTLINE")])
    await store.commit_intakes([intake()])
    summary = await store.verify_audit()
    seq, head = await store.audit_head()
    assert (summary.entries, summary.head) == (4, head) and seq == 4
    assert await store.audit_hash_at(4) == head
    assert await store.audit_hash_at(1) != head and await store.audit_hash_at(99) is None
    recent = await store.recent_audit(3)
    assert [r["seq"] for r in recent] == [4, 3, 2] and recent[-1]["partner"] == "DE-HOTLINE"
    assert set(recent[0]) == {"seq", "at", "kind", "partner", "message_id", "case_id"}


async def test_checkpoints_are_kept_once_per_entry_in_order(store: Store) -> None:
    assert await store.latest_checkpoint() is None
    await store.add_checkpoint(3, "c" * 64, "2026-03-01T00:00:03Z", "jws-3")
    await store.add_checkpoint(1, "a" * 64, "2026-03-01T00:00:01Z", "jws-1")
    await store.add_checkpoint(3, "c" * 64, "2026-03-01T00:00:03Z", "jws-3-again")
    assert await store.checkpoints() == [(1, "a" * 64, "2026-03-01T00:00:01Z", "jws-1"),
                                         (3, "c" * 64, "2026-03-01T00:00:03Z", "jws-3")]
    assert await store.latest_checkpoint() == "jws-3"


async def test_what_partners_witnessed_is_kept_per_partner_in_order(store: Store) -> None:
    await store.add_witnessed("DE-HOTLINE", 9, "b" * 64, "t9", "de-9")
    await store.add_witnessed("DE-HOTLINE", 2, "a" * 64, "t2", "de-2")
    await store.add_witnessed("DE-HOTLINE", 2, "a" * 64, "t2", "de-2-again")
    await store.add_witnessed("NL-MELDPUNT", 1, "c" * 64, "t1", "nl-1")
    assert await store.witnessed("DE-HOTLINE") == ["de-2", "de-9"]
    assert await store.witnessed("NL-MELDPUNT") == ["nl-1"]
    assert await store.witnessed("nobody") == []


async def test_evidence_of_an_untouched_store_holds(store: Store) -> None:
    for _ in range(3):
        await store.commit_intakes([intake(partners=("DE-HOTLINE", "FR-POLICE"))])
    assert await store.evidence_problems() == ([], [])


async def test_a_session_lives_until_it_expires_or_ends(store: Store) -> None:
    await store.add_session("s" * 64, "csrf-1", time.time() + 60)
    await store.add_session("e" * 64, "csrf-2", time.time() - 1)
    assert await store.session("s" * 64) == "csrf-1"
    assert await store.session("e" * 64) is None
    assert await store.session("u" * 64) is None
    await store.end_session("s" * 64)
    assert await store.session("s" * 64) is None


async def test_an_edited_entry_document_or_payload_is_named(open_store: Opener) -> None:
    store = await open_store()
    job = intake()
    await store.commit_intakes([job])
    await store.commit_intakes([intake()])
    case_id, message_id = job.cases[0].case_id, job.deliveries[0].message_id
    open_store.raw("UPDATE cases SET doc = ? WHERE case_id = ?", b'{"edited": true}', case_id)
    open_store.raw("UPDATE payloads SET payload = ? WHERE message_id = ?", b"edited", message_id)
    problems, _ = await store.evidence_problems()
    assert problems == [f"case {case_id}: document differs from the digest the audit chain recorded",
                        f"message {message_id}: payload differs from its recorded digest"]
    open_store.raw("UPDATE audit SET detail = 'edited' WHERE seq = 2")
    with pytest.raises(AuditBroken) as broken:
        await store.verify_audit()
    assert broken.value.seq == 2
