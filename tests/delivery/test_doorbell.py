"""The delivery lanes' doorbell: a ring wakes one idle lane, not all of them; a ring while no lane waits is
kept for the next one; shutdown wakes every lane."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from hotline_gateway.pipeline.doorbell import Doorbell


async def waiting_lanes(bell: Doorbell, count: int) -> tuple[list[asyncio.Task[None]], list[int]]:
    woken: list[int] = []

    async def lane(n: int) -> None:
        await bell.wait(30)
        woken.append(n)

    tasks = [asyncio.create_task(lane(n)) for n in range(count)]
    await asyncio.sleep(0)  # every lane is now waiting
    return tasks, woken


async def until(condition: Callable[[], object], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.001)


async def test_a_ring_wakes_one_waiting_lane_and_the_others_sleep_on() -> None:
    bell = Doorbell()
    tasks, woken = await waiting_lanes(bell, 4)
    bell.ring()
    await until(lambda: woken)
    await asyncio.sleep(0.05)
    assert len(woken) == 1
    bell.ring()
    bell.ring()
    await until(lambda: len(woken) == 3)
    await asyncio.sleep(0.05)
    assert len(woken) == 3
    bell.ring_all()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert sorted(woken) == [0, 1, 2, 3]


async def test_a_ring_while_no_lane_waits_is_kept_for_the_next_lane_to_wait() -> None:
    bell = Doorbell()
    assert not bell.rung
    bell.ring()
    assert bell.rung, "a lane going idle sees the kept ring (and claims instead of asking when work is due)"
    started = time.monotonic()
    await bell.wait(30)
    assert time.monotonic() - started < 5
    assert not bell.rung
    # taken once: the next wait sleeps until its timeout
    started = time.monotonic()
    await bell.wait(0.05)
    assert time.monotonic() - started >= 0.04


async def test_a_lane_about_to_claim_clears_a_pending_ring() -> None:
    """The lane will see the work that rang in its claim; no second lane needs to wake for it."""
    bell = Doorbell()
    bell.ring()
    bell.clear()
    started = time.monotonic()
    await bell.wait(0.05)
    assert time.monotonic() - started >= 0.04


async def test_a_lane_whose_wait_timed_out_does_not_swallow_a_later_ring() -> None:
    bell = Doorbell()
    await bell.wait(0.01)  # timed out: it must not stay registered as a waiter
    tasks, woken = await waiting_lanes(bell, 1)
    bell.ring()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert woken == [0]
