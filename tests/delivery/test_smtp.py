"""The ``smtp`` transport against a real local SMTP server: the notice, its signed attachment, refusals, outage."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
import tomli_w

from hotline_gateway import config as config_mod
from hotline_gateway.adapters import registry
from hotline_gateway.core.errors import PermanentDeliveryError, TransientDeliveryError
from hotline_gateway.core.model import Reporter, ReporterKind
from hotline_gateway.crypto.jws import verify_detached
from hotline_gateway.crypto.keydir import KeyDirectory, generate
from hotline_gateway.crypto.keyring import KeyRing
from hotline_gateway.crypto.partner_keys import PartnerKeys
from hotline_gateway.pipeline.sign import payload_digest, sign_payload
from hotline_gateway.sim.mail_server import MailServer
from hotline_gateway.store.records import Delivery
from hotline_gateway.transports.smtp import SmtpTransport
from tests.engine.federation import cases_hosted_in
from tests.support.transports import context


@dataclass
class Rig:
    transport: SmtpTransport
    mail: MailServer
    config: config_mod.Config
    keyring: KeyRing
    keys_dir: Path

    def delivery(self) -> Delivery:
        case = cases_hosted_in("FR", 1)[0]
        case.reporter = Reporter(ReporterKind.WITHHELD)
        body = registry.get("native").encode(case)
        now = time.time()
        return Delivery(
            message_id=str(uuid.uuid4()), case_id=str(case.case_id), partner="HOST-OVH", format="native",
            transport="smtp", message_type="case.notify", payload=body, payload_sha256=payload_digest(body),
            signature=sign_payload(body, self.keyring.signing_key), created_at=now, next_attempt_at=now,
            deadline_at=now + 60,
        )


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    generate(tmp_path / "ours", "FR-PDC-1", owner="FR-PDC")
    mail = await MailServer().start()
    doc = {
        "gateway": {"id": "FR-PDC", "country": "FR", "keys_dir": str(tmp_path / "ours"),
                    "data_dir": str(tmp_path / "data")},
        "delivery": {"timeout_s": 2.0},
        "partners": [{"id": "HOST-OVH", "kind": "host", "country": "FR", "transport": "smtp", "format": "native",
                      "options": {"smtp_host": "127.0.0.1", "smtp_port": mail.port, "tls": "none",
                                  "from": "notices@fr-pdc.test", "abuse_contacts": {"*": "abuse@host.test"}}}],
    }
    (tmp_path / "config.toml").write_text(tomli_w.dumps(doc), encoding="utf-8")
    config = config_mod.load(tmp_path / "config.toml")
    keyring = KeyRing(config.keys_dir)
    transport = SmtpTransport(context(config, keyring=keyring, partner_keys=PartnerKeys(config.partner_key_paths())))
    yield Rig(transport, mail, config, keyring, tmp_path / "ours")
    await mail.stop()


async def test_notice_arrives_with_readable_text_the_report_and_a_signature_that_verifies(rig: Rig) -> None:
    d = rig.delivery()
    [outcome] = await rig.transport.send(rig.config.partner("HOST-OVH"), [d])
    assert outcome.error is None and outcome.receipt and "queued as" in outcome.receipt
    [mail] = rig.mail.received
    assert mail["To"] == "abuse@host.test" and d.message_id in mail["Subject"]
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    for item in registry.get("native").decode(d.payload)[0].items:
        assert item.url in text
    report, signature = [part.get_payload(decode=True) for part in mail.iter_attachments()]
    assert isinstance(report, bytes) and isinstance(signature, bytes)
    assert report == d.payload
    assert verify_detached(report, signature.decode(), KeyDirectory.load(rig.keys_dir)) == "FR-PDC-1"


async def test_a_deferring_mailbox_is_transient_so_the_outbox_retries(rig: Rig) -> None:
    rig.mail.defer_next(1)
    [outcome] = await rig.transport.send(rig.config.partner("HOST-OVH"), [rig.delivery()])
    assert isinstance(outcome.error, TransientDeliveryError) and "451" in outcome.error.message
    assert not rig.mail.received


async def test_an_unknown_mailbox_is_permanent_with_the_servers_reply(rig: Rig) -> None:
    rig.mail.unknown.add("abuse@host.test")
    [outcome] = await rig.transport.send(rig.config.partner("HOST-OVH"), [rig.delivery()])
    assert isinstance(outcome.error, PermanentDeliveryError) and "550" in outcome.error.message


async def test_a_server_that_is_down_is_transient(rig: Rig) -> None:
    await rig.mail.stop()
    with pytest.raises(TransientDeliveryError, match="unreachable"):
        await rig.transport.send(rig.config.partner("HOST-OVH"), [rig.delivery()])


async def test_no_abuse_contact_for_the_host_is_a_permanent_failure_saying_so(rig: Rig, tmp_path: Path) -> None:
    partner = rig.config.partner("HOST-OVH")
    bare = dataclasses.replace(partner, options={})
    [outcome] = await rig.transport.send(bare, [rig.delivery()])
    assert isinstance(outcome.error, PermanentDeliveryError) and outcome.error.code == "no_abuse_contact"


async def test_an_x_arf_notice_about_several_addresses_carries_one_report_and_one_signature_each(rig: Rig) -> None:
    """X-ARF has one report per document: the mail attaches each report with the detached JWS of its bytes,
    and every attachment is a document the official schema accepts as it is."""
    from hotline_gateway.core.model import Category
    from tests.adapters import official

    case = next(c for c in cases_hosted_in("FR", 40) if len(c.items) >= 3)
    case.category = Category.CSAM
    body = registry.get("xarf").encode(case)
    now = time.time()
    d = Delivery(message_id=str(uuid.uuid4()), case_id=str(case.case_id), partner="HOST-OVH", format="xarf",
                 transport="smtp", message_type="case.notify", payload=body, payload_sha256=payload_digest(body),
                 signature=sign_payload(body, rig.keyring.signing_key), created_at=now, next_attempt_at=now,
                 deadline_at=now + 60)
    [outcome] = await rig.transport.send(rig.config.partner("HOST-OVH"), [d])
    assert outcome.error is None
    [mail] = rig.mail.received
    parts: dict[str, bytes] = {}
    for part in mail.iter_attachments():
        content = part.get_payload(decode=True)
        assert isinstance(content, bytes)
        parts[str(part.get_filename())] = content
    reports = sorted(n for n in parts if not n.endswith(".jws"))
    assert len(reports) == len(case.items) and sorted(parts) == sorted([*reports, *(f"{n}.jws" for n in reports)])
    keys = KeyDirectory.load(rig.keys_dir)
    for name in reports:
        verify_detached(parts[name], parts[f"{name}.jws"].decode(), keys)
        assert official.xarf_errors(orjson.loads(parts[name])) == []
    assert sorted(orjson.loads(parts[n])["url"] for n in reports) == sorted(i.url or "" for i in case.items)
