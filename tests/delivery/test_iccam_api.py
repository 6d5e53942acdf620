"""The ``iccam-api`` transport and work-queue poller against the simulated network API over mutual TLS."""

from __future__ import annotations

import asyncio
import time
import tomllib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import tomli_w
from aiohttp import web

from hotline_gateway import config as config_mod
from hotline_gateway.adapters import registry
from hotline_gateway.api.state import SERVICES
from hotline_gateway.core.errors import DeliveryError, PermanentDeliveryError
from hotline_gateway.pipeline.sign import payload_digest
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.iccam import IccamSim
from hotline_gateway.sim.samples import generate_cases
from hotline_gateway.sim.tls import TestCA
from hotline_gateway.store.records import Delivery
from hotline_gateway.transports.iccam_api import IccamApiTransport
from tests.support.transports import context


@dataclass
class Net:
    sim: IccamSim
    endpoint: str
    options: dict[str, Any]


@pytest.fixture
async def net(tmp_path: Path) -> AsyncIterator[Net]:
    ca = TestCA(tmp_path / "pki")
    server = ca.issue("iccam.test", server=True)
    client = ca.issue("FR-PDC", server=False)
    sim = IccamSim("fr-pdc", "s3cret")
    runner = web.AppRunner(sim.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ca.server_context(server))
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    options = {"username": "fr-pdc", "password": "s3cret", "ca_file": str(ca.cert),
               "client_cert": str(client.cert), "client_key": str(client.key)}
    yield Net(sim, f"https://127.0.0.1:{port}", options)
    await runner.cleanup()


def make_config(tmp_path: Path, net: Net, **options: Any) -> config_mod.Config:
    doc = {"gateway": {"id": "FR-PDC", "country": "FR", "keys_dir": str(tmp_path / "keys"),
                       "data_dir": str(tmp_path / "data")},
           "delivery": {"timeout_s": 5.0},
           "partners": [{"id": "INHOPE-ICCAM", "kind": "network", "transport": "iccam-api", "format": "iccam",
                         "endpoint": net.endpoint,
                         "options": {k: v for k, v in {**net.options, **options}.items() if v is not None}}]}
    (tmp_path / "config.toml").write_text(tomli_w.dumps(doc), encoding="utf-8")
    return config_mod.load(tmp_path / "config.toml")


def delivery() -> Delivery:
    case = next(c for c in generate_cases(100, seed=95) if len(c.items) >= 2 and any(i.actions for i in c.items))
    body = registry.get("iccam").encode(case)
    now = time.time()
    return Delivery(message_id=str(uuid.uuid4()), case_id=str(case.case_id), partner="INHOPE-ICCAM", format="iccam",
                    transport="iccam-api", message_type="case.notify", payload=body,
                    payload_sha256=payload_digest(body), signature="", created_at=now, next_attempt_at=now,
                    deadline_at=now + 60)


async def send(config: config_mod.Config, transport: IccamApiTransport, d: Delivery) -> Any:
    [outcome] = await transport.send(config.partner("INHOPE-ICCAM"), [d])
    return outcome


async def test_a_report_is_created_then_each_urls_assessment_and_actions_posted(tmp_path: Path, net: Net) -> None:
    config = make_config(tmp_path, net)
    d = delivery()
    async with aiohttp.ClientSession() as session:
        outcome = await send(config, IccamApiTransport(context(config, session)), d)
    assert outcome.error is None
    report_id = orjson.loads(outcome.receipt)["report_id"]
    urls = orjson.loads(d.payload)["urls"]
    assessments = [u for u in net.sim.updates if u[0] == report_id and u[2] == "assessment"]
    assert [a[1] for a in assessments] == [u["hotlineReference"] for u in urls]
    assert any(u[2] == "actions" for u in net.sim.updates) and net.sim.logins == 1


async def test_resending_the_same_report_does_not_create_a_second_one(tmp_path: Path, net: Net) -> None:
    config = make_config(tmp_path, net)
    d = delivery()
    async with aiohttp.ClientSession() as session:
        transport = IccamApiTransport(context(config, session))
        first, again = await send(config, transport, d), await send(config, transport, d)
    assert orjson.loads(first.receipt)["report_id"] == orjson.loads(again.receipt)["report_id"]
    assert len(net.sim.reports) == 1


async def test_an_expired_access_token_is_refreshed_and_an_expired_refresh_token_means_login(
    tmp_path: Path, net: Net
) -> None:
    config = make_config(tmp_path, net)
    async with aiohttp.ClientSession() as session:
        transport = IccamApiTransport(context(config, session))
        assert (await send(config, transport, delivery())).error is None
        net.sim.expire_tokens()
        assert (await send(config, transport, delivery())).error is None
        assert (net.sim.logins, net.sim.refreshes) == (1, 1)
        net.sim.expire_refresh()
        assert (await send(config, transport, delivery())).error is None
        assert (net.sim.logins, net.sim.refreshes) == (2, 1)


async def test_a_refused_login_401_with_empty_body_is_a_configuration_dead_letter(tmp_path: Path, net: Net) -> None:
    config = make_config(tmp_path, net, password="wrong")
    async with aiohttp.ClientSession() as session:
        outcome = await send(config, IccamApiTransport(context(config, session)), delivery())
    assert isinstance(outcome.error, PermanentDeliveryError) and outcome.error.code == "partner_configuration"


async def test_a_client_without_the_networks_certificate_gets_nothing_through(tmp_path: Path, net: Net) -> None:
    config = make_config(tmp_path, net, client_cert=None, client_key=None)
    async with aiohttp.ClientSession() as session:
        transport = IccamApiTransport(context(config, session))
        try:
            error = (await send(config, transport, delivery())).error
        except DeliveryError as exc:  # the handshake fails before any HTTP: the whole batch waits
            error = exc
    assert error is not None
    assert net.sim.reports == {} and net.sim.logins == 0


async def test_content_assigned_to_our_country_enters_the_gateway_as_inbound_cases(
    fed_paths: dict[str, Path], net: Net
) -> None:
    path = fed_paths["FR-PDC"]
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    doc["partners"].append({"id": "INHOPE-ICCAM", "kind": "network", "transport": "iccam-api", "format": "iccam",
                            "endpoint": net.endpoint, "options": {**net.options, "poll_interval_s": 0.1}})
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    forwarded = [orjson.loads(registry.get("iccam").encode(c)) for c in generate_cases(3, seed=96)]
    for report in forwarded:
        net.sim.assign("FR", report)
    gw = await RunningGateway(config_mod.load(path)).start()
    try:
        for _ in range(100):
            if not net.sim.queues["FR"]:
                break
            await asyncio.sleep(0.05)
        assert net.sim.queues["FR"] == []
        store = gw.app[SERVICES].store
        docs = await store.case_docs([r["hotlineReference"] for r in forwarded])
        assert sorted(docs) == sorted(r["hotlineReference"] for r in forwarded)
    finally:
        await gw.stop()
