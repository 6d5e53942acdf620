"""Keeping enough in flight (issue 11 item 1): the window of batches to a partner grows while it keeps
up, shrinks while its batches go out part-filled and halves when it says it cannot; batches are cut to
fit the partner's body limit."""

from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path

import aiohttp
import tomli_w
from aiohttp import web

from hotline_gateway import config as config_mod
from hotline_gateway.api.state import SERVICES, WORKER
from hotline_gateway.pipeline.flow import Flow
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import wait_settled, write_federation
from hotline_gateway.store.records import DeliveryState
from tests.engine.federation import cases_hosted_in, submit


def test_the_window_grows_with_fast_full_answers_and_halves_on_congestion() -> None:
    flow = Flow(window=4.0, ceiling=16)
    for _ in range(40):
        flow.answered(0.1, full=True)
    assert flow.limit > 4
    grown = flow.window
    flow.answered(5.0, full=True)  # far slower than the best round trip: no growth
    assert flow.window == grown
    flow.congested()
    assert flow.window == grown / 2
    for _ in range(10):
        flow.congested()
    assert flow.limit == 1
    for _ in range(10_000):
        flow.answered(0.1, full=True)
    assert flow.limit == 16


def test_part_filled_batches_shrink_the_window_to_one_and_full_ones_bring_it_back() -> None:
    """Nothing is waiting: fewer batches in flight let the next one carry what arrives meanwhile; when
    work piles up again, each full answer adds a whole batch until the configured start, then a step."""
    flow = Flow(window=4.0, start=4.0, ceiling=16)
    for _ in range(100):
        flow.answered(0.1, full=False)
    assert flow.limit == 1
    for expected in (2, 3, 4):
        flow.answered(0.1, full=True)
        assert flow.limit == expected
    flow.answered(0.1, full=True)
    assert 4 < flow.window < 5, "past the start the window grows by the additive step"
    flow.answered(0.1, full=False)
    assert flow.window < 4.3


async def test_batches_fit_the_partners_body_limit_and_everything_arrives(tmp_path: Path) -> None:
    """DE takes at most 48 KiB per request and FR knows it: 120 cases arrive, no request was refused
    as too large, none was over the limit."""
    paths = write_federation(tmp_path)
    limit = 48 * 1024
    de_doc = tomllib.loads(paths["DE-HOTLINE"].read_text())
    de_doc["gateway"]["max_body_bytes"] = limit
    paths["DE-HOTLINE"].write_text(tomli_w.dumps(de_doc))
    fr_doc = tomllib.loads(paths["FR-PDC"].read_text())
    for p in fr_doc["partners"]:
        if p["id"] == "DE-HOTLINE":
            p["options"]["max_body_bytes"] = limit
    paths["FR-PDC"].write_text(tomli_w.dumps(fr_doc))
    de = await RunningGateway(config_mod.load(paths["DE-HOTLINE"])).start()
    fr = await RunningGateway(config_mod.load(paths["FR-PDC"])).start()
    try:
        async with aiohttp.ClientSession() as s:
            await submit(s, fr, cases_hosted_in("DE", 120))
        await wait_settled(fr, 60)
        deliveries = await fr.app[SERVICES].store.deliveries("DE-HOTLINE")
        assert len(deliveries) == 120 and all(d.state is DeliveryState.DELIVERED for d in deliveries)
        assert all(d.attempts == 1 for d in deliveries), "a batch was refused and retried"
        metrics = fr.app[SERVICES].metrics.registry
        assert metrics.get_sample_value("hotline_rejections_total", {"code": "payload_too_large"}) is None
        assert await de.app[SERVICES].store.count("inbound") == 120
    finally:
        await fr.stop()
        await de.stop()


async def test_a_partner_that_answers_429_gets_fewer_batches_and_everything_arrives(tmp_path: Path) -> None:
    """A proxy in front of DE answers 429 while more than two requests are in flight: FR's window for DE
    shrinks, nothing is dead-lettered, every case arrives once."""
    paths = write_federation(tmp_path)
    in_flight = 0
    refused = 0
    upstream: list[str] = []

    async def gate(request: web.Request) -> web.StreamResponse:
        nonlocal in_flight, refused
        if in_flight >= 2:
            refused += 1
            return web.Response(status=429, text="slow down")
        in_flight += 1
        try:
            body = await request.read()
            headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
            async with aiohttp.ClientSession() as s, s.post(upstream[0], data=body, headers=headers) as r:
                data = await r.read()
                out = {k: v for k, v in r.headers.items()
                       if k.lower() not in ("content-length", "transfer-encoding", "date", "server")}
                return web.Response(status=r.status, body=data, headers=out)
        finally:
            in_flight -= 1

    app = web.Application(client_max_size=8 * 1024 * 1024)
    app.router.add_post("/v1/messages", gate)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    front = f"http://127.0.0.1:{site.port}"
    de_doc = tomllib.loads(paths["DE-HOTLINE"].read_text())
    de_doc["gateway"]["public_url"] = front
    paths["DE-HOTLINE"].write_text(tomli_w.dumps(de_doc))
    fr_doc = tomllib.loads(paths["FR-PDC"].read_text())
    fr_doc["delivery"].update(batch_size=10, concurrency=8, max_concurrency=8, base_delay_s=0.05, max_delay_s=0.2,
                              circuit_failures=1000)
    for p in fr_doc["partners"]:
        if p["id"] == "DE-HOTLINE":
            p["endpoint"] = f"{front}/v1/messages"
    paths["FR-PDC"].write_text(tomli_w.dumps(fr_doc))
    de = await RunningGateway(config_mod.load(paths["DE-HOTLINE"])).start()
    upstream.append(f"{de.url}/v1/messages")
    fr = await RunningGateway(config_mod.load(paths["FR-PDC"])).start()
    try:
        async with aiohttp.ClientSession() as s:
            await asyncio.gather(*(submit(s, fr, cases_hosted_in("DE", 20, seed=300 + n)) for n in range(10)))
        await wait_settled(fr, 120)
        deliveries = await fr.app[SERVICES].store.deliveries("DE-HOTLINE")
        assert len(deliveries) == 200 and all(d.state is DeliveryState.DELIVERED for d in deliveries)
        assert refused > 0, "the proxy never had to refuse: the test did not load it"
        assert fr.app[WORKER].flows["DE-HOTLINE"].window < 8, "the window did not shrink"
        assert await de.app[SERVICES].store.count("inbound") == 200
    finally:
        await fr.stop()
        await de.stop()
        await runner.cleanup()
