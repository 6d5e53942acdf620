"""A failed batch is written together (issue 11): each message gets its own jittered retry time, which
made each its own write, awaited one after another, so a batch of 100 refused by a partner cost 100
commits (each synced) before the lane could move on. Queued together, the store's group commit takes
them in a few transactions at most (one or two, as a rule)."""

from __future__ import annotations

import time
from pathlib import Path

from hotline_gateway.config import DeliverySettings
from hotline_gateway.core.errors import PermanentDeliveryError, TransientDeliveryError
from hotline_gateway.pipeline.outbox import fail, record
from hotline_gateway.store.records import DeliveryState
from hotline_gateway.store.sqlite import SqliteStore
from hotline_gateway.transports.base import Outcome
from tests.delivery.test_claims import queued


async def test_a_failed_batch_of_100_takes_a_few_commits_not_100_each_row_with_its_own_retry(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "store.sqlite3")
    try:
        await store.commit_intakes([queued(100, time.time() - 10)])
        batch = await store.claim_due("DE-HOTLINE", time.time(), 100)
        before = store.commit_batches
        await fail(store, batch, TransientDeliveryError("DE unreachable"), DeliverySettings())
        assert store.commit_batches - before <= 5, f"{store.commit_batches - before} commits for one batch"
        rows = await store.deliveries("DE-HOTLINE")
        assert all(d.state is DeliveryState.QUEUED and d.next_attempt_at > time.time() for d in rows)
        assert len({d.next_attempt_at for d in rows}) > 50, "retry times are jittered per message"
        assert await store.claim_due("DE-HOTLINE", time.time(), 100) == [], "nothing is due before its retry"
    finally:
        await store.close()


async def test_per_message_refusals_in_one_answer_are_written_together(tmp_path: Path) -> None:
    """A partner that refuses each message on its own (a transport answering per message) gets one
    outcome per message; half retried, half dead-lettered, all in one or two commits."""
    store = await SqliteStore.open(tmp_path / "store.sqlite3")
    try:
        await store.commit_intakes([queued(100, time.time() - 10)])
        batch = await store.claim_due("DE-HOTLINE", time.time(), 100)
        outcomes = [Outcome(d, error=TransientDeliveryError("busy") if n % 2 else PermanentDeliveryError("bad"))
                    for n, d in enumerate(batch)]
        before = store.commit_batches
        assert await record(store, outcomes, DeliverySettings()) == (0, 100)
        assert store.commit_batches - before <= 5, f"{store.commit_batches - before} commits for one answer"
        states = [d.state for d in await store.deliveries("DE-HOTLINE")]
        assert states.count(DeliveryState.DEAD) == 50 and states.count(DeliveryState.QUEUED) == 50
    finally:
        await store.close()
