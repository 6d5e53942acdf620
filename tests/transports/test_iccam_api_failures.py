"""``iccam-api`` failure modes beyond the happy path (tests/delivery covers that): injected 5xx and
timeouts, concurrent token expiry, unreadable payloads, a missing password file, hostile work queues."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from hotline_gateway import config as config_mod
from hotline_gateway.core.errors import DecodeError, PermanentDeliveryError, TransientDeliveryError
from hotline_gateway.store.records import Delivery
from hotline_gateway.transports.base import Outcome
from hotline_gateway.transports.iccam_api import IccamApiTransport
from tests.support.transports import context
from tests.support.waiting import eventually
from tests.transports.conftest import IccamNet, make_delivery, partner_config

PARTNER = "INHOPE-ICCAM"


def config_for(tmp_path: Path, net: IccamNet, *, timeout_s: float = 5.0, **options: Any) -> config_mod.Config:
    merged = {k: v for k, v in {**net.options, **options}.items() if v is not None}
    return partner_config(tmp_path, {"id": PARTNER, "kind": "network", "transport": "iccam-api", "format": "iccam",
                                     "endpoint": net.endpoint, "options": merged}, timeout_s=timeout_s)


def report(urls: int = 2) -> dict[str, Any]:
    """A small ICCAM-style report: assessed URLs on .example.org hosts, one action each, random hashes."""
    return {
        "hotlineReference": str(uuid.uuid4()), "hotlineReceivedDate": "2025-03-01T10:15:00Z",
        "reportingAnalystName": "analyst-7", "memo": f"sha256 {secrets.token_hex(32)}",
        "urls": [{"urlString": f"https://files{n}.example.org/i/{secrets.token_hex(6)}.jpg",
                  "hotlineReference": str(uuid.uuid4()), "isSourceUrl": n == 0, "contentType": 1,
                  "hostingCountryCode": "NL", "hostingIpAddress": "192.0.2.10",
                  "assessment": {"classification": 1, "ageCategorization": 3, "genderCategorization": 2},
                  "actions": [{"actionType": 2, "actioningAnalystName": "analyst-7",
                               "actionDate": "2025-03-01T11:00:00Z"}]}
                 for n in range(urls)],
    }


def delivery(doc: dict[str, Any] | None = None, body: bytes | None = None) -> Delivery:
    return make_delivery(body if body is not None else orjson.dumps(doc or report()), partner=PARTNER,
                         fmt="iccam", transport="iccam-api")


async def send_one(transport: IccamApiTransport, config: config_mod.Config, d: Delivery) -> Outcome:
    [outcome] = await transport.send(config.partner(PARTNER), [d])
    return outcome


async def test_an_expiry_seen_by_several_lanes_at_once_costs_one_refresh(tmp_path: Path, iccam_net: IccamNet) -> None:
    """Lanes share one session per partner; renewal is single-flight, so parallel 401s do not stampede."""
    config = config_for(tmp_path, iccam_net)
    async with aiohttp.ClientSession() as session:
        transport = IccamApiTransport(context(config, session))
        assert (await send_one(transport, config, delivery())).error is None
        iccam_net.sim.expire_tokens()
        outcomes = await asyncio.gather(*(send_one(transport, config, delivery()) for _ in range(4)))
    assert [o.error for o in outcomes] == [None] * 4
    assert (iccam_net.sim.logins, iccam_net.sim.refreshes) == (1, 1)


async def test_a_5xx_on_an_assessment_is_retried_on_the_same_report(tmp_path: Path, iccam_net: IccamNet) -> None:
    """A failed update is transient; the retry finds the report by its reference instead of creating another."""
    config = config_for(tmp_path, iccam_net)
    d = delivery()
    iccam_net.sim.fail_next("assessment", 503)
    async with aiohttp.ClientSession() as session:
        transport = IccamApiTransport(context(config, session))
        first = await send_one(transport, config, d)
        assert isinstance(first.error, TransientDeliveryError) and "503" in first.error.message
        again = await send_one(transport, config, d)
    assert again.error is None and again.receipt is not None
    assert len(iccam_net.sim.reports) == 1
    refs = [u["hotlineReference"] for u in orjson.loads(d.payload)["urls"]]
    posted = [ref for _, ref, kind, _ in iccam_net.sim.updates if kind == "assessment"]
    assert posted[-len(refs):] == refs


async def test_a_create_that_times_out_makes_the_batch_wait_and_the_retry_finds_the_report(
    tmp_path: Path, iccam_net: IccamNet
) -> None:
    """No answer at all is the whole batch's problem (breaker); the report was created, so no duplicate follows."""
    config = config_for(tmp_path, iccam_net, timeout_s=0.3)
    d = delivery()
    iccam_net.sim.stall_next("create", 1.0)
    async with aiohttp.ClientSession() as session:
        transport = IccamApiTransport(context(config, session))
        with pytest.raises(TransientDeliveryError, match="unreachable"):
            await send_one(transport, config, d)
        # the stalled handler finishes, as the real API would: the report exists before the retry
        await eventually(lambda: len(iccam_net.sim.reports) == 1, timeout=10, what="the stalled create")
        again = await send_one(transport, config, d)
    assert again.error is None and again.receipt is not None
    assert len(iccam_net.sim.reports) == 1
    assert orjson.loads(again.receipt)["report_id"] == next(iter(iccam_net.sim.reports))


@pytest.mark.parametrize("body", [b"not json", b"[]", orjson.dumps({"hotlineReference": "x", "urls": [{}]})])
async def test_a_payload_that_is_not_an_assessed_report_is_a_dead_letter_not_a_crash(
    tmp_path: Path, iccam_net: IccamNet, body: bytes
) -> None:
    """An exception escaping send would leave the delivery claimed in flight; it must become an outcome."""
    config = config_for(tmp_path, iccam_net)
    async with aiohttp.ClientSession() as session:
        outcome = await send_one(IccamApiTransport(context(config, session)), config, delivery(body=body))
    assert isinstance(outcome.error, PermanentDeliveryError) and outcome.error.code == "cannot_encode"
    assert iccam_net.sim.reports == {} and iccam_net.sim.logins == 0


async def test_a_missing_password_file_is_a_configuration_dead_letter(tmp_path: Path, iccam_net: IccamNet) -> None:
    config = config_for(tmp_path, iccam_net, password=None, password_file="secrets/iccam-password")
    async with aiohttp.ClientSession() as session:
        outcome = await send_one(IccamApiTransport(context(config, session)), config, delivery())
    assert isinstance(outcome.error, PermanentDeliveryError) and outcome.error.code == "partner_configuration"
    assert "password_file" in outcome.error.message


async def test_the_password_may_live_in_a_file_beside_the_config(tmp_path: Path, iccam_net: IccamNet) -> None:
    (tmp_path / "iccam-password").write_text("s3cret\n", encoding="utf-8")
    config = config_for(tmp_path, iccam_net, password=None, password_file="iccam-password")
    async with aiohttp.ClientSession() as session:
        outcome = await send_one(IccamApiTransport(context(config, session)), config, delivery())
    assert outcome.error is None and iccam_net.sim.logins == 1


async def test_polling_hands_each_report_over_then_acknowledges_it_and_skips_unreadable_ones(
    tmp_path: Path, iccam_net: IccamNet
) -> None:
    """What ``accept`` refuses (the gateway's poller decodes and validates there) stays queued; the rest is acked."""
    config = config_for(tmp_path, iccam_net)
    forwarded = [report(1), report(3)]
    for doc in forwarded:
        iccam_net.sim.assign("FR", doc)
    iccam_net.sim.assign("FR", {"urls": []})  # no reference: cannot be acknowledged either
    odd = {"hotlineReference": "ref-odd", "urls": "not a list"}
    iccam_net.sim.assign("FR", odd)
    taken_refs: list[str] = []

    async def accept(data: bytes) -> None:
        doc = orjson.loads(data)
        if not isinstance(doc["urls"], list):
            raise DecodeError("urls must be a list", path="$.urls", fmt="iccam")
        taken_refs.append(doc["hotlineReference"])

    async with aiohttp.ClientSession() as session:
        taken = await IccamApiTransport(context(config, session)).poll(config.partner(PARTNER), "FR", accept)
    assert taken == 2
    assert taken_refs == [d["hotlineReference"] for d in forwarded]
    assert iccam_net.sim.queues["FR"] == [{"urls": []}, odd]


async def test_a_reference_is_one_path_segment_when_acknowledged(tmp_path: Path, iccam_net: IccamNet) -> None:
    """A partner's reference with '#', '/' or '..' must acknowledge that report, not another resource."""
    config = config_for(tmp_path, iccam_net)
    iccam_net.sim.assign("FR", {"hotlineReference": "a#b/../c", "urls": []})
    seen: list[bytes] = []

    async def accept(data: bytes) -> None:
        seen.append(data)

    async with aiohttp.ClientSession() as session:
        taken = await IccamApiTransport(context(config, session)).poll(config.partner(PARTNER), "FR", accept)
    assert taken == 1 and len(seen) == 1
    assert iccam_net.sim.queues["FR"] == []


async def test_a_work_queue_that_answers_5xx_is_transient(tmp_path: Path, iccam_net: IccamNet) -> None:
    config = config_for(tmp_path, iccam_net)
    iccam_net.sim.fail_next("queue", 502)

    async def accept(data: bytes) -> None:
        raise AssertionError("nothing to accept")

    async with aiohttp.ClientSession() as session:
        with pytest.raises(TransientDeliveryError, match="502"):
            await IccamApiTransport(context(config, session)).poll(config.partner(PARTNER), "FR", accept)


async def test_what_was_delivered_before_the_network_went_away_is_kept(tmp_path: Path, iccam_net: IccamNet) -> None:
    """A timeout mid-batch fails only the rest: the delivered ones are not sent (and their actions posted) again."""
    config = config_for(tmp_path, iccam_net, timeout_s=0.3)
    batch = [delivery() for _ in range(3)]
    iccam_net.sim.stall_next("create", 0.0)  # the first create answers at once
    iccam_net.sim.stall_next("create", 0.6)  # the second answers too late
    async with aiohttp.ClientSession() as session:
        outcomes = await IccamApiTransport(context(config, session)).send(config.partner(PARTNER), batch)
    assert outcomes[0].error is None and outcomes[0].receipt is not None
    assert [o.delivery for o in outcomes] == batch
    assert all(isinstance(o.error, TransientDeliveryError) and "unreachable" in o.error.message for o in outcomes[1:])
