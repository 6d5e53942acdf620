"""Store contract, the outbox: claims, outcomes, dead letters, withdrawals, paging, status."""

from __future__ import annotations

import time

from hotline_gateway.store.interface import Store
from hotline_gateway.store.records import AuditEntry, DeliveryState
from tests.store.builders import case_doc, delivery, intake
from tests.store.conftest import Opener


async def queued(store: Store, count: int, partner: str = "DE-HOTLINE") -> list[str]:
    jobs = [intake(partners=(partner,)) for _ in range(count)]
    for job in jobs:
        await store.commit_intakes([job])
    return [job.deliveries[0].message_id for job in jobs]


async def test_claims_take_due_rows_oldest_first_once_each_and_count_an_attempt(store: Store) -> None:
    ids = await queued(store, 5)
    first = await store.claim_due("DE-HOTLINE", time.time(), 3)
    assert [d.message_id for d in first] == ids[:3]
    assert all(d.state is DeliveryState.IN_FLIGHT and d.attempts == 1 for d in first)
    second = await store.claim_due("DE-HOTLINE", time.time(), 10)
    assert [d.message_id for d in second] == ids[3:]
    assert await store.claim_due("DE-HOTLINE", time.time(), 10) == []
    assert await store.claim_due("FR-POLICE", time.time(), 10) == []
    status = (await store.partner_status())["DE-HOTLINE"]
    assert (status.queued, status.in_flight) == (0, 5)


async def test_a_claimed_delivery_is_the_row_as_stored_whether_read_back_or_just_queued(open_store: Opener) -> None:
    """The process that queued a row hands it to the first claim from memory (SQLite); what a lane gets
    must equal what a fresh process reads from disk, bytes and bookkeeping alike."""
    store = await open_store()
    ids = await queued(store, 3)
    claimed = await store.claim_due("DE-HOTLINE", time.time(), 10)
    stored = {d.message_id: d for d in await store.deliveries("DE-HOTLINE")}
    assert [d.message_id for d in claimed] == ids
    for d in claimed:
        on_disk = stored[d.message_id]
        on_disk.state, on_disk.attempts = DeliveryState.IN_FLIGHT, 1
        assert d == on_disk


async def test_a_queued_row_changed_on_disk_before_its_first_claim_is_not_sent(open_store: Opener) -> None:
    """A row cancelled or removed behind the process's back (another process, a lifecycle change) is
    not claimed from the copy the intake left in memory."""
    store = await open_store()
    cancelled, removed, kept = await queued(store, 3)
    open_store.raw("UPDATE deliveries SET state='cancelled' WHERE message_id=?", cancelled)
    open_store.raw("UPDATE deliveries SET next_attempt_at=? WHERE message_id=?", time.time() + 600, removed)
    claimed = await store.claim_due("DE-HOTLINE", time.time(), 10)
    assert [d.message_id for d in claimed] == [kept]


async def test_a_delivery_is_not_claimed_before_it_is_due(store: Store) -> None:
    doc = case_doc()
    job = intake(doc)
    job.deliveries = [delivery(doc["case_id"], due=time.time() + 60)]
    await store.commit_intakes([job])
    assert await store.claim_due("DE-HOTLINE", time.time(), 10) == []
    assert await store.next_due("DE-HOTLINE") == job.deliveries[0].next_attempt_at
    assert await store.next_due("FR-POLICE") is None


async def test_rows_in_flight_are_not_what_is_due_next(store: Store) -> None:
    """An idle lane asks when to look again: a row another lane has out is not due (on SQLite a claimed
    row is still ``queued`` on disk, and an idle lane looked again every few milliseconds while any batch
    was out); the next unclaimed row is, and a released claim is due again."""
    doc = case_doc()
    job = intake(doc)
    later = time.time() + 60
    job.deliveries = [delivery(doc["case_id"]), delivery(doc["case_id"], due=later)]
    await store.commit_intakes([job])
    out = await store.claim_due("DE-HOTLINE", time.time(), 10)
    assert [d.message_id for d in out] == [job.deliveries[0].message_id]
    assert await store.next_due("DE-HOTLINE") == later
    await store.release(out)
    due = await store.next_due("DE-HOTLINE")
    assert due is not None and due <= time.time()
    again = await store.claim_due("DE-HOTLINE", time.time(), 10)
    again += await store.claim_due("DE-HOTLINE", later + 1, 10)
    assert len(again) == 2
    assert await store.next_due("DE-HOTLINE") is None, "both rows are out: nothing is due"


async def test_released_claims_are_claimed_again_with_the_same_attempt_count(store: Store) -> None:
    await queued(store, 2)
    batch = await store.claim_due("DE-HOTLINE", time.time(), 10)
    await store.release(batch)
    again = await store.claim_due("DE-HOTLINE", time.time(), 10)
    assert sorted(d.message_id for d in again) == sorted(d.message_id for d in batch)
    assert [d.attempts for d in again] == [1, 1]


async def test_delivered_rows_keep_their_receipt_and_record_the_notice_on_their_items(store: Store) -> None:
    doc = case_doc()
    await store.commit_intakes([intake(doc, partners=("HOST",))])
    [d] = await store.claim_due("HOST", time.time(), 10)
    action = {"type": "sent_to_isp", "at": "2026-03-02T00:00:00Z", "by": "FR-PDC"}
    await store.mark_delivered([(d, "receipt-jws")], [AuditEntry("message.delivered", message_id=d.message_id,
                                                                 case_id=d.case_id, partner=d.partner)],
                               [(d, action)])
    [row] = await store.deliveries("HOST")
    assert (row.state, row.receipt, row.attempts, row.last_error) == (DeliveryState.DELIVERED, "receipt-jws", 1, None)
    assert row.delivered_at is not None
    stored = (await store.case_docs([doc["case_id"]]))[doc["case_id"]]
    assert all(item["actions"] == [action] for item in stored["items"])
    assert [e["kind"] for e in await store.recent_audit(2)] == ["case.updated", "message.delivered"]
    assert await store.claim_due("HOST", time.time(), 10) == []
    assert await store.evidence_problems() == ([], [])


async def test_failures_are_retried_at_their_time_or_dead_lettered_and_requeued(store: Store) -> None:
    await queued(store, 2)
    await queued(store, 1, "FR-POLICE")
    a, b = await store.claim_due("DE-HOTLINE", time.time(), 10)
    retry_at = time.time() + 30
    await store.mark_failed([a], "unreachable: refused", retry_at=retry_at, audit=[])
    await store.mark_failed([b], "rejected", retry_at=None,
                            audit=[AuditEntry("message.dead_lettered", message_id=b.message_id, partner=b.partner)])
    [p] = await store.claim_due("FR-POLICE", time.time(), 10)
    await store.mark_failed([p], "rejected", retry_at=None, audit=[])
    rows = {d.message_id: d for d in await store.deliveries()}
    assert (rows[a.message_id].state, rows[a.message_id].next_attempt_at) == (DeliveryState.QUEUED, retry_at)
    assert rows[a.message_id].last_error == "unreachable: refused" and rows[a.message_id].attempts == 1
    assert rows[b.message_id].state is DeliveryState.DEAD
    assert await store.claim_due("DE-HOTLINE", time.time(), 10) == []
    assert {d.message_id for d in await store.dead_letters()} == {b.message_id, p.message_id}
    status = await store.partner_status()
    assert (status["DE-HOTLINE"].queued, status["DE-HOTLINE"].dead) == (1, 1)
    assert status["DE-HOTLINE"].last_error == "rejected"
    assert await store.requeue_dead("DE-HOTLINE", deadline_s=60) == 1
    [back] = await store.claim_due("DE-HOTLINE", time.time(), 10)
    assert back.message_id == b.message_id and back.attempts == 1
    assert await store.requeue_dead(message_id=p.message_id) == 1
    assert await store.dead_letters() == []


async def test_a_notice_about_items_all_removed_is_withdrawn_not_sent(store: Store) -> None:
    doc = case_doc()
    await store.commit_intakes([intake(doc, partners=("HOST", "PLATFORM"))])
    claimed = await store.claim_due("HOST", time.time(), 10)
    for item in doc["items"]:
        await store.add_actions(doc["case_id"], [(item["item_id"], {"type": "content_removed",
                                                                    "at": "2026-03-02T00:00:00Z"})], source="local")
    keep, gone = await store.withdraw_removed(claimed)
    assert (keep, [d.message_id for d in gone]) == ([], [claimed[0].message_id])
    [row] = await store.deliveries("HOST")
    assert row.state is DeliveryState.CANCELLED
    assert await store.items_sent_to(doc["case_id"], "HOST") == set()
    assert (await store.partner_status())["HOST"].cancelled == 1
    assert (await store.recent_audit(1))[0]["kind"] == "message.withdrawn"


async def test_delivered_messages_can_be_sent_again_under_their_ids(store: Store) -> None:
    await queued(store, 1)
    [d] = await store.claim_due("DE-HOTLINE", time.time(), 10)
    await store.mark_delivered([(d, "r")], [])
    assert await store.requeue_delivered([d.message_id, "unknown"]) == 1
    [again] = await store.claim_due("DE-HOTLINE", time.time(), 10)
    assert again.message_id == d.message_id


async def test_the_outbox_pages_in_the_order_rows_were_added_resuming_inside_a_row(store: Store) -> None:
    ids = await queued(store, 4, "MISP")
    rows = await store.deliveries("MISP")
    page = await store.outbox_page("MISP", (0.0, ""), 2)
    assert [d.message_id for d in page] == [d.message_id for d in sorted(rows, key=lambda d: (d.created_at,
                                                                                           d.message_id))][:2]
    rest = await store.outbox_page("MISP", (page[-1].created_at, page[-1].message_id), 10)
    assert rest[0].message_id == page[-1].message_id and len(rest) == 3
    assert sorted(d.message_id for d in page + rest[1:]) == sorted(ids)


async def test_transport_state_and_circuits_are_kept(store: Store) -> None:
    assert await store.transport_state("m-1") is None
    await store.put_transport_state("m-1", {"report_id": "42"})
    await store.put_transport_state("m-1", {"report_id": "43", "files": 1})
    assert await store.transport_state("m-1") == {"report_id": "43", "files": 1}
    await store.put_transport_state("m-1", None)
    assert await store.transport_state("m-1") is None
    await store.set_circuit("DE-HOTLINE", "open", 5)
    await store.set_circuit("DE-HOTLINE", "closed", 0)
    await store.set_circuit("FR-POLICE", "open", 7)
    assert await store.circuits() == {"DE-HOTLINE": ("closed", 0), "FR-POLICE": ("open", 7)}
