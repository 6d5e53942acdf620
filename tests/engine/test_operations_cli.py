"""``init``, ``status`` and ``retry`` from the command line, against real stores written by running gateways."""

from __future__ import annotations

import asyncio
import stat
import tomllib
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import tomli_w

from hotline_gateway import config as config_mod
from hotline_gateway.api.state import SERVICES
from hotline_gateway.cli.main import main
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import wait_settled
from hotline_gateway.store.records import DeliveryState
from tests.engine.federation import cases_hosted_in, submit


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, (orjson.loads(out) if "--json" in argv and out.strip() else out), err


async def acli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    """The CLI runs its own event loop, so from an async test it runs in a thread, as from a shell."""
    return await asyncio.to_thread(cli, capsys, *argv)


def test_init_writes_a_loadable_config_with_a_private_key_and_token_only_we_can_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "init", str(tmp_path / "gw"), "--id", "BE-CHILDFOCUS", "--country", "BE", "--json")
    assert code == 0
    config = config_mod.load(out["config"])
    assert (config.id, config.country, config.intake_token) == ("BE-CHILDFOCUS", "BE", config.intake_token)
    assert config.intake_token and len(config.intake_token) >= 32
    private = list((tmp_path / "gw" / "keys").glob("*.key"))
    assert len(private) == 1
    for secret in (*private, Path(out["intake_token_file"])):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_init_refuses_to_overwrite_an_existing_config_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "init", str(tmp_path))[0] == 0
    code, _, err = cli(capsys, "init", str(tmp_path))
    assert code == 2
    assert "already exists" in err and len(err.strip().splitlines()) == 1


async def test_init_config_serves_and_accepts_local_intake_with_its_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "init", str(tmp_path), "--port", "0", "--json")
    assert code == 0
    gw = await RunningGateway(config_mod.load(out["config"])).start()
    try:
        async with aiohttp.ClientSession() as session:
            await submit(session, gw, cases_hosted_in("NL", 2, originator=gw.config.id))
        assert await gw.app[SERVICES].store.count("cases") == 2
    finally:
        await gw.stop()


def _short_deadline(config_file: Path, seconds: float) -> None:
    doc = tomllib.loads(config_file.read_text(encoding="utf-8"))
    doc["delivery"]["deadline_s"] = seconds
    config_file.write_text(tomli_w.dumps(doc), encoding="utf-8")


async def _until(predicate: Any, timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def test_dead_letters_after_the_deadline_show_in_status_and_retry_delivers_them_once(
    fed_paths: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    fr_file = fed_paths["FR-PDC"]
    _short_deadline(fr_file, 1.0)
    fr = await RunningGateway(config_mod.load(fr_file)).start()
    store = fr.app[SERVICES].store
    try:
        async with aiohttp.ClientSession() as session:
            await submit(session, fr, cases_hosted_in("DE", 3))

        async def all_dead() -> bool:
            st = (await store.partner_status()).get("DE-HOTLINE")
            return st is not None and st.dead == 3

        await _until(all_dead)
    finally:
        await fr.stop()

    code, status, _ = await acli(capsys, "status", "--config", str(fr_file), "--json")
    assert code == 0
    de_row = next(p for p in status["partners"] if p["partner"] == "DE-HOTLINE")
    assert (de_row["dead"], de_row["delivered"], de_row["queued"]) == (3, 0, 0)
    assert "deadline passed" in de_row["last_error"] and "unreachable" in de_row["last_error"]
    code, text, _ = await acli(capsys, "status", "--config", str(fr_file))
    assert code == 0 and "DE-HOTLINE" in text

    code, out, _ = await acli(capsys, "retry", "--config", str(fr_file), "--partner", "DE-HOTLINE", "--json")
    assert (code, out) == (0, {"requeued": 3})

    de = await RunningGateway(config_mod.load(fed_paths["DE-HOTLINE"])).start()
    fr = await RunningGateway(config_mod.load(fr_file)).start()
    try:
        await wait_settled(fr, 30)
        deliveries = await fr.app[SERVICES].store.deliveries("DE-HOTLINE")
        assert [d.state for d in deliveries] == [DeliveryState.DELIVERED] * 3
        assert all(d.receipt for d in deliveries)
        assert await de.app[SERVICES].store.count("inbound") == 3
    finally:
        await fr.stop()
        await de.stop()
    code, status, _ = await acli(capsys, "status", "--config", str(fr_file), "--json")
    de_row = next(p for p in status["partners"] if p["partner"] == "DE-HOTLINE")
    assert (de_row["dead"], de_row["delivered"]) == (0, 3)


def test_status_before_the_gateway_ever_ran_exits_2_with_one_line(
    fed_paths: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "status", "--config", str(fed_paths["FR-PDC"]))
    assert code == 2 and "no store yet" in err and len(err.strip().splitlines()) == 1


async def test_retry_while_serve_runs_leaves_intake_working_and_the_chain_whole(
    fed_paths: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """``retry`` writes to the store (and the audit chain) while the gateway is serving: the gateway reads
    the chain head inside each write transaction, so every later intake is still accepted and the chain
    still verifies (it used to answer 500 until restart, issue 13)."""
    fr_file = fed_paths["FR-PDC"]
    _short_deadline(fr_file, 1.0)
    fr = await RunningGateway(config_mod.load(fr_file)).start()
    store = fr.app[SERVICES].store
    try:
        async with aiohttp.ClientSession() as session:
            await submit(session, fr, cases_hosted_in("DE", 2))

            async def all_dead() -> bool:
                st = (await store.partner_status()).get("DE-HOTLINE")
                return st is not None and st.dead == 2

            await _until(all_dead)
            code, out, _ = await acli(capsys, "retry", "--config", str(fr_file), "--json")
            assert (code, out) == (0, {"requeued": 2})
            for seed in range(3):
                result = await submit(session, fr, cases_hosted_in("DE", 2, seed=200 + seed))
                assert all(a["new"] for a in result["accepted"])
        code, report, _ = await acli(capsys, "audit", "verify", "--config", str(fr_file), "--json")
        assert code == 0 and report["ok"], report
    finally:
        await fr.stop()
