"""A retraction nobody acknowledges becomes overdue where operators look (``status``, /metrics), and clears
when the partner answers; operators retract and correct from the command line, through the running gateway
or, when it is stopped, on its store; bad input is one line naming the file and field (exit 2)."""

from __future__ import annotations

import asyncio
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
from hotline_gateway.core.model import LegalClass, dump_case
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import TOKEN, write_federation
from tests.engine.federation import cases_hosted_in, submit
from tests.support.waiting import eventually

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(main, [*argv, "--json"])
    captured = capsys.readouterr()
    return code, orjson.loads(captured.out) if captured.out.strip() else None, captured.err


async def delivered_to(gw: RunningGateway, case_id: str, partner: str, kind: str) -> bool:
    rows = await gw.app[SERVICES].store.case_deliveries(case_id)
    return any(d.partner == partner and d.message_type == kind and d.state.value == "delivered" for d in rows)


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, Path]:
    """The demo federation with retractions overdue after one second at FR."""
    paths = write_federation(tmp_path)
    doc = tomllib.loads(paths["FR-PDC"].read_text(encoding="utf-8"))
    doc["delivery"]["retraction_ack_s"] = 1
    paths["FR-PDC"].write_text(tomli_w.dumps(doc), encoding="utf-8")
    return paths


async def metric(gw: RunningGateway, name: str, partner: str) -> float:
    async with aiohttp.ClientSession() as s, s.get(f"{gw.url}/metrics") as r:
        text = await r.text()
    for line in text.splitlines():
        if line.startswith(f'{name}{{partner="{partner}"}}'):
            return float(line.split()[-1])
    return 0.0


async def test_an_unacknowledged_retraction_is_overdue_in_status_and_metrics_until_the_partner_answers(
        paths: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    fr = RunningGateway(config_mod.load(paths["FR-PDC"]))
    de = RunningGateway(config_mod.load(paths["DE-HOTLINE"]))
    await fr.start()
    await de.start()
    try:
        [case] = cases_hosted_in("DE", 1, seed=1601)
        case_id = str(case.case_id)
        async with aiohttp.ClientSession() as s:
            await submit(s, fr, [case])
        await eventually(lambda: delivered_to(fr, case_id, "DE-HOTLINE", "case.notify"), what="the case at DE")
        await de.stop()  # DE goes away before FR takes the case back
        code, answer, _ = await cli(capsys, "retract", "--config", str(paths["FR-PDC"]), case_id,
                                    "--reason", "duplicate", "--note", "reported twice")
        assert code == 0 and answer["queued_for"] == ["DE-HOTLINE"]

        async def overdue() -> bool:
            return await metric(fr, "hotline_lifecycle_overdue", "DE-HOTLINE") == 1.0

        await eventually(overdue, what="the retraction overdue in /metrics", timeout=10)
        code, status, _ = await cli(capsys, "status", "--config", str(paths["FR-PDC"]))
        assert code == 0
        [late] = status["lifecycle_overdue"]
        assert late["case_id"] == case_id and late["partner"] == "DE-HOTLINE" and late["type"] == "case.retract"
        async with aiohttp.ClientSession() as s, s.get(f"{fr.url}/v1/cases/{case_id}", headers=AUTH) as r:
            shown = await r.json()
        [dest] = shown["lifecycle"][0]["destinations"]
        assert dest["acknowledgement"]["state"] == "overdue"

        de = RunningGateway(config_mod.load(paths["DE-HOTLINE"]))  # DE is back: it acknowledges
        await de.start()
        await eventually(lambda: delivered_to(fr, case_id, "DE-HOTLINE", "case.retract"),
                         what="the retraction acknowledged by DE", timeout=30)
        assert await metric(fr, "hotline_lifecycle_overdue", "DE-HOTLINE") == 0.0
        code, status, _ = await cli(capsys, "status", "--config", str(paths["FR-PDC"]))
        assert status["lifecycle_overdue"] == []
        de_case = await de.app[SERVICES].store.case_docs([case_id])
        assert de_case[case_id]["status"] == "retracted"
    finally:
        await fr.stop()
        await de.stop()


async def test_correct_from_the_command_line_on_a_stopped_gateway_goes_out_when_it_starts(
        paths: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    fr = RunningGateway(config_mod.load(paths["FR-PDC"]))
    de = RunningGateway(config_mod.load(paths["DE-HOTLINE"]))
    await fr.start()
    await de.start()
    try:
        [case] = cases_hosted_in("DE", 1, seed=1602)
        case_id = str(case.case_id)
        async with aiohttp.ClientSession() as s:
            await submit(s, fr, [case])
        await eventually(lambda: delivered_to(fr, case_id, "DE-HOTLINE", "case.notify"), what="the case at DE")
        await fr.stop()
        doc = dump_case(case)
        doc["items"][0]["legal_class"] = "doubtful" if case.items[0].legal_class is LegalClass.BASELINE else \
            "baseline"
        corrected = tmp_path / "corrected.json"
        corrected.write_bytes(orjson.dumps(doc))
        code, answer, _ = await cli(capsys, "correct", "--config", str(paths["FR-PDC"]), str(corrected))
        assert code == 0, answer
        assert [c["field"] for c in answer["changes"]] == ["legal_class"]

        fr = RunningGateway(config_mod.load(paths["FR-PDC"]))
        await fr.start()
        await eventually(lambda: delivered_to(fr, case_id, "DE-HOTLINE", "case.correct"),
                         what="the correction at DE once FR runs again")
        held = (await de.app[SERVICES].store.case_docs([case_id]))[case_id]
        assert held["items"][0]["legal_class"] == doc["items"][0]["legal_class"]

        # bad input: one line naming the file and the field, exit 2
        bad = dict(doc, items=[dict(doc["items"][0], legal_class="illegal-ish")])
        corrected.write_bytes(orjson.dumps(bad))
        code, _, err = await cli(capsys, "correct", "--config", str(paths["FR-PDC"]), str(corrected))
        assert code == 2 and str(corrected) in err and "legal_class" in err and len(err.strip().splitlines()) == 1
        code, _, err = await cli(capsys, "retract", "--config", str(paths["FR-PDC"]),
                                 "3f0f5b8e-0000-4000-8000-000000000000", "--reason", "duplicate")
        assert code == 2 and ("case_not_found" in err or "no case" in err)
    finally:
        await fr.stop()
        await de.stop()


async def test_the_case_system_cannot_retract_a_case_a_partner_sent_nor_retract_twice(
        paths: dict[str, Path]) -> None:
    fr = RunningGateway(config_mod.load(paths["FR-PDC"]))
    de = RunningGateway(config_mod.load(paths["DE-HOTLINE"]))
    await fr.start()
    await de.start()
    try:
        [case] = cases_hosted_in("DE", 1, seed=1603)
        case_id = str(case.case_id)
        async with aiohttp.ClientSession() as s:
            await submit(s, fr, [case])
            await eventually(lambda: delivered_to(fr, case_id, "DE-HOTLINE", "case.notify"), what="the case at DE")
            async with s.post(f"{de.url}/v1/cases/{case_id}/retract", json={"reason": "duplicate"},
                              headers=AUTH) as r:
                problem = await r.json(content_type=None)
                assert r.status == 403 and problem["code"] == "not_originator"
            async with s.post(f"{fr.url}/v1/cases/{case_id}/retract", json={"reason": "duplicate"},
                              headers=AUTH) as r:
                assert r.status == 202
            async with s.post(f"{fr.url}/v1/cases/{case_id}/retract", json={"reason": "duplicate"},
                              headers=AUTH) as r:
                problem = await r.json(content_type=None)
                assert r.status == 409 and problem["code"] == "already_retracted"
            async with s.post(f"{fr.url}/v1/cases/{case_id}/retract", json={"reason": "because"},
                              headers=AUTH) as r:
                problem = await r.json(content_type=None)
                assert r.status == 422 and problem["errors"][0]["path"] == "$.reason"
    finally:
        await fr.stop()
        await de.stop()
