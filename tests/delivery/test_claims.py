"""Claims on the SQLite outbox with many rows already in flight: the due rows are walked in due order past
the ones other lanes hold, and only the rows taken are read whole (payload and all)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

from hotline_gateway.store.records import Delivery, Intake, StoredCase
from hotline_gateway.store.sqlite import SqliteStore
from hotline_gateway.store.sqlite.rows import RELEASE_MEMORY_S


def queued(count: int, now: float) -> Intake:
    """``count`` deliveries to DE, each due one millisecond after the one before."""
    case_ids = [str(uuid.uuid4()) for _ in range(count)]
    return Intake(
        cases=[StoredCase(case_id=c, origin="local", received_at="2026-01-01T00:00:00Z", category="csam",
                          doc=b"{}", routing=b"[]") for c in case_ids],
        deliveries=[Delivery(message_id=str(uuid.uuid4()), case_id=c, partner="DE-HOTLINE", format="native",
                             transport="native-http", message_type="notify", payload=os.urandom(64),
                             payload_sha256="0" * 64, signature="sig", created_at=now, next_attempt_at=now + n / 1000,
                             deadline_at=now + 3600, item_ids=["item"]) for n, c in enumerate(case_ids)])


async def test_lanes_claim_disjoint_batches_in_due_order_past_the_rows_in_flight(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "store.sqlite3")
    try:
        now = time.time() - 10
        intake = queued(1050, now)
        await store.commit_intakes([intake])
        in_order = [d.message_id for d in intake.deliveries]
        payloads = {d.message_id: d.payload for d in intake.deliveries}
        batches = [await store.claim_due("DE-HOTLINE", time.time(), 100) for _ in range(11)]
        taken = [d.message_id for batch in batches for d in batch]
        assert taken == in_order, "claims skip nothing due, take nothing twice, and follow the due order"
        assert [len(b) for b in batches] == [100] * 10 + [50]
        assert all(d.payload == payloads[d.message_id] and d.attempts == 1 for b in batches for d in b)
        assert await store.claim_due("DE-HOTLINE", time.time(), 100) == []

        # A batch released (its send put off) is due again for a claim that starts after the release,
        # ahead of nothing else: it is the oldest due work.
        await store.release(batches[3])
        again = await store.claim_due("DE-HOTLINE", time.time(), 100)
        assert [d.message_id for d in again] == in_order[300:400]
        assert all(d.attempts == 1 for d in again), "a release is not an attempt"
    finally:
        await store.close()


async def test_a_row_not_yet_due_is_not_claimed_even_when_the_due_ones_are_all_held(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "store.sqlite3")
    try:
        now = time.time()
        due, later = queued(20, now - 10), queued(5, now + 3600)
        await store.commit_intakes([due, later])
        first = await store.claim_due("DE-HOTLINE", time.time(), 15)
        second = await store.claim_due("DE-HOTLINE", time.time(), 15)
        assert len(first) == 15 and len(second) == 5
        assert {d.message_id for d in first + second} == {d.message_id for d in due.deliveries}
    finally:
        await store.close()


async def test_released_claims_are_remembered_for_the_release_window_then_forgotten(tmp_path: Path) -> None:
    """A claim that began before a release must not take the row again, so releases are remembered for
    RELEASE_MEMORY_S; after that they are dropped, oldest first, and a row released again is kept by its
    later release."""
    store = await SqliteStore.open(tmp_path / "store.sqlite3")
    try:
        await store.commit_intakes([queued(3, time.time() - 10)])
        first = await store.claim_due("DE-HOTLINE", time.time(), 3)
        await store.release(first)
        released_at = store._released[first[0].message_id]
        while time.monotonic() == released_at:
            await asyncio.sleep(0.001)
        again = await store.claim_due("DE-HOTLINE", time.time(), 1)  # begun after the release: may take it
        assert [d.message_id for d in again] == [first[0].message_id]
        while time.monotonic() == released_at:
            await asyncio.sleep(0.001)
        await store.release(again)
        again_at = store._released[again[0].message_id]
        assert again_at > released_at and set(store._released) == {d.message_id for d in first}
        store._forget_released(now=(released_at + again_at) / 2 + RELEASE_MEMORY_S)
        assert set(store._released) == {again[0].message_id}, "the first releases expired, not the later one"
        store._forget_released(now=again_at + RELEASE_MEMORY_S + 1)
        assert store._released == {} and not store._release_order
    finally:
        await store.close()
