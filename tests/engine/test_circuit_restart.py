"""What operators see after a restart is read from the store, not assumed (issue 12 item 6): a
partner's circuit opened by an outage stays open across FR's restart until a probe succeeds, then
``status`` shows it closed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from hotline_gateway import config as config_mod
from hotline_gateway.api.state import SERVICES
from hotline_gateway.cli.main import main
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import wait_settled
from tests.engine.federation import cases_hosted_in, submit
from tests.support.waiting import eventually


async def status(capsys: pytest.CaptureFixture[str], config: Path) -> dict[str, Any]:
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["status", "--config", str(config), "--json"]) == 0
    doc: dict[str, Any] = orjson.loads(capsys.readouterr().out)
    return {p["partner"]: p for p in doc["partners"]}


async def test_a_circuit_opened_by_an_outage_is_closed_in_status_after_restart_and_recovery(
    fed_paths: dict[str, Path], capsys: pytest.CaptureFixture[str],
) -> None:
    fr_config = config_mod.load(fed_paths["FR-PDC"])
    fr = await RunningGateway(fr_config).start()
    try:
        async with aiohttp.ClientSession() as s:
            await submit(s, fr, cases_hosted_in("DE", 3))

        async def opened() -> bool:
            return (await fr.app[SERVICES].store.circuits()).get("DE-HOTLINE", ("closed", 0))[0] == "open"

        await eventually(opened, timeout=30, what="DE's circuit to open while DE is down")
    finally:
        await fr.stop()
    assert (await status(capsys, fed_paths["FR-PDC"]))["DE-HOTLINE"]["circuit"] == "open"
    de = await RunningGateway(config_mod.load(fed_paths["DE-HOTLINE"])).start()
    fr = await RunningGateway(config_mod.load(fed_paths["FR-PDC"])).start()
    try:
        assert fr.app[SERVICES].store is not None
        await wait_settled(fr, 60)

        async def closed() -> bool:
            return (await fr.app[SERVICES].store.circuits())["DE-HOTLINE"][0] == "closed"

        await eventually(closed, timeout=30, what="DE's circuit to close once a probe succeeds")
        assert (await status(capsys, fed_paths["FR-PDC"]))["DE-HOTLINE"]["circuit"] == "closed"
        assert all(d.state.value == "delivered" for d in await fr.app[SERVICES].store.deliveries("DE-HOTLINE"))
    finally:
        await fr.stop()
        await de.stop()
