"""End-to-end exchanges between real gateways on loopback, with real keys and SQLite files."""

from __future__ import annotations

import aiohttp
import orjson

from hotline_gateway.api.state import SERVICES
from hotline_gateway.core.model import dump_case
from hotline_gateway.crypto.keydir import KeyDirectory
from hotline_gateway.crypto.receipts import verify_receipt
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import wait_settled
from hotline_gateway.store.records import DeliveryState
from tests.engine.federation import cases_hosted_in, submit


async def test_case_hosted_in_germany_reaches_the_german_hotline_with_a_verified_receipt(
    federation: dict[str, RunningGateway],
) -> None:
    fr, de = federation["FR-PDC"], federation["DE-HOTLINE"]
    cases = cases_hosted_in("DE", 5)
    async with aiohttp.ClientSession() as session:
        result = await submit(session, fr, cases)
    assert [a["new"] for a in result["accepted"]] == [True] * 5
    await wait_settled(fr, 30)
    deliveries = await fr.app[SERVICES].store.deliveries()
    assert {d.partner for d in deliveries} == {"DE-HOTLINE"}
    assert all(d.state is DeliveryState.DELIVERED for d in deliveries)
    de_keys = KeyDirectory.load(de.config.keys_dir)
    for d in deliveries:
        assert d.receipt is not None
        verify_receipt(
            d.receipt, de_keys, message_id=d.message_id, payload_sha256=d.payload_sha256, receiver="DE-HOTLINE"
        )
    # The German gateway holds each case once, with exactly the items routed to it.
    de_store = de.app[SERVICES].store
    assert await de_store.count("cases") == 5
    for case in cases:
        found = await de_store.get_case(str(case.case_id))
        assert found is not None
        assert len(found[0]["case"]["items"]) == len(case.items)


async def test_case_hosted_at_home_reaches_police_with_reporter_but_partner_hotline_gets_no_reporter(
    federation: dict[str, RunningGateway],
) -> None:
    fr, police = federation["FR-PDC"], federation["FR-POLICE"]
    cases = [c for c in cases_hosted_in("FR", 40) if c.reporter.identifies_someone][:3]
    assert cases, "sample data must contain identified reporters"
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, cases)
    await wait_settled(fr, 30)
    deliveries = await fr.app[SERVICES].store.deliveries()
    assert {d.partner for d in deliveries} == {"FR-POLICE"}
    assert all(d.state is DeliveryState.DELIVERED for d in deliveries)
    for case in cases:
        found = await police.app[SERVICES].store.get_case(str(case.case_id))
        assert found is not None
        assert found[0]["case"]["reporter"]["kind"] == case.reporter.kind.value  # police may receive it


async def test_reporter_data_is_withheld_from_a_partner_hotline(federation: dict[str, RunningGateway]) -> None:
    fr = federation["FR-PDC"]
    cases = [c for c in cases_hosted_in("DE", 40) if c.reporter.identifies_someone][:3]
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, cases)
    await wait_settled(fr, 30)
    for d in await fr.app[SERVICES].store.deliveries():
        doc = orjson.loads(d.payload)
        assert doc["reporter"] == {"kind": "withheld"}
        for case in cases:
            if case.reporter.name:
                assert case.reporter.name.encode() not in d.payload


async def test_routing_reason_is_stored_with_the_case_and_shown_by_get(federation: dict[str, RunningGateway]) -> None:
    fr = federation["FR-PDC"]
    case = cases_hosted_in("DE", 1)[0]
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, [case])
        await wait_settled(fr, 30)
        async with session.get(
            f"{fr.url}/v1/cases/{case.case_id}", headers={"Authorization": "Bearer " + (fr.config.intake_token or "")}
        ) as r:
            assert r.status == 200
            info = await r.json()
    assert {d["rule"] for d in info["routing"] if d["sent"]} == {"hosted-in-partner-country"}
    (delivery,) = info["deliveries"]
    assert delivery["partner"] == "DE-HOTLINE" and delivery["state"] == "delivered"
    assert delivery["receipt"]["message_id"] == delivery["message_id"]


async def test_resubmitting_an_identical_case_is_idempotent_and_a_changed_one_conflicts(
    federation: dict[str, RunningGateway],
) -> None:
    fr = federation["FR-PDC"]
    case = cases_hosted_in("DE", 1)[0]
    async with aiohttp.ClientSession() as session:
        first = await submit(session, fr, [case])
        again = await submit(session, fr, [case])
        assert first["accepted"][0]["new"] is True and again["accepted"][0]["new"] is False
        case.explanation = "changed after submission"
        async with session.post(
            f"{fr.url}/v1/cases",
            data=orjson.dumps(dump_case(case)),
            headers={"Authorization": "Bearer " + (fr.config.intake_token or ""), "Content-Type": "application/json"},
        ) as r:
            assert r.status == 409
            assert (await r.json(content_type=None))["code"] == "case_conflict"
    await wait_settled(fr, 30)
    assert len(await fr.app[SERVICES].store.deliveries()) == 1


async def test_resubmitting_a_case_after_its_notice_was_recorded_is_still_the_same_case(
    federation: dict[str, RunningGateway],
) -> None:
    """The stored case gains a sent_to_lea action on delivery; the identical resubmission is not a conflict."""
    fr = federation["FR-PDC"]
    [case] = cases_hosted_in("FR", 1, seed=77)
    for item in case.items:
        item.actions = []
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, [case])
        await wait_settled(fr, 30)
        answer = await submit(session, fr, [case])
    assert answer["accepted"] == [{"case_id": str(case.case_id), "new": False}]
