"""Store contract, intake and cases: each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import time

import pytest

from hotline_gateway.store.interface import CaseConflict, Store
from tests.store.builders import case_doc, inbound, intake
from tests.store.conftest import Opener


async def test_an_intake_commits_its_case_outbox_rows_and_audit_entries_together(store: Store) -> None:
    job = intake(partners=("DE-HOTLINE", "FR-POLICE"))
    [result] = await store.commit_intakes([job])
    assert result.fresh == [True] and result.duplicate_of is None
    assert (await store.count("cases"), await store.count("deliveries"), await store.count("audit")) == (1, 2, 3)
    info, deliveries = await store.get_case(job.cases[0].case_id) or ({}, [])
    assert info["origin"] == "local" and info["case"]["case_id"] == job.cases[0].case_id
    assert sorted(d.partner for d in deliveries) == ["DE-HOTLINE", "FR-POLICE"]
    assert {d.payload for d in deliveries} == {d.payload for d in job.deliveries}
    assert (await store.verify_audit()).entries == 3


async def test_one_conflicting_case_rolls_back_every_intake_of_the_commit(store: Store) -> None:
    first = case_doc()
    await store.commit_intakes([intake(first)])
    changed = {**first, "category": "hate"}
    with pytest.raises(CaseConflict) as caught:
        await store.commit_intakes([intake(), intake(changed)])
    assert caught.value.case_id == first["case_id"]
    assert (await store.count("cases"), await store.count("deliveries"), await store.count("audit")) == (1, 1, 2)


async def test_the_same_case_again_is_not_fresh_and_writes_nothing(store: Store) -> None:
    doc = case_doc()
    await store.commit_intakes([intake(doc)])
    [again] = await store.commit_intakes([intake(doc)])
    assert again.fresh == [False]
    assert (await store.count("cases"), await store.count("deliveries"), await store.count("audit")) == (1, 1, 2)


async def test_keep_first_keeps_the_stored_copy_of_a_case_sent_again_with_other_content(store: Store) -> None:
    doc = case_doc()
    await store.commit_intakes([intake(doc)])
    other = intake({**doc, "category": "hate"}, inbound=inbound("DE-HOTLINE"), origin="DE-HOTLINE")
    other.keep_first = True
    [result] = await store.commit_intakes([other])
    assert result.fresh == [False]
    assert (await store.case_docs([doc["case_id"]]))[doc["case_id"]]["category"] == "csam"
    assert await store.case_origin(doc["case_id"]) == "local"


async def test_a_message_id_is_settled_per_sender(store: Store) -> None:
    rec = inbound("DE-HOTLINE", "same-id")
    [first] = await store.commit_intakes([intake(inbound=rec, origin="DE-HOTLINE")])
    [again] = await store.commit_intakes([intake(inbound=inbound("DE-HOTLINE", "same-id"), origin="DE-HOTLINE")])
    assert first.duplicate_of is None
    assert again.duplicate_of is not None and again.duplicate_of.receipt == rec.receipt
    [other] = await store.commit_intakes([intake(inbound=inbound("NL-MELDPUNT", "same-id"), origin="NL-MELDPUNT")])
    assert other.duplicate_of is None
    assert await store.count("inbound") == 2 and await store.count("cases") == 2
    found = await store.find_inbound("DE-HOTLINE", ["same-id", "unknown"])
    assert list(found) == ["same-id"] and found["same-id"].kid == "DE-HOTLINE-key"


async def test_case_reads_name_origin_documents_and_items_sent(store: Store) -> None:
    job = intake(inbound=inbound("DE-HOTLINE"), origin="DE-HOTLINE", partners=("FR-POLICE",))
    await store.commit_intakes([job])
    case_id = job.cases[0].case_id
    assert await store.case_origin(case_id) == "DE-HOTLINE"
    assert await store.case_origin("no-such-case") is None
    assert await store.get_case("no-such-case") is None
    assert set(await store.case_docs([case_id, "no-such-case"])) == {case_id}
    assert await store.items_sent_to(case_id, "FR-POLICE") == set(job.deliveries[0].item_ids)
    assert await store.items_sent_to(case_id, "DE-HOTLINE") == set()


async def test_actions_are_merged_once_and_audited_with_the_documents_new_digest(store: Store) -> None:
    doc = case_doc()
    await store.commit_intakes([intake(doc)])
    item = doc["items"][0]["item_id"]
    action = {"type": "content_removed", "at": "2026-03-02T10:00:00Z", "by": "host"}
    added = await store.add_actions(doc["case_id"], [(item, action)], source="local")
    assert added == [(item, action)]
    assert await store.add_actions(doc["case_id"], [(item, action)], source="local") == []
    assert await store.add_actions("no-such-case", [(item, action)], source="local") is None
    stored = (await store.case_docs([doc["case_id"]]))[doc["case_id"]]
    assert stored["items"][0]["actions"] == [action]
    assert (await store.recent_audit(1))[0]["kind"] == "case.updated"
    assert await store.evidence_problems() == ([], [])


async def test_partner_updates_in_an_intake_record_actions_on_a_stored_case(store: Store) -> None:
    doc = case_doc()
    await store.commit_intakes([intake(doc)])
    update = intake(inbound=inbound("DE-HOTLINE"), origin="DE-HOTLINE")
    update.cases, update.deliveries, update.audit = [], [], []
    update.updates = {doc["case_id"]: [(doc["items"][1]["item_id"],
                                        {"type": "content_unavailable", "at": "2026-03-03T00:00:00Z"})]}
    await store.commit_intakes([update])
    stored = (await store.case_docs([doc["case_id"]]))[doc["case_id"]]
    assert [a["type"] for a in stored["items"][1].get("actions", [])] == ["content_unavailable"]
    assert (await store.recent_audit(1))[0]["partner"] == "DE-HOTLINE"
    assert await store.evidence_problems() == ([], [])


async def test_report_reads_take_cases_received_in_the_period_and_their_deliveries(store: Store) -> None:
    inside = case_doc(received_at="2026-03-05T00:00:00Z")
    before = case_doc(received_at="2026-02-28T23:59:59Z")
    await store.commit_intakes([intake(inside), intake(before)])
    cases = await store.report_cases("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
    assert [c.case_id for c in cases] == [inside["case_id"]]
    assert [i.country for i in cases[0].items] == ["DE", "DE"] and cases[0].items[0].legal_class == "baseline"
    deliveries = await store.report_deliveries("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
    assert [(d.case_id, d.partner, d.state) for d in deliveries] == [(inside["case_id"], "DE-HOTLINE", "queued")]


async def test_nonces_are_spent_once_and_pruned_by_age(store: Store) -> None:
    assert await store.spend_nonce("kid-1", "n-1", 1000)
    assert not await store.spend_nonce("kid-1", "n-1", 1000)
    assert await store.spend_nonce("kid-2", "n-1", 1000)
    assert await store.prune_nonces(1500) >= 0
    assert await store.spend_nonce("kid-1", "n-1", 1000)  # out of the window, forgotten: fresh again


async def test_a_nonce_committed_with_its_message_stays_spent_after_a_restart(open_store: Opener) -> None:
    store = await open_store()
    now = int(time.time())
    assert await store.spend_nonce("kid-1", "n-2", now)
    await store.commit_intakes([intake(inbound=inbound(), origin="DE-HOTLINE")], nonce=("kid-1", "n-2", now))
    await store.close()
    again = await open_store()
    assert not await again.spend_nonce("kid-1", "n-2", now)


async def test_a_write_probe_commits(store: Store) -> None:
    await store.probe_write()
    assert await store.hold_leadership()
