"""What the SQLite store keeps in memory between intake, claim and screen, and why it stays exact: rows its own
intake queued go to their first claim from memory (within a bound), and a claim answers the screen that follows it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hotline_gateway.store.interface import CaseConflict
from hotline_gateway.store.sqlite import SqliteStore
from tests.store.builders import case_doc, intake


async def test_rows_past_the_memory_bound_are_read_from_disk_and_every_row_is_claimed_once(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "store.sqlite3")
    try:
        store.fresh_max = 2
        jobs = [intake(partners=("DE-HOTLINE",)) for _ in range(5)]
        for job in jobs:
            await store.commit_intakes([job])
        assert list(store._fresh) == [j.deliveries[0].message_id for j in jobs[-2:]]  # the newest kept
        claimed = await store.claim_due("DE-HOTLINE", time.time(), 10)
        assert [d.message_id for d in claimed] == [j.deliveries[0].message_id for j in jobs]
        assert all(d.attempts == 1 and d.payload == j.deliveries[0].payload for d, j in zip(claimed, jobs, strict=True))
        assert not store._fresh
        assert all(j.deliveries[0].attempts == 0 for j in jobs)  # the intake's own objects are left as queued
    finally:
        await store.close()


async def test_a_failed_intake_leaves_nothing_in_memory_to_claim(tmp_path: Path) -> None:
    """Rows of an intake whose transaction rolled back were never on disk, so no lane may get them."""
    store = await SqliteStore.open(tmp_path / "store.sqlite3")
    try:
        job = intake(partners=("DE-HOTLINE",))
        await store.commit_intakes([job])
        clash = intake(case_doc(job.cases[0].case_id, items=3))  # the same case, another document
        with pytest.raises(CaseConflict):
            await store.commit_intakes([intake(), clash])
        # neither the conflicting intake's row nor its batch-mate's (the batch rolled back together)
        assert list(store._fresh) == [job.deliveries[0].message_id]
        claimed = await store.claim_due("DE-HOTLINE", time.time(), 10)
        assert [d.message_id for d in claimed] == [job.deliveries[0].message_id]
    finally:
        await store.close()


async def test_a_row_a_lane_took_from_disk_before_the_intake_returned_is_not_kept(tmp_path: Path) -> None:
    """The writer's commit is visible to a claim before the intake's await resumes: a row claimed in
    that gap (or already delivered) must not linger in memory as if still waiting."""
    store = await SqliteStore.open(tmp_path / "store.sqlite3")
    try:
        jobs = [intake(partners=("DE-HOTLINE",)) for _ in range(2)]
        await store.commit_intakes(jobs)
        store._fresh.clear()  # as if the claim below ran before commit_intakes remembered them
        _, done = await store.claim_due("DE-HOTLINE", time.time(), 10)
        await store.release([done])
        store._remember_fresh([j.deliveries[0] for j in jobs])
        assert not store._fresh
    finally:
        await store.close()
