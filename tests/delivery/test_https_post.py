"""The ``https`` transport against a simulated law-enforcement endpoint: receipts, resends, refusals, outages."""

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
from hotline_gateway.core.model import dump_case
from hotline_gateway.crypto.keydir import KeyDirectory, generate
from hotline_gateway.crypto.keyring import KeyRing
from hotline_gateway.crypto.partner_keys import PartnerKeys
from hotline_gateway.pipeline.sign import payload_digest, sign_payload
from hotline_gateway.sim.evidence_receiver import EvidenceReceiver
from hotline_gateway.store.records import Delivery
from hotline_gateway.transports.https_post import HttpsPostTransport
from tests.engine.federation import cases_hosted_in
from tests.support.transports import context


@dataclass
class Rig:
    transport: HttpsPostTransport
    receiver: EvidenceReceiver
    config: config_mod.Config
    keyring: KeyRing

    def delivery(self, payload: bytes | None = None) -> Delivery:
        body = payload if payload is not None else registry.get("native").encode(cases_hosted_in("FR", 1)[0])
        now = time.time()
        return Delivery(
            message_id=str(uuid.uuid4()), case_id=str(uuid.uuid4()), partner="FR-POLICE", format="native",
            transport="https", message_type="case.notify", payload=body, payload_sha256=payload_digest(body),
            signature=sign_payload(body, self.keyring.signing_key), created_at=now, next_attempt_at=now,
            deadline_at=now + 60,
        )


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    generate(tmp_path / "ours", "FR-PDC-1", owner="FR-PDC")
    generate(tmp_path / "police", "FR-POLICE-1", owner="FR-POLICE")
    police_jwks = tmp_path / "police.jwks.json"
    police_jwks.write_bytes(orjson.dumps(KeyDirectory.load(tmp_path / "police").to_jwks()))
    ours = KeyDirectory.load(tmp_path / "ours")
    police_key = KeyDirectory.load(tmp_path / "police").active_signing_key()
    receiver = EvidenceReceiver("FR-POLICE", police_key, KeyDirectory.from_jwks(ours.to_jwks()), "native")
    runner = web.AppRunner(receiver.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    doc = {
        "gateway": {"id": "FR-PDC", "country": "FR", "keys_dir": str(tmp_path / "ours"),
                    "data_dir": str(tmp_path / "data")},
        "delivery": {"timeout_s": 1.0},
        "partners": [{"id": "FR-POLICE", "kind": "law_enforcement", "country": "FR", "transport": "https",
                      "format": "native", "endpoint": f"http://127.0.0.1:{port}/evidence",
                      "keys": str(police_jwks), "options": {"allow_insecure_http": True}}],
    }
    (tmp_path / "config.toml").write_text(tomli_w.dumps(doc), encoding="utf-8")
    config = config_mod.load(tmp_path / "config.toml")
    keyring = KeyRing(config.keys_dir)
    async with aiohttp.ClientSession() as session:
        keys = PartnerKeys(config.partner_key_paths())
        transport = HttpsPostTransport(context(config, session, keyring=keyring, partner_keys=keys))
        yield Rig(transport, receiver, config, keyring)
    await runner.cleanup()


async def test_document_is_received_as_sent_and_the_receipt_verifies(rig: Rig) -> None:
    d = rig.delivery()
    [outcome] = await rig.transport.send(rig.config.partner("FR-POLICE"), [d])
    assert outcome.error is None and outcome.receipt and not outcome.duplicate
    got = rig.receiver.received[d.message_id]
    assert got.body == d.payload and got.sender_kid == "FR-PDC-1"
    assert [dump_case(c) for c in got.cases] == [orjson.loads(d.payload)]


async def test_resent_message_gets_the_original_receipt_and_is_stored_once(rig: Rig) -> None:
    d = rig.delivery()
    partner = rig.config.partner("FR-POLICE")
    [first] = await rig.transport.send(partner, [d])
    [again] = await rig.transport.send(partner, [d])
    assert again.duplicate and again.receipt == first.receipt
    assert len(rig.receiver.received) == 1


async def test_outage_answers_are_transient_so_the_outbox_retries(rig: Rig) -> None:
    rig.receiver.fail_next(1, 503)
    [outcome] = await rig.transport.send(rig.config.partner("FR-POLICE"), [rig.delivery()])
    assert isinstance(outcome.error, TransientDeliveryError) and "503" in outcome.error.message


async def test_a_receiver_that_stalls_past_the_timeout_is_transient(rig: Rig) -> None:
    rig.receiver.stall_next(1, 2.0)
    with pytest.raises(TransientDeliveryError, match="unreachable"):
        await rig.transport.send(rig.config.partner("FR-POLICE"), [rig.delivery()])


async def test_a_document_the_receiver_cannot_read_is_a_permanent_failure_with_its_reason(rig: Rig) -> None:
    [outcome] = await rig.transport.send(rig.config.partner("FR-POLICE"), [rig.delivery(b'{"not": "a case"}')])
    assert isinstance(outcome.error, PermanentDeliveryError) and "422" in outcome.error.message


async def test_a_payload_signature_by_an_unknown_key_is_refused_by_the_receiver(rig: Rig, tmp_path: Path) -> None:
    d = rig.delivery()
    generate(tmp_path / "stranger", "XX-1")
    d.signature = sign_payload(d.payload, KeyDirectory.load(tmp_path / "stranger").active_signing_key())
    [outcome] = await rig.transport.send(rig.config.partner("FR-POLICE"), [d])
    assert isinstance(outcome.error, PermanentDeliveryError) and "unknown_key" in outcome.error.message
    assert not rig.receiver.received


async def test_a_receipt_signed_by_someone_else_is_not_accepted(rig: Rig, tmp_path: Path) -> None:
    generate(tmp_path / "impostor", "FR-POLICE-X")
    rig.receiver.key = KeyDirectory.load(tmp_path / "impostor").active_signing_key()
    [outcome] = await rig.transport.send(rig.config.partner("FR-POLICE"), [rig.delivery()])
    assert outcome.receipt is None
    assert isinstance(outcome.error, TransientDeliveryError) and "not verified" in outcome.error.message


async def test_an_iodef_document_reaches_a_police_endpoint_that_reads_iodef(rig: Rig) -> None:
    """Any format travels over ``https``: here RFC 7970 IODEF, the police's own format."""
    rig.receiver.fmt = "iodef"
    case = cases_hosted_in("FR", 1, seed=12)[0]
    d = rig.delivery(registry.get("iodef").encode(case))
    d.format = "iodef"
    [outcome] = await rig.transport.send(rig.config.partner("FR-POLICE"), [d])
    assert outcome.error is None and outcome.receipt
    [got] = rig.receiver.received[d.message_id].cases
    assert got.case_id == case.case_id and rig.receiver.received[d.message_id].media_type == "application/xml"
