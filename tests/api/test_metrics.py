"""``/metrics`` after a known exchange shows exactly what happened; ``/healthz``, and ``/readyz`` naming
each of its three checks (store writable, keys valid, worker running) that fails."""

from __future__ import annotations

import asyncio
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import orjson
import tomli_w
from prometheus_client.parser import text_string_to_metric_families

from hotline_gateway import config as config_mod
from hotline_gateway.api.state import WORKER
from hotline_gateway.app import STORE
from hotline_gateway.crypto.keydir import KeyDirectory
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import wait_settled
from hotline_gateway.store.sqlite import SqliteStore
from tests.engine.federation import cases_hosted_in, message, signed_post, signing_key, submit

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def scrape(session: aiohttp.ClientSession, gw: RunningGateway) -> Samples:
    async with session.get(f"{gw.url}/metrics") as r:
        assert r.status == 200
        return samples(await r.text())


async def test_metrics_count_a_known_exchange_exactly(
    federation: dict[str, RunningGateway], fed_paths: dict[str, Path]
) -> None:
    """Three cases FR -> DE (then the same three again), one unsigned request and one schema violation
    at DE: each gateway's counters say exactly that, and nothing else was refused."""
    fr, de = federation["FR-PDC"], federation["DE-HOTLINE"]
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, cases_hosted_in("DE", 3))
        await submit(session, fr, cases_hosted_in("DE", 3))  # the same three again: duplicates
        await wait_settled(fr, 30)
        url = f"{de.url}/v1/messages"
        status, _, _ = await signed_post(session, url, b'{"messages": []}', signing_key(fed_paths["FR-PDC"].parent),
                                         sign=False)
        assert status == 401
        bad = message(cases_hosted_in("FR", 1)[0], signing_key(fed_paths["FR-PDC"].parent), sender="FR-PDC",
                      recipient="DE-HOTLINE")
        bad["type"] = "case.explode"
        status, _, _ = await signed_post(session, url, orjson.dumps({"messages": [bad]}),
                                         signing_key(fed_paths["FR-PDC"].parent))
        assert status == 422
        async with session.get(f"{fr.url}/metrics") as r:
            fr_metrics = samples(await r.text())
        async with session.get(f"{de.url}/metrics") as r:
            assert r.headers["Content-Type"].startswith("text/plain")
            de_metrics = samples(await r.text())
    assert fr_metrics[("hotline_messages_in_total", (("format", "native"), ("outcome", "accepted"),
                                                     ("partner", "local")))] == 3
    assert fr_metrics[("hotline_messages_in_total", (("format", "native"), ("outcome", "duplicate"),
                                                     ("partner", "local")))] == 3
    assert fr_metrics[("hotline_messages_out_total", (("format", "native"), ("outcome", "delivered"),
                                                      ("partner", "DE-HOTLINE")))] == 3
    assert fr_metrics[("hotline_delivery_latency_seconds_count", (("partner", "DE-HOTLINE"),))] == 3
    assert fr_metrics[("hotline_queue_depth", (("partner", "DE-HOTLINE"),))] == 0
    assert fr_metrics[("hotline_dead_letters", (("partner", "DE-HOTLINE"),))] == 0
    assert de_metrics[("hotline_messages_in_total", (("format", "native"), ("outcome", "accepted"),
                                                     ("partner", "FR-PDC")))] == 3
    refused = {labels: v for (name, labels), v in de_metrics.items() if name == "hotline_rejections_total"}
    assert refused == {(("code", "missing_signature"),): 1, (("code", "schema_violation"),): 1}
    assert not [k for k in fr_metrics if k[0] == "hotline_rejections_total"]


async def test_queue_depth_oldest_age_and_dead_letters_are_read_from_the_store(tmp_path: Path) -> None:
    """FR-PDC alone (DE unreachable, 1 s deadline): its two deliveries become dead letters on the gauge;
    requeued, they are back in the queue with their age, and a partner never sent to shows zeros."""
    from hotline_gateway.sim.demo import write_federation

    path = write_federation(tmp_path)["FR-PDC"]
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    doc["delivery"]["deadline_s"] = 1.0
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    fr = await RunningGateway(config_mod.load(path)).start()
    de = (("partner", "DE-HOTLINE"),)
    try:
        async with aiohttp.ClientSession() as session:
            before_submit = time.time()
            await submit(session, fr, cases_hosted_in("DE", 2))
            submitted = time.time()
            for _ in range(100):
                m = await scrape(session, fr)
                if m[("hotline_dead_letters", de)] == 2:
                    break
                await asyncio.sleep(0.1)
            assert m[("hotline_dead_letters", de)] == 2 and m[("hotline_queue_depth", de)] == 0
            assert m[("hotline_messages_out_total", (("format", "native"), ("outcome", "dead"), *de))] == 2
            assert m[("hotline_queue_depth", (("partner", "FR-POLICE"),))] == 0
            assert m[("hotline_queue_oldest_seconds", (("partner", "FR-POLICE"),))] == 0
            assert await fr.app[STORE].requeue_dead("DE-HOTLINE", deadline_s=3600) == 2
            for _ in range(100):
                before_scrape = time.time()
                m = await scrape(session, fr)
                after_scrape = time.time()
                if m[("hotline_queue_depth", de)] == 2:
                    break
                await asyncio.sleep(0.05)
            assert m[("hotline_dead_letters", de)] == 0 and m[("hotline_queue_depth", de)] == 2
            # the age of the oldest waiting delivery counts from its first queueing, not from the requeue
            assert before_scrape - submitted <= m[("hotline_queue_oldest_seconds", de)] <= after_scrape - before_submit
    finally:
        await fr.stop()


async def test_health_and_readiness(federation: dict[str, RunningGateway]) -> None:
    """A running gateway is alive and ready, all three checks passing."""
    fr = federation["FR-PDC"]
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{fr.url}/healthz") as r:
            assert r.status == 200
        async with session.get(f"{fr.url}/readyz") as r:
            body = await r.json()
            assert r.status == 200 and body["checks"] == {"store": "ok", "keys": "ok", "worker": "ok"}


async def test_readiness_fails_naming_each_check_that_fails(tmp_path: Path) -> None:
    """A store that refuses writes (reads still work), a signing key whose window has ended and a
    stopped worker each make ``/readyz`` answer 503 problem+json naming it, while ``/healthz`` stays 200."""
    from hotline_gateway.sim.demo import write_federation

    config = config_mod.load(write_federation(tmp_path)["FR-PDC"])
    fr = await RunningGateway(config).start()
    store = fr.app[STORE]
    try:
        assert isinstance(store, SqliteStore)  # white box: the writer's own connection, as a read-only remount
        await store._write(lambda w: w.conn.execute("PRAGMA query_only = ON"))
        keys = KeyDirectory.load(config.keys_dir)
        for entry in keys.entries():
            keys.cut_not_after(entry.kid, datetime.now(UTC))
        keys.save()
        await fr.app[WORKER].stop(1)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{fr.url}/readyz") as r:
                body = await r.json()
                assert r.status == 503 and r.content_type == "application/problem+json"
            async with session.get(f"{fr.url}/healthz") as h:
                assert h.status == 200
        assert body["code"] == "not_ready"
        assert "readonly" in body["checks"]["store"] and "no key valid" in body["checks"]["keys"]
        assert body["checks"]["worker"] == "not running"
        assert all(f"{check}: " in body["detail"] for check in ("store", "keys", "worker"))
    finally:
        await fr.stop()  # the worker is stopped, so nothing needs the store to write on the way down
