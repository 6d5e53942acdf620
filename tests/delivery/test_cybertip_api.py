"""The ``cybertip-api`` transport against the simulated reporting API, failure modes included."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import orjson
import pytest
import tomli_w
from aiohttp import web

from hotline_gateway import config as config_mod
from hotline_gateway.adapters import registry
from hotline_gateway.core.errors import PermanentDeliveryError, TransientDeliveryError
from hotline_gateway.core.model import Category
from hotline_gateway.pipeline.sign import payload_digest
from hotline_gateway.sim.cybertip import CybertipSim
from hotline_gateway.sim.samples import generate_cases
from hotline_gateway.store.interface import Store
from hotline_gateway.store.records import Delivery
from hotline_gateway.store.sqlite import SqliteStore
from hotline_gateway.transports.cybertip_api import CybertipApiTransport
from tests.support.transports import context


@dataclass
class Rig:
    sim: CybertipSim
    transport: CybertipApiTransport
    partner: config_mod.Partner
    state: Store

    def delivery(self) -> Delivery:
        case = next(c for c in generate_cases(200, seed=91) if c.category is Category.CSAM and len(c.items) >= 2)
        body = registry.get("cybertip").encode(case)
        now = time.time()
        return Delivery(message_id=str(uuid.uuid4()), case_id=str(case.case_id), partner="US-NCMEC",
                        format="cybertip", transport="cybertip-api", message_type="case.notify", payload=body,
                        payload_sha256=payload_digest(body), signature="", created_at=now, next_attempt_at=now,
                        deadline_at=now + 60)

    async def attempt(self, d: Delivery) -> tuple[str | None, Exception | None]:
        [outcome] = await self.transport.send(self.partner, [d])
        return outcome.receipt, outcome.error


async def _rig(tmp_path: Path, password: str = "s3cret") -> AsyncIterator[Rig]:
    sim = CybertipSim("fr-pdc", "s3cret")
    runner = web.AppRunner(sim.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    doc = {"gateway": {"id": "FR-PDC", "country": "FR", "keys_dir": str(tmp_path / "keys"),
                       "data_dir": str(tmp_path / "data")},
           "delivery": {"timeout_s": 0.5},
           "partners": [{"id": "US-NCMEC", "kind": "law_enforcement", "country": "US", "transport": "cybertip-api",
                         "format": "cybertip", "endpoint": f"http://127.0.0.1:{port}",
                         "options": {"username": "fr-pdc", "password": password,
                                     "allow_insecure_http": True}}]}
    (tmp_path / "config.toml").write_text(tomli_w.dumps(doc), encoding="utf-8")
    config = config_mod.load(tmp_path / "config.toml")
    store = await SqliteStore.open(tmp_path / "store.sqlite")
    async with aiohttp.ClientSession() as session:
        state = store
        yield Rig(sim, CybertipApiTransport(context(config, session, store=state)), config.partner("US-NCMEC"), state)
    await store.close()
    await runner.cleanup()


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async for r in _rig(tmp_path):
        yield r


async def test_submit_fileinfo_per_item_then_finish_files_one_report(rig: Rig) -> None:
    d = rig.delivery()
    receipt, error = await rig.attempt(d)
    assert error is None and receipt is not None
    [filed] = rig.sim.finished
    assert orjson.loads(receipt)["report_id"] == filed.report_id
    assert len(filed.files) == len(registry.get("cybertip").decode(d.payload)[0].items)
    assert rig.sim.calls == ["submit"] + ["fileinfo"] * len(filed.files) + ["finish"]
    assert await rig.state.transport_state(d.message_id) is None


async def test_a_401_with_empty_body_is_a_configuration_dead_letter(tmp_path: Path) -> None:
    async for rig in _rig(tmp_path, password="wrong"):
        _, error = await rig.attempt(rig.delivery())
        assert isinstance(error, PermanentDeliveryError) and error.code == "partner_configuration"
        assert "401" in error.message


async def test_4100_on_fileinfo_retracts_the_report_and_dead_letters_with_the_message(rig: Rig) -> None:
    rig.sim.fail_next("fileinfo", 4100)
    _, error = await rig.attempt(rig.delivery())
    assert isinstance(error, PermanentDeliveryError) and "4100 Validation failed" in error.message
    [report] = rig.sim.reports.values()
    assert report.retracted and not report.finished
    assert rig.sim.calls[-1] == "retract"


@pytest.mark.parametrize("code", [2000, 3000])
async def test_authentication_and_authorisation_codes_are_configuration_dead_letters(rig: Rig, code: int) -> None:
    rig.sim.fail_next("submit", code)
    _, error = await rig.attempt(rig.delivery())
    assert isinstance(error, PermanentDeliveryError) and error.code == "partner_configuration"


async def test_a_1xxx_answer_is_retried_later_and_files_only_one_report(rig: Rig) -> None:
    d = rig.delivery()
    rig.sim.fail_next("finish", 1000)
    _, error = await rig.attempt(d)
    assert isinstance(error, TransientDeliveryError)
    receipt, error = await rig.attempt(d)
    assert error is None and receipt is not None
    assert len(rig.sim.reports) == 1 and len(rig.sim.finished) == 1
    assert rig.sim.calls.count("submit") == 1


async def test_a_finish_that_times_out_is_never_repeated_blindly_5102_closes_it(rig: Rig) -> None:
    d = rig.delivery()
    rig.sim.stall_next("finish", 1.5)  # the report is finished, the answer comes too late
    _, error = await rig.attempt(d)
    assert isinstance(error, TransientDeliveryError) and "no answer" in error.message
    state = await rig.state.transport_state(d.message_id)
    assert state is not None and state["finishing"] is True
    receipt, error = await rig.attempt(d)
    assert error is None and receipt is not None and orjson.loads(receipt)["already_finished"] is True
    assert rig.sim.calls.count("submit") == 1 and len(rig.sim.finished) == 1
    assert rig.sim.calls[-1] == "finish"


async def test_5102_on_finish_means_already_done(rig: Rig) -> None:
    rig.sim.fail_next("finish", 5102)
    receipt, error = await rig.attempt(rig.delivery())
    assert error is None and receipt is not None
