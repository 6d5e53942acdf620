"""Notices to hosts by e-mail through the whole engine: outage and recovery, the takedown clock,
updates from partners and the local system, and no notice for content already reported removed."""

from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import tomli_w

from hotline_gateway.api.state import SERVICES
from hotline_gateway.core.model import (
    Action,
    ActionType,
    Case,
    Category,
    Hosting,
    MessageType,
    Reporter,
    ReporterKind,
    Tlp,
)
from hotline_gateway.core.timefmt import parse_timestamp
from hotline_gateway.crypto.jws import verify_detached
from hotline_gateway.crypto.keydir import KeyDirectory
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import TOKEN, reserve_port, wait_settled
from hotline_gateway.sim.mail_server import MailServer
from hotline_gateway.store.records import DeliveryState
from tests.adapters.judge import judge
from tests.engine.federation import cases_hosted_in, message, signed_post, signing_key, submit
from tests.support.waiting import eventually

HOST_ASN = 64500



@pytest.fixture
def mail_port() -> int:
    return reserve_port()


@pytest.fixture
def fr_config(fed_paths: dict[str, Path], mail_port: int) -> Path:
    path = fed_paths["FR-PDC"]
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    doc["partners"].append({
        "id": "HOST-EXAMPLE", "kind": "host", "country": "FR", "asns": [HOST_ASN], "transport": "smtp",
        "format": "xarf",
        "options": {"smtp_host": "127.0.0.1", "smtp_port": mail_port, "tls": "none", "from": "notices@fr-pdc.test",
                    "abuse_contacts": {"*": "abuse@host.test"}},
    })
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
async def fr(fr_config: Path, federation: dict[str, RunningGateway]) -> RunningGateway:
    """FR-PDC (with the host partner written into its config before it starts), DE and the police running."""
    return federation["FR-PDC"]


def hosted_by_our_host(count: int, seed: int = 3) -> list[Case]:
    cases = cases_hosted_in("FR", count, seed=seed)
    for n, case in enumerate(cases):
        case.reporter = Reporter(ReporterKind.PERSON, name=f"Jeanne Témoin {n}", email=f"jeanne{n}@mail.test")
        for item in case.items:
            item.hosting = Hosting(asn=HOST_ASN, country="FR")
            item.actions = []
        case.tlp = Tlp.AMBER  # within the host's ceiling
        case.category = Category.CSAM  # X-ARF carries csam and csem
    return cases


async def host_deliveries(gw: RunningGateway) -> list[Any]:
    return await gw.app[SERVICES].store.deliveries("HOST-EXAMPLE")


async def get_case(session: aiohttp.ClientSession, gw: RunningGateway, case: Case) -> dict[str, Any]:
    async with session.get(f"{gw.url}/v1/cases/{case.case_id}", headers={"Authorization": f"Bearer {TOKEN}"}) as r:
        assert r.status == 200
        data: dict[str, Any] = orjson.loads(await r.read())
        return data


@pytest.mark.slow
async def test_smtp_outage_then_recovery_delivers_each_notice_once_and_starts_the_takedown_clock(
    fr: RunningGateway, mail_port: int, fed_paths: dict[str, Path], tmp_path: Path
) -> None:
    """Notices wait while the abuse mailbox is down, then arrive once each: readable text, an X-ARF report
    the official schema accepts, and our signature over exactly its bytes."""
    cases = hosted_by_our_host(3)
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, cases)

        async def all_tried() -> bool:
            rows = await host_deliveries(fr)
            return len(rows) == 3 and all(d.attempts >= 1 for d in rows)

        await eventually(all_tried, timeout=30, what="every notice tried while the abuse mailbox is down")
        pending = await host_deliveries(fr)
        assert len(pending) == 3 and all(d.state is DeliveryState.QUEUED and d.attempts >= 1 for d in pending)
        mail = await MailServer(port=mail_port).start()
        try:
            await wait_settled(fr, 30)
            assert len(mail.received) == 3
            assert len({m["Message-ID"] for m in mail.received}) == 3
            raw = b"".join(m.as_bytes() for m in mail.received)
            fr_keys = KeyDirectory.load(fed_paths["FR-PDC"].parent / "keys")
            reports: list[bytes] = []
            for m in mail.received:
                parts = {str(p.get_filename()): p.get_payload(decode=True) for p in m.iter_attachments()}
                for name in (n for n in parts if not n.endswith(".jws")):
                    report, signature = parts[name], parts[f"{name}.jws"]
                    assert isinstance(report, bytes) and isinstance(signature, bytes)
                    assert verify_detached(report, signature.decode(), fr_keys) == fr_keys.active_signing_key().kid
                    reports.append(report)  # each attachment as it is: one X-ARF document, never split here
            assert len(reports) == sum(len(c.items) for c in cases)
            assert judge("xarf", reports, tmp_path, ".json") == []
            personal = [v for c in cases for v in (c.reporter.name, c.reporter.email, c.reporter.phone) if v]
            assert personal and not [v for v in personal if v.encode() in raw]
            info = await get_case(session, fr, cases[0])
        finally:
            await mail.stop()
    host_row = next(d for d in info["deliveries"] if d["partner"] == "HOST-EXAMPLE")
    assert host_row["state"] == "delivered" and host_row["receipt"]["signed"] is False
    assert all(t["notified_at"] is not None and t["time_to_removal_s"] is None for t in info["takedown"])
    actions = [a["type"] for item in info["case"]["items"] for a in item["actions"]]
    assert set(actions) >= {"sent_to_isp", "sent_to_lea"}


async def test_content_reported_removed_while_the_notice_waits_is_never_notified(
    fr: RunningGateway, mail_port: int
) -> None:
    [case] = hosted_by_our_host(1, seed=9)
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, [case])

        async def tried() -> bool:
            rows = await host_deliveries(fr)
            return len(rows) == 1 and rows[0].attempts >= 1 and rows[0].state is DeliveryState.QUEUED

        # the abuse mailbox is down: the notice was tried and waits in the outbox
        await eventually(tried, timeout=30, what="the notice tried while the abuse mailbox is down")
        body = {"actions": [{"item_id": str(i.item_id), "type": "content_removed", "at": "2026-11-24T10:00:00Z",
                             "by": "analyst-07"} for i in case.items]}
        async with session.post(f"{fr.url}/v1/cases/{case.case_id}/actions", json=body,
                                headers={"Authorization": f"Bearer {TOKEN}"}) as r:
            assert r.status == 200, await r.read()
            answer = orjson.loads(await r.read())
        assert answer["added"] == len(case.items)
        assert all(t["removal"] == "content_removed" for t in answer["takedown"])
        mail = await MailServer(port=mail_port).start()
        try:
            await wait_settled(fr, 30)  # nothing queued or in flight: a notice sent would be in the mailbox now
            assert mail.received == []
        finally:
            await mail.stop()
        [notice] = await host_deliveries(fr)
        assert notice.state is DeliveryState.CANCELLED and "reported removed" in (notice.last_error or "")


async def test_a_partners_case_update_reporting_removal_updates_our_items(
    fed_paths: dict[str, Path], fr: RunningGateway
) -> None:
    [case] = cases_hosted_in("DE", 1, seed=21)
    for item in case.items:
        item.actions = []
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, [case])
        await wait_settled(fr, 30)
        update = cases_hosted_in("DE", 1, seed=21)[0]
        for item in update.items:
            removed_at = parse_timestamp("2026-11-24T12:00:00Z")
            item.actions = [Action(ActionType.CONTENT_REMOVED, removed_at, by="DE-HOTLINE")]
        de_key = signing_key(fed_paths["DE-HOTLINE"].parent)
        msg = message(update, de_key, sender="DE-HOTLINE", recipient="FR-PDC")
        msg["type"] = MessageType.UPDATE.value
        status, _, answer = await signed_post(session, f"{fr.url}/v1/messages", orjson.dumps({"messages": [msg]}),
                                              de_key)
        assert status == 202, answer
        info = await get_case(session, fr, case)
    assert all(t["removal"] == "content_removed" and t["time_to_removal_s"] is not None for t in info["takedown"])
    assert await fr.app[SERVICES].store.count("cases") == 1


async def test_a_platform_receives_a_dsa_notice_over_https_with_no_reporter_data(
    fed_paths: dict[str, Path], tmp_path: Path
) -> None:
    """A platform hosting the content gets an Art. 16 notice by signed POST; its receipt closes the delivery."""
    from aiohttp import web

    from hotline_gateway import config as config_mod
    from hotline_gateway.crypto.keydir import generate
    from hotline_gateway.sim.evidence_receiver import EvidenceReceiver

    fr_root = fed_paths["FR-PDC"].parent
    generate(tmp_path / "platform-keys", "PLATFORM-1", owner="PLATFORM-VIDEO")
    platform_keys = KeyDirectory.load(tmp_path / "platform-keys")
    (tmp_path / "platform.jwks.json").write_bytes(orjson.dumps(platform_keys.to_jwks()))
    receiver = EvidenceReceiver("PLATFORM-VIDEO", platform_keys.active_signing_key(),
                                KeyDirectory.from_jwks(KeyDirectory.load(fr_root / "keys").to_jwks()), "dsa-notice")
    runner = web.AppRunner(receiver.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    doc = tomllib.loads(fed_paths["FR-PDC"].read_text(encoding="utf-8"))
    doc["partners"].append({"id": "PLATFORM-VIDEO", "kind": "platform", "asns": [HOST_ASN], "transport": "https",
                            "format": "dsa-notice", "endpoint": f"http://127.0.0.1:{port}/evidence",
                            "keys": str(tmp_path / "platform.jwks.json"), "options": {"allow_insecure_http": True}})
    fed_paths["FR-PDC"].write_text(tomli_w.dumps(doc), encoding="utf-8")
    fr = await RunningGateway(config_mod.load(fed_paths["FR-PDC"])).start()
    try:
        cases = hosted_by_our_host(2, seed=61)
        async with aiohttp.ClientSession() as session:
            await submit(session, fr, cases)
        for _ in range(200):
            if len(receiver.received) == 2:
                break
            await asyncio.sleep(0.05)
        assert len(receiver.received) == 2
        for got in receiver.received.values():
            assert got.media_type == "application/vnd.hotline-gateway.dsa-notice+json"
            for case in cases:
                for secret in (case.reporter.name, case.reporter.email):
                    assert secret and secret.encode() not in got.body
            assert orjson.loads(got.body)["notifier"]["identity_withheld"] is True
        for _ in range(100):
            rows = await fr.app[SERVICES].store.deliveries("PLATFORM-VIDEO")
            if all(d.state is DeliveryState.DELIVERED for d in rows):
                break
            await asyncio.sleep(0.05)
        assert [d.state for d in rows] == [DeliveryState.DELIVERED] * 2
    finally:
        await fr.stop()
        await runner.cleanup()
