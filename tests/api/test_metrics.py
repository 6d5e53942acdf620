"""``/metrics`` after a known exchange shows exactly what happened; ``/healthz`` and ``/readyz``."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import orjson
from prometheus_client.parser import text_string_to_metric_families

from gateway.demo import wait_settled
from gateway.service import RunningGateway
from tests.engine.federation import cases_hosted_in, message, signed_post, signing_key, submit


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_metrics_count_a_known_exchange_exactly(
    federation: dict[str, RunningGateway], fed_paths: dict[str, Path]
) -> None:
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
    assert de_metrics[("hotline_rejections_total", (("code", "missing_signature"),))] == 1
    assert de_metrics[("hotline_rejections_total", (("code", "schema_violation"),))] == 1


async def test_health_and_readiness(federation: dict[str, RunningGateway]) -> None:
    fr = federation["FR-PDC"]
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{fr.url}/healthz") as r:
            assert r.status == 200
        async with session.get(f"{fr.url}/readyz") as r:
            body = await r.json()
            assert r.status == 200 and body["checks"] == {"store": "ok", "keys": "ok", "worker": "ok"}
