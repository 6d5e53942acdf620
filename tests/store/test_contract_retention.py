"""Store contract, sealed reporter data and retention: each test runs on SQLite and on PostgreSQL (where
the keys live in the vault shared by the nodes)."""

from __future__ import annotations

import hashlib
import time

import orjson

from hotline_gateway.crypto.sealing import index_token, new_key, seal
from hotline_gateway.store.interface import Store
from hotline_gateway.store.records import AuditEntry, DeliveryState, Intake, SealedReporter
from tests.store.builders import case_doc, intake

EMAIL = "ada@reporters.example.org"


async def reported(store: Store, partners: tuple[str, ...] = ("FR-POLICE", "DE-HOTLINE")) -> tuple[Intake, bytes]:
    """A case whose reporter is sealed with its own key; the message to the police carries the reporter
    (sealed payload), the one to DE does not."""
    doc = case_doc()
    job = intake(doc, partners=partners)
    key = new_key()
    reporter = {"kind": "person", "name": "Ada Reporter", "email": EMAIL}
    secret = await store.reporter_index_secret()
    job.cases[0].reporter = SealedReporter(key=key, kind="person", tokens=(index_token(secret, EMAIL),),
                                           sealed=seal(key, orjson.dumps(reporter), doc["case_id"]))
    police = job.deliveries[0]
    police.carries_reporter = True
    police.sealed_payload = seal(key, police.payload, doc["case_id"])
    await store.commit_intakes([job])
    return job, police.payload


async def test_a_sealed_reporter_opens_for_the_case_system_and_is_found_by_its_address(store: Store) -> None:
    job, _ = await reported(store)
    case_id = job.cases[0].case_id
    assert await store.case_reporter(case_id) == {"kind": "person", "name": "Ada Reporter", "email": EMAIL}
    info, _ = await store.get_case(case_id) or ({}, [])
    assert info["case"]["reporter"]["email"] == EMAIL
    secret = await store.reporter_index_secret()
    assert await store.reporter_index_secret() == secret
    assert await store.cases_of_reporter(index_token(secret, " ADA@reporters.example.org ")) == [case_id]
    assert await store.case_reporter(case_doc()["case_id"]) is None


async def test_a_sealed_payload_is_claimed_open_and_its_evidence_holds(store: Store) -> None:
    _, payload = await reported(store)
    [d] = await store.claim_due("FR-POLICE", time.time(), 10)
    assert d.payload == payload and hashlib.sha256(d.payload).hexdigest() == d.payload_sha256
    assert d.carries_reporter
    assert await store.evidence_problems() == ([], [])


async def test_erasure_shreds_the_key_cancels_what_would_carry_it_and_is_audited(store: Store) -> None:
    job, _ = await reported(store)
    case_id = job.cases[0].case_id
    [d] = await store.claim_due("FR-POLICE", time.time(), 10)
    await store.mark_delivered([(d, "receipt")], [AuditEntry("message.delivered", message_id=d.message_id,
                                                             case_id=d.case_id, partner=d.partner)])
    job2, _ = await reported(store)
    [erased, erased2] = sorted(await store.erase_reporters([case_id, job2.cases[0].case_id], "asked by the reporter"),
                               key=lambda e: e.case_id != case_id)
    assert (erased.case_id, erased.sent_to, erased.cancelled) == (case_id, ["FR-POLICE"], 0)
    assert (erased2.sent_to, erased2.cancelled) == ([], 1)
    assert (await store.case_reporter(case_id) or {})["erased"] is True
    secret = await store.reporter_index_secret()
    assert await store.cases_of_reporter(index_token(secret, EMAIL)) == []
    states = {(x.case_id, x.partner): x.state for x in await store.deliveries()}
    assert states[(job2.cases[0].case_id, "FR-POLICE")] is DeliveryState.CANCELLED
    assert states[(job2.cases[0].case_id, "DE-HOTLINE")] is DeliveryState.QUEUED  # it never carried the reporter
    assert [e["kind"] for e in await store.recent_audit(2)] == ["reporter.erased", "reporter.erased"]
    assert await store.erase_reporters([case_id], "again") == []
    assert await store.evidence_problems() == ([], [])
    assert {r.case_id: r.has_reporter for r in await store.retention_rows()} == {case_id: False,
                                                                              job2.cases[0].case_id: False}


async def test_a_message_in_flight_when_its_reporter_is_erased_is_never_sent(store: Store) -> None:
    job, _ = await reported(store, partners=("FR-POLICE",))
    [d] = await store.claim_due("FR-POLICE", time.time(), 10)
    await store.erase_reporters([job.cases[0].case_id], "retention period ended")
    await store.mark_failed([d], "unreachable", retry_at=time.time(), audit=[])
    assert await store.claim_due("FR-POLICE", time.time() + 1, 10) == []
    [row] = await store.deliveries("FR-POLICE")
    assert row.state is DeliveryState.CANCELLED and "erased" in (row.last_error or "")
    assert (await store.recent_audit(1))[0]["kind"] == "message.cancelled"


async def test_a_purged_case_leaves_one_audit_entry_with_its_digest(store: Store) -> None:
    job, _ = await reported(store)
    kept = intake()
    await store.commit_intakes([kept])
    case_id = job.cases[0].case_id
    assert await store.purge_cases([case_id, "no-such-case"], "retention period ended") == 1
    assert await store.get_case(case_id) is None and await store.case_reporter(case_id) is None
    assert {d.case_id for d in await store.deliveries()} == {kept.cases[0].case_id}
    [entry] = await store.recent_audit(1)
    assert (entry["kind"], entry["case_id"]) == ("case.purged", case_id)
    assert (await store.verify_audit()).entries == 3 + 2 + 1  # the chain keeps what the case left
    assert await store.evidence_problems() == ([], [])
    assert [r.case_id for r in await store.retention_rows()] == [kept.cases[0].case_id]
