"""Retention and erasure (issue 14 items 5–7): reporter data is sealed per case, erased by deleting its
key when the policy says or the reporter asks; the rest of the case and the audit trail stay intact."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from hotline_gateway.api.state import SERVICES
from hotline_gateway.cli.main import main
from hotline_gateway.core.model import Case, Reporter, ReporterKind
from hotline_gateway.core.timefmt import format_timestamp
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import TOKEN, wait_settled
from tests.engine.federation import cases_hosted_in, submit

Fed = dict[str, RunningGateway]


def reported_by(cases: list[Case], email: str) -> list[Case]:
    for case in cases:
        case.reporter = Reporter(ReporterKind.PERSON, name="Ada Reporter", email=email, phone="+33 1 23 45 67 89")
    return cases


def files_of(db: Path) -> list[Path]:
    return [p for p in db.parent.iterdir() if p.name.startswith(db.name)]


def plaintext_anywhere(db: Path, needle: bytes) -> list[str]:
    """Which of the store's files (database, WAL, shared memory) hold ``needle`` in clear."""
    return [p.name for p in files_of(db) if needle in p.read_bytes()]


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    capsys.readouterr()
    code = await asyncio.to_thread(main, [*argv, "--json"])
    out = capsys.readouterr().out
    return code, orjson.loads(out) if out.strip() else None


async def get_case(gw: RunningGateway, case_id: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as s, s.get(f"{gw.url}/v1/cases/{case_id}",
                                                   headers={"Authorization": f"Bearer {TOKEN}"}) as r:
        assert r.status == 200
        doc: dict[str, Any] = await r.json()
        return doc


async def remove_all(gw: RunningGateway, case_id: str, at: datetime) -> None:
    doc = await get_case(gw, case_id)
    actions = [{"item_id": i["item_id"], "type": "content_removed", "at": format_timestamp(at)}
               for i in doc["case"]["items"]]
    async with aiohttp.ClientSession() as s, s.post(f"{gw.url}/v1/cases/{case_id}/actions",
                                                    json={"actions": actions},
                                                    headers={"Authorization": f"Bearer {TOKEN}"}) as r:
        assert r.status == 200, await r.text()


async def test_reporter_data_is_sealed_at_rest_at_both_ends(federation: Fed) -> None:
    """FR sends a case reported by a person to the police (who may receive the reporter): neither store,
    nor its WAL, holds the address in clear; the case system still reads it through the API."""
    fr, police = federation["FR-PDC"], federation["FR-POLICE"]
    email = f"ada.{uuid.uuid4().hex[:8]}@reporters.example.org"
    [case] = reported_by(cases_hosted_in("FR", 1, seed=501), email)
    async with aiohttp.ClientSession() as s:
        await submit(s, fr, [case])
    await wait_settled(fr, 30)
    shown = await get_case(fr, str(case.case_id))
    assert shown["case"]["reporter"]["email"] == email
    assert [d["state"] for d in shown["deliveries"] if d["partner"] == "FR-POLICE"] == ["delivered"]
    for gw in (fr, police):
        assert plaintext_anywhere(gw.config.db_path, email.encode()) == [], gw.config.id
    assert (await police.app[SERVICES].store.case_reporter(str(case.case_id)) or {}).get("email") == email


async def test_with_the_clock_moved_forward_a_closed_cases_reporter_data_becomes_unreadable(
    federation: Fed, fed_paths: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    """Two cases with a reporter; one is closed (its content removed). 31 days on, ``purge`` erases the
    closed one's reporter data (its key is gone), leaves the open one's, and the rest of the case, the
    audit chain, the API and the report neither break nor leak."""
    fr = federation["FR-PDC"]
    email = "closed.case@reporters.example.org"
    closed, still_open = reported_by(cases_hosted_in("FR", 2, seed=502), email)
    async with aiohttp.ClientSession() as s:
        await submit(s, fr, [closed, still_open])
    await wait_settled(fr, 30)
    now = datetime.now(UTC)
    await remove_all(fr, str(closed.case_id), now)
    config = str(fed_paths["FR-PDC"])
    later = format_timestamp(now + timedelta(days=31))
    code, dry = await cli(capsys, "purge", "--config", config, "--dry-run", "--at", later)
    assert code == 0 and dry["erase_reporter_data"] == [str(closed.case_id)] and dry["purge_cases"] == []
    code, done = await cli(capsys, "purge", "--config", config, "--at", later)
    assert code == 0 and done["reporter_data_erased"] == [str(closed.case_id)]
    gone = (await get_case(fr, str(closed.case_id)))["case"]
    assert gone["reporter"] == {"kind": "person", "erased": True} or gone["reporter"]["erased"] is True
    assert len(gone["items"]) == len(closed.items), "the rest of the case stays"
    assert (await get_case(fr, str(still_open.case_id)))["case"]["reporter"]["email"] == email
    code, report = await cli(capsys, "audit", "verify", "--config", config)
    assert code == 0 and report["ok"], report
    kinds = [a["kind"] for a in await fr.app[SERVICES].store.recent_audit(50)]
    assert "reporter.erased" in kinds
    out = tmp_path / "report.html"
    assert await asyncio.to_thread(main, ["report", "--config", config, "--from", "2000-01-01", "--to", "2099-12-31",
                                          "-o", str(out)]) == 0
    assert email not in out.read_text()
    with sqlite3.connect(fr.config.db_path.with_name("reporter-keys.sqlite3")) as vault:
        held = {r[0] for r in vault.execute("SELECT case_id FROM case_keys")}
    assert str(closed.case_id) not in held and str(still_open.case_id) in held


async def test_an_erasure_request_erases_the_reporter_everywhere_and_says_who_had_received_it(
    federation: Fed, fed_paths: dict[str, Path], capsys: pytest.CaptureFixture[str],
) -> None:
    fr = federation["FR-PDC"]
    email = "erase.me@reporters.example.org"
    mine = reported_by(cases_hosted_in("FR", 2, seed=503), email)
    others = reported_by(cases_hosted_in("FR", 1, seed=504), "someone.else@reporters.example.org")
    async with aiohttp.ClientSession() as s:
        await submit(s, fr, mine + others)
    await wait_settled(fr, 30)
    config = str(fed_paths["FR-PDC"])
    code, dry = await cli(capsys, "erase", "--config", config, "--reporter", email.upper(), "--dry-run")
    assert code == 0 and sorted(dry["cases"]) == sorted(str(c.case_id) for c in mine)
    code, done = await cli(capsys, "erase", "--config", config, "--reporter", email)
    assert code == 0 and sorted(c["case_id"] for c in done["cases"]) == sorted(str(c.case_id) for c in mine)
    assert all(c["sent_to"] == ["FR-POLICE"] for c in done["cases"])
    for case in mine:
        assert (await get_case(fr, str(case.case_id)))["case"]["reporter"].get("erased") is True
    assert (await get_case(fr, str(others[0].case_id)))["case"]["reporter"]["email"].startswith("someone.else")
    entries = [a for a in await fr.app[SERVICES].store.recent_audit(100) if a["kind"] == "reporter.erased"]
    assert sorted(a["case_id"] for a in entries) == sorted(str(c.case_id) for c in mine)
    with sqlite3.connect(fr.config.db_path) as db:
        details = " ".join(r[0] for r in db.execute("SELECT detail FROM audit WHERE kind='reporter.erased'"))
    assert email not in details and "Art. 17" in details
    code, report = await cli(capsys, "audit", "verify", "--config", config)
    assert code == 0 and report["ok"], report


async def test_a_queued_message_carrying_erased_reporter_data_is_never_sent(
    fed_paths: dict[str, Path], capsys: pytest.CaptureFixture[str],
) -> None:
    """The police gateway is down, so the message with the reporter waits; the reporter's data is erased
    meanwhile: the message is cancelled, not sent, when the police come back."""
    from hotline_gateway import config as config_mod

    fr = await RunningGateway(config_mod.load(fed_paths["FR-PDC"])).start()
    try:
        email = "waiting@reporters.example.org"
        [case] = reported_by(cases_hosted_in("FR", 1, seed=505), email)
        async with aiohttp.ClientSession() as s:
            await submit(s, fr, [case])
        code, done = await cli(capsys, "erase", "--config", str(fed_paths["FR-PDC"]), "--reporter", email)
        assert code == 0 and done["cases"][0]["queued_messages_cancelled"] == 1
        police = await RunningGateway(config_mod.load(fed_paths["FR-POLICE"])).start()
        try:
            await wait_settled(fr, 30)
            assert await police.app[SERVICES].store.count("cases") == 0
        finally:
            await police.stop()
        deliveries = await fr.app[SERVICES].store.deliveries("FR-POLICE")
        assert [d.state.value for d in deliveries] == ["cancelled"]
    finally:
        await fr.stop()


async def test_cases_past_their_retention_are_purged_and_the_chain_still_verifies(
    federation: Fed, fed_paths: dict[str, Path], capsys: pytest.CaptureFixture[str],
) -> None:
    fr = federation["FR-PDC"]
    cases = cases_hosted_in("FR", 3, seed=506)
    async with aiohttp.ClientSession() as s:
        await submit(s, fr, cases)
    await wait_settled(fr, 30)
    config = str(fed_paths["FR-PDC"])
    far = format_timestamp(datetime.now(UTC) + timedelta(days=800))
    code, done = await cli(capsys, "purge", "--config", config, "--at", far)
    assert code == 0 and done["cases_purged"] == 3
    assert await fr.app[SERVICES].store.count("cases") == 0
    code, report = await cli(capsys, "audit", "verify", "--config", config)
    assert code == 0 and report["ok"], report
