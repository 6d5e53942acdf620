"""Receipts on the wire between gateways of this release and of the last: a sender asks for batch
receipts with ``Prefer: receipts=batch``; a receiver that does not know the preference signs each
message, and a sender takes both forms, also mixed in one answer (resends keep their first receipt)."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import orjson
import pytest

from hotline_gateway.api.state import SERVICES
from hotline_gateway.crypto.keydir import KeyDirectory
from hotline_gateway.crypto.receipts import BATCH_SEP, PREFER_BATCH, verify_receipt
from hotline_gateway.pipeline import receive
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import wait_settled
from hotline_gateway.store.records import DeliveryState
from tests.engine.federation import cases_hosted_in, message, signed_post, signing_key, submit


async def test_gateways_exchange_batch_receipts_each_provable_on_its_own(
    federation: dict[str, RunningGateway],
) -> None:
    fr, de = federation["FR-PDC"], federation["DE-HOTLINE"]
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, cases_hosted_in("DE", 12))
    await wait_settled(fr, 30)
    deliveries = await fr.app[SERVICES].store.deliveries("DE-HOTLINE")
    assert len(deliveries) == 12 and all(d.state is DeliveryState.DELIVERED for d in deliveries)
    heads = {d.receipt.partition(BATCH_SEP)[0] for d in deliveries if d.receipt}
    assert all(d.receipt and BATCH_SEP in d.receipt for d in deliveries)
    assert len(heads) < len(deliveries)  # signatures per batch, not per message
    de_keys = KeyDirectory.load(de.config.keys_dir)
    for d in deliveries:
        assert d.receipt is not None
        verify_receipt(d.receipt, de_keys, message_id=d.message_id, payload_sha256=d.payload_sha256,
                       receiver="DE-HOTLINE")
    held = await de.app[SERVICES].store.find_inbound("FR-PDC", [d.message_id for d in deliveries])
    assert {mid: orjson.loads(r.receipt)["jws"] for mid, r in held.items()} == {
        d.message_id: d.receipt for d in deliveries}  # the receiver keeps the very receipt it gave


async def test_a_sender_that_does_not_ask_gets_one_signature_per_message_and_a_resend_keeps_its_form(
    federation: dict[str, RunningGateway], fed_paths: dict[str, Path],
) -> None:
    de = federation["DE-HOTLINE"]
    key = signing_key(fed_paths["FR-PDC"].parent)
    de_keys = KeyDirectory.load(de.config.keys_dir)
    url = f"{de.url}/v1/messages"
    old, new = (message(c, key, sender="FR-PDC", recipient="DE-HOTLINE") for c in cases_hosted_in("DE", 2))
    async with aiohttp.ClientSession() as s:
        status, _, answer = await signed_post(s, url, orjson.dumps({"messages": [old]}), key)
        assert status == 202
        [single] = orjson.loads(answer)["receipts"]
        assert BATCH_SEP not in single["jws"]  # a sender of the last release gets what it knows
        status, _, answer = await signed_post(s, url, orjson.dumps({"messages": [old, new]}), key,
                                              headers_extra={"Prefer": 'respond-async, receipts="batch"'})
    assert status == 202
    resent, fresh = orjson.loads(answer)["receipts"]
    assert resent == {**single, "duplicate": True}  # a resend gets its first receipt back, in its own form
    assert BATCH_SEP in fresh["jws"]
    for msg, r in ((old, resent), (new, fresh)):
        verify_receipt(r["jws"], de_keys, message_id=msg["message_id"], payload_sha256=msg["payload_sha256"],
                       receiver="DE-HOTLINE")


async def test_a_receiver_of_the_last_release_is_understood(
    federation: dict[str, RunningGateway], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DE as the last release was: it ignores the preference and signs each receipt; FR records them."""
    monkeypatch.setattr(receive, "wants_batch_receipts", lambda headers: False)
    fr, de = federation["FR-PDC"], federation["DE-HOTLINE"]
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, cases_hosted_in("DE", 4))
    await wait_settled(fr, 30)
    deliveries = await fr.app[SERVICES].store.deliveries("DE-HOTLINE")
    assert all(d.state is DeliveryState.DELIVERED and d.receipt and BATCH_SEP not in d.receipt for d in deliveries)
    de_keys = KeyDirectory.load(de.config.keys_dir)
    for d in deliveries:
        assert d.receipt is not None
        verify_receipt(d.receipt, de_keys, message_id=d.message_id, payload_sha256=d.payload_sha256,
                       receiver="DE-HOTLINE")


def test_the_preference_is_read_as_rfc_7240_writes_it() -> None:
    from multidict import CIMultiDict

    asks = [PREFER_BATCH, "Receipts=Batch", 'respond-async, receipts="batch"; foo=1', "wait=10, receipts=batch"]
    for value in asks:
        assert receive.wants_batch_receipts(CIMultiDict({"Prefer": value})), value
    split = CIMultiDict([("Prefer", "respond-async"), ("Prefer", "receipts=batch")])
    assert receive.wants_batch_receipts(split)
    for value in ("", "receipts=single", "receipts", "batch", "x-receipts=batch"):
        assert not receive.wants_batch_receipts(CIMultiDict({"Prefer": value})), value
    assert not receive.wants_batch_receipts(CIMultiDict())
