"""Authenticated is not authorised: a partner speaks only for itself (security review, issue 9 items 4, 5, 12)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from hotline_gateway.adapters import registry
from hotline_gateway.api.state import SERVICES
from hotline_gateway.core.model import Category, load_case
from hotline_gateway.core.timefmt import format_timestamp
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import wait_settled
from tests.engine.federation import cases_hosted_in, message, signed_post, signing_key, submit

Fed = dict[str, RunningGateway]
Paths = dict[str, Path]


def removal_update(case_doc: dict[str, Any], key: Any, sender: str, recipient: str) -> dict[str, Any]:
    """A ``case.update`` saying every item of the case was removed."""
    doc = orjson.loads(orjson.dumps(case_doc))
    at = format_timestamp(datetime.now(UTC))
    for item in doc["items"]:
        item["actions"] = [*item.get("actions", []), {"type": "content_removed", "at": at, "by": sender}]
    msg = message(load_case(doc), key, sender=sender, recipient=recipient)
    msg["type"] = "case.update"
    return msg


async def post(gw: RunningGateway, paths: Paths, sender: str, messages: list[dict[str, Any]]
               ) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as s:
        status, _, body = await signed_post(s, f"{gw.url}/v1/messages", orjson.dumps({"messages": messages}),
                                            signing_key(paths[sender].parent))
    return status, orjson.loads(body)


async def audit_kinds(gw: RunningGateway) -> list[str]:
    return [a["kind"] for a in await gw.app[SERVICES].store.recent_audit(50)]


async def test_a_partner_that_never_received_a_case_cannot_report_it_removed(federation: Fed, fed_paths: Paths) -> None:
    """FR sends a case to DE; FR-POLICE (an authenticated partner of FR, never sent that case) reports its
    content removed: 403 ``update_not_authorised``, audited, and the case and its notices are untouched.
    DE, which received it, may."""
    fr = federation["FR-PDC"]
    [case] = cases_hosted_in("DE", 1)
    async with aiohttp.ClientSession() as s:
        await submit(s, fr, [case])
    await wait_settled(fr, 30)
    store = fr.app[SERVICES].store
    before = (await store.case_docs([str(case.case_id)]))[str(case.case_id)]
    police_key = signing_key(fed_paths["FR-POLICE"].parent)
    status, problem = await post(fr, fed_paths, "FR-POLICE",
                                 [removal_update(before, police_key, "FR-POLICE", "FR-PDC")])
    assert status == 403 and problem["code"] == "update_not_authorised", problem
    assert (await store.case_docs([str(case.case_id)]))[str(case.case_id)] == before
    assert "message.refused" in await audit_kinds(fr)
    de_key = signing_key(fed_paths["DE-HOTLINE"].parent)
    status, answer = await post(fr, fed_paths, "DE-HOTLINE", [removal_update(before, de_key, "DE-HOTLINE", "FR-PDC")])
    assert status == 202, answer
    after = (await store.case_docs([str(case.case_id)]))[str(case.case_id)]
    assert all(any(a["type"] == "content_removed" for a in i["actions"]) for i in after["items"])


async def test_an_update_for_items_the_partner_was_not_sent_is_refused(federation: Fed, fed_paths: Paths) -> None:
    """A case hosted at home goes to police, never to DE: DE's update about it is refused, even though DE
    knows the case id and its URLs."""
    fr = federation["FR-PDC"]
    [case] = cases_hosted_in("FR", 1)
    async with aiohttp.ClientSession() as s:
        await submit(s, fr, [case])
    stored = (await fr.app[SERVICES].store.case_docs([str(case.case_id)]))[str(case.case_id)]
    de_key = signing_key(fed_paths["DE-HOTLINE"].parent)
    status, problem = await post(fr, fed_paths, "DE-HOTLINE", [removal_update(stored, de_key, "DE-HOTLINE", "FR-PDC")])
    assert status == 403 and problem["code"] == "update_not_authorised"


async def test_an_originator_claimed_by_a_partner_is_bound_to_that_partner(federation: Fed, fed_paths: Paths) -> None:
    """DE sends FR a case naming FR-POLICE as originator: FR stores it as DE's case, keeps the claim in the
    custody log as DE's, and the X-ARF / DSA notices FR would sign name DE-HOTLINE, never FR-POLICE."""
    fr = federation["FR-PDC"]
    [case] = cases_hosted_in("FR", 1, seed=11)
    case.originator = "FR-POLICE"
    de_key = signing_key(fed_paths["DE-HOTLINE"].parent)
    status, answer = await post(fr, fed_paths, "DE-HOTLINE", [message(case, de_key, sender="DE-HOTLINE",
                                                                      recipient="FR-PDC")])
    assert status == 202, answer
    stored = (await fr.app[SERVICES].store.case_docs([str(case.case_id)]))[str(case.case_id)]
    assert stored["originator"] == "DE-HOTLINE"
    assert any("named FR-POLICE as originator" in (c.get("note") or "") for c in stored["custody"])
    bound = load_case(stored)
    bound.category = Category.CSAM  # X-ARF carries child sexual abuse content only
    for fmt in ("xarf", "dsa-notice"):
        for doc in _documents(registry.get(fmt).encode(bound)):
            assert b"FR-POLICE" not in doc and b"DE-HOTLINE" in doc, fmt


def _documents(data: bytes) -> list[bytes]:
    return [line for line in data.splitlines() if line.strip()] or [data]


async def test_two_partners_may_use_the_same_message_id_and_each_gets_its_own_receipt(
    federation: Fed, fed_paths: Paths,
) -> None:
    """DE and FR-POLICE send different messages under one message id at the same moment: both are
    stored, each sender gets a receipt for its own payload, neither gets the other's."""
    fr = federation["FR-PDC"]
    mid = str(uuid.uuid4())
    de_case, police_case = cases_hosted_in("FR", 2, seed=21)
    de_msg = message(de_case, signing_key(fed_paths["DE-HOTLINE"].parent), sender="DE-HOTLINE", recipient="FR-PDC",
                     message_id=mid)
    police_msg = message(police_case, signing_key(fed_paths["FR-POLICE"].parent), sender="FR-POLICE",
                         recipient="FR-PDC", message_id=mid)
    (s1, a1), (s2, a2) = await asyncio.gather(post(fr, fed_paths, "DE-HOTLINE", [de_msg]),
                                              post(fr, fed_paths, "FR-POLICE", [police_msg]))
    assert (s1, s2) == (202, 202), (a1, a2)
    assert a1["receipts"][0]["payload_sha256"] == de_msg["payload_sha256"]
    assert a2["receipts"][0]["payload_sha256"] == police_msg["payload_sha256"]
    assert not a1["receipts"][0].get("duplicate") and not a2["receipts"][0].get("duplicate")
    docs = await fr.app[SERVICES].store.case_docs([str(de_case.case_id), str(police_case.case_id)])
    assert len(docs) == 2


async def test_overlapping_batches_of_one_sender_store_each_message_once(federation: Fed, fed_paths: Paths) -> None:
    """Two signed batches of DE sharing ten messages, sent at once (20 times): both answers are 202, each
    message is stored once, the shared ones are answered with the receipt that was stored."""
    fr = federation["FR-PDC"]
    key = signing_key(fed_paths["DE-HOTLINE"].parent)
    store = fr.app[SERVICES].store
    for round_ in range(20):
        cases = cases_hosted_in("FR", 30, seed=100 + round_)
        msgs = [message(c, key, sender="DE-HOTLINE", recipient="FR-PDC") for c in cases]
        first, second = msgs[:20], msgs[10:]
        (s1, a1), (s2, a2) = await asyncio.gather(post(fr, fed_paths, "DE-HOTLINE", first),
                                                  post(fr, fed_paths, "DE-HOTLINE", second))
        assert (s1, s2) == (202, 202), (a1, a2)
        by_id: dict[str, list[dict[str, Any]]] = {}
        for msg, receipt in [*zip(first, a1["receipts"], strict=True), *zip(second, a2["receipts"], strict=True)]:
            assert receipt["message_id"] == msg["message_id"]
            by_id.setdefault(msg["message_id"], []).append(receipt)
        for mid, receipts in by_id.items():
            assert len({r["jws"] for r in receipts}) == 1, f"{mid} got two different receipts"
        stored = await store.find_inbound("DE-HOTLINE", [m["message_id"] for m in msgs])
        assert len(stored) == 30
        docs = await store.case_docs([str(c.case_id) for c in cases])
        assert len(docs) == 30
