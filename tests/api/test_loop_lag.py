"""Event-loop lag is exported: a gateway whose loop is blocked shows it in ``hotline_loop_lag_seconds``."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from hotline_gateway import config as config_mod
from hotline_gateway.service import RunningGateway


async def lag_buckets(session: aiohttp.ClientSession, gw: RunningGateway) -> dict[str, float]:
    async with session.get(f"{gw.url}/metrics") as r:
        text = await r.text()
    [family] = [f for f in text_string_to_metric_families(text) if f.name == "hotline_loop_lag_seconds"]
    return {s.labels["le"]: s.value for s in family.samples if s.name.endswith("_bucket")}


async def test_a_blocked_event_loop_is_recorded_as_lag(fed_paths: dict[str, Path]) -> None:
    gw = await RunningGateway(config_mod.load(fed_paths["DE-HOTLINE"])).start()
    try:
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 10
            while (before := await lag_buckets(session, gw))["+Inf"] < 3:  # a few idle samples first
                assert time.monotonic() < deadline, "the monitor records nothing"
                await asyncio.sleep(0.02)
            late_before = before["+Inf"] - before["0.2"]
            time.sleep(0.25)  # the point: hold the loop as a long GC pause or CPU work on it would
            while (after := await lag_buckets(session, gw))["+Inf"] - after["0.2"] <= late_before:
                assert time.monotonic() < deadline, "the blocked loop was not recorded"
                await asyncio.sleep(0.02)
    finally:
        await gw.stop()
