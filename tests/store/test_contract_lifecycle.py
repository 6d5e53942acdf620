"""Store contract, retractions and corrections: committed whole with their intake or not at all, checked
against the state they were planned from, and screened at send time."""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
import pytest

from hotline_gateway.core.errors import LifecycleRace
from hotline_gateway.store.documents import doc_digest
from hotline_gateway.store.interface import Store
from hotline_gateway.store.records import (
    AuditEntry,
    Delivery,
    DeliveryState,
    Intake,
    LifecycleChange,
    PartnerPlan,
)
from tests.store.builders import case_doc, delivery, intake

DUMP = orjson.OPT_SORT_KEYS


def retracted(doc: dict[str, Any], item_ids: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = orjson.loads(orjson.dumps(doc))
    for item in out["items"]:
        if item["item_id"] in item_ids:
            item.setdefault("actions", []).append({"type": "retracted", "at": "2026-03-02T00:00:00Z", "by": "FR-PDC",
                                                   "note": "duplicate"})
    return out


def notice_row(case_id: str, partner: str, notice_id: str, items: list[str]) -> Delivery:
    d = delivery(case_id, partner, items=items)
    d.message_type, d.format, d.notice_id = "case.retract", "lifecycle", notice_id
    return d


def change(doc: dict[str, Any], item_ids: list[str], plans: list[PartnerPlan], *,
           based_on: bytes | None = None) -> LifecycleChange:
    stored = orjson.dumps(doc, option=DUMP)
    notice_id = str(uuid.uuid4())
    for plan in plans:
        for d in (plan.message, plan.replacement):
            if d is not None and d.message_type == "case.retract":
                d.notice_id = notice_id
    queued = [AuditEntry("message.queued", message_id=d.message_id, case_id=doc["case_id"], partner=d.partner,
                         payload_sha256=d.payload_sha256) for p in plans for d in (p.message, p.replacement) if d]
    return LifecycleChange(
        notice_id=notice_id, case_id=doc["case_id"], kind="retract", origin="local", reason="duplicate",
        notice=orjson.dumps({"notice_id": notice_id, "items": item_ids}), doc=orjson.dumps(retracted(doc, item_ids),
                                                                                            option=DUMP),
        based_on=doc_digest(based_on if based_on is not None else stored), plans=plans,
        audit=[AuditEntry("case.retracted", case_id=doc["case_id"], detail=f"{len(item_ids)} item(s)"), *queued])


async def sent_case(store: Store, partners: tuple[str, ...] = ("DE-HOTLINE", "HOST")) -> tuple[dict[str, Any],
                                                                                                Intake]:
    doc = case_doc(items=3)
    job = intake(doc, partners=partners)
    await store.commit_intakes([job])
    return doc, job


async def test_a_retraction_commits_with_its_record_cancels_unsent_messages_and_queues_the_notice(store: Store
                                                                                                  ) -> None:
    doc, job = await sent_case(store)
    to_de, to_host = job.deliveries
    [claimed] = await store.claim_due("DE-HOTLINE", time.time(), 10)
    await store.mark_delivered([(claimed, "receipt")], [])
    items = [doc["items"][0]["item_id"], doc["items"][1]["item_id"]]
    message = notice_row(doc["case_id"], "DE-HOTLINE", "", items)
    replacement = delivery(doc["case_id"], "HOST", items=[doc["items"][2]["item_id"]])
    plans = [PartnerPlan("DE-HOTLINE", items, message=message),
             PartnerPlan("HOST", items, cancel=[to_host.message_id], replacement=replacement)]
    lc = change(doc, items, plans)
    [result] = await store.commit_intakes([Intake(changes=[lc])])

    [outcome] = result.changes
    assert outcome.notice_id == lc.notice_id
    assert outcome.queued == ["DE-HOTLINE"]
    assert outcome.cancelled == [("HOST", to_host.message_id)]
    [record] = await store.lifecycle_records(doc["case_id"])
    assert (record.kind, record.origin, record.reason) == ("retract", "local", "duplicate")
    assert record.notice["items"] == items
    found = await store.get_case(doc["case_id"])
    assert found is not None
    stored_items = {i["item_id"]: i for i in found[0]["case"]["items"]}
    assert [a["type"] for a in stored_items[items[0]]["actions"]] == ["retracted"]
    rows = {d.message_id: d for d in await store.case_deliveries(doc["case_id"])}
    assert rows[to_de.message_id].state is DeliveryState.DELIVERED
    assert rows[to_host.message_id].state is DeliveryState.CANCELLED
    assert rows[message.message_id].notice_id == lc.notice_id
    assert rows[message.message_id].state is DeliveryState.QUEUED
    assert rows[replacement.message_id].state is DeliveryState.QUEUED
    assert [d.partner for d in await store.case_deliveries(doc["case_id"])] == ["DE-HOTLINE"] * 2 + ["HOST"] * 2
    newest_first = [e["kind"] for e in await store.recent_audit(4)]
    assert newest_first[::-1] == ["case.retracted", "message.cancelled", "message.queued", "message.queued"]
    assert (await store.verify_audit()).entries > 0


async def test_a_change_planned_from_a_document_that_moved_is_refused_and_leaves_nothing(store: Store) -> None:
    doc, job = await sent_case(store, ("HOST",))
    items = [doc["items"][0]["item_id"]]
    stale = dict(doc, category="hate")
    lc = change(doc, items, [PartnerPlan("HOST", items, cancel=[job.deliveries[0].message_id])],
                based_on=orjson.dumps(stale, option=DUMP))
    with pytest.raises(LifecycleRace):
        await store.commit_intakes([Intake(changes=[lc])])
    assert await store.lifecycle_records(doc["case_id"]) == []
    [row] = await store.case_deliveries(doc["case_id"])
    assert row.state is DeliveryState.QUEUED
    found = await store.get_case(doc["case_id"])
    assert found is not None and "actions" not in found[0]["case"]["items"][0]


async def test_cancelling_a_message_a_lane_claimed_meanwhile_is_refused_and_the_claim_is_shown_in_flight(
        store: Store) -> None:
    doc, _job = await sent_case(store, ("HOST",))
    [claimed] = await store.claim_due("HOST", time.time(), 10)
    [row] = await store.case_deliveries(doc["case_id"])
    assert row.state is DeliveryState.IN_FLIGHT
    items = [doc["items"][0]["item_id"]]
    lc = change(doc, items, [PartnerPlan("HOST", items, cancel=[claimed.message_id])])
    with pytest.raises(LifecycleRace):
        await store.commit_intakes([Intake(changes=[lc])])
    assert await store.lifecycle_records(doc["case_id"]) == []
    await store.mark_delivered([(claimed, "receipt")], [])  # the claim still stands and is recorded
    [row] = await store.case_deliveries(doc["case_id"])
    assert row.state is DeliveryState.DELIVERED


async def test_unacknowledged_changes_are_listed_until_delivered(store: Store) -> None:
    doc, _job = await sent_case(store, ("DE-HOTLINE",))
    [first] = await store.claim_due("DE-HOTLINE", time.time(), 10)
    await store.mark_delivered([(first, "receipt")], [])
    items = [doc["items"][0]["item_id"]]
    message = notice_row(doc["case_id"], "DE-HOTLINE", "", items)
    lc = change(doc, items, [PartnerPlan("DE-HOTLINE", items, message=message)])
    await store.commit_intakes([Intake(changes=[lc])])
    assert await store.lifecycle_unacknowledged(time.time() - 3600) == []
    [open_] = await store.lifecycle_unacknowledged(time.time() + 1)
    assert (open_.message_id, open_.notice_id) == (message.message_id, lc.notice_id)
    batch = await store.claim_due("DE-HOTLINE", time.time(), 10)
    assert [d.notice_id for d in batch] == [lc.notice_id]
    assert [d.message_id for d in await store.lifecycle_unacknowledged(time.time() + 1)] == [message.message_id]
    await store.mark_delivered([(batch[0], "receipt")], [])
    assert await store.lifecycle_unacknowledged(time.time() + 1) == []


async def test_screen_passes_batches_of_untouched_cases_through(store: Store) -> None:
    await sent_case(store, ("HOST",))
    batch = await store.claim_due("HOST", time.time(), 10)
    assert await store.screen(batch, hold_s=0.5) == (batch, [], [])


async def test_screen_withdraws_a_notice_whose_items_were_all_retracted(store: Store) -> None:
    doc = case_doc(items=2)
    items = [i["item_id"] for i in doc["items"]]
    job = intake(doc, partners=("HOST",))
    await store.commit_intakes([job])
    [claimed] = await store.claim_due("HOST", time.time(), 10)
    await store.release([claimed])  # a lane held it while the plan was made; it went back before the commit
    lc = change(doc, items, [PartnerPlan("HOST", items)])  # planned as if it had been in flight: nothing cancelled
    await store.commit_intakes([Intake(changes=[lc])])
    batch = await store.claim_due("HOST", time.time(), 10)
    send, held, gone = await store.screen(batch, hold_s=0.5)
    assert (send, held, [d.message_id for d in gone]) == ([], [], [claimed.message_id])
    [row] = await store.case_deliveries(doc["case_id"])
    assert row.state is DeliveryState.CANCELLED and row.last_error is not None
    assert "withdrawn" in row.last_error
    assert (await store.recent_audit(1))[0]["kind"] == "message.withdrawn"
    assert await store.claim_due("HOST", time.time(), 10) == []
    await store.verify_audit()


async def test_screen_holds_a_retraction_behind_an_earlier_message_and_withdraws_one_nothing_preceded(
        store: Store) -> None:
    doc = case_doc(items=2)
    items = [doc["items"][0]["item_id"]]
    earlier = delivery(doc["case_id"], "DE-HOTLINE", items=[i["item_id"] for i in doc["items"]])
    job = intake(doc, partners=())
    job.deliveries = [earlier]
    await store.commit_intakes([job])
    message = notice_row(doc["case_id"], "DE-HOTLINE", "", items)
    message.created_at = earlier.created_at + 1
    lc = change(doc, items, [PartnerPlan("DE-HOTLINE", items, message=message)])
    await store.commit_intakes([Intake(changes=[lc])])
    batch = await store.claim_due("DE-HOTLINE", time.time() + 5, 10)
    assert {d.message_id for d in batch} == {earlier.message_id, message.message_id}
    send, held, gone = await store.screen(batch, hold_s=30)
    assert ([d.message_id for d in send], [d.message_id for d in held], gone) == (
        [earlier.message_id], [message.message_id], [])
    rows = {d.message_id: d for d in await store.case_deliveries(doc["case_id"])}
    assert rows[message.message_id].state is DeliveryState.QUEUED
    assert rows[message.message_id].next_attempt_at >= time.time() + 20
    assert await store.claim_due("DE-HOTLINE", time.time(), 10) == []  # held back, not yet due
    await store.mark_failed(send, "partner refused", retry_at=None, audit=[])  # the original never arrived
    [again] = await store.claim_due("DE-HOTLINE", time.time() + 60, 10)
    send, held, gone = await store.screen([again], hold_s=30)
    assert (send, held, [d.message_id for d in gone]) == ([], [], [message.message_id])
    rows = {d.message_id: d for d in await store.case_deliveries(doc["case_id"])}
    assert rows[message.message_id].state is DeliveryState.CANCELLED


async def test_screen_sends_a_retraction_once_the_original_reached_the_partner(store: Store) -> None:
    doc, _job = await sent_case(store, ("DE-HOTLINE",))
    [first] = await store.claim_due("DE-HOTLINE", time.time(), 10)
    await store.mark_delivered([(first, "receipt")], [])
    items = [doc["items"][0]["item_id"]]
    message = notice_row(doc["case_id"], "DE-HOTLINE", "", items)
    await store.commit_intakes([Intake(changes=[change(doc, items, [PartnerPlan("DE-HOTLINE", items,
                                                                                message=message)])])])
    batch = await store.claim_due("DE-HOTLINE", time.time(), 10)
    assert await store.screen(batch, hold_s=0.5) == (batch, [], [])
