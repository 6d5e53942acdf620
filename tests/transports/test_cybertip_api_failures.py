"""``cybertip-api`` failure modes beyond tests/delivery: 4110, timeouts on steps before finish, reports the
API forgot (expired, retracted), unreadable payloads, a missing password file; payloads built by hand."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from hotline_gateway.config import Partner
from hotline_gateway.core.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from hotline_gateway.store.interface import Store
from hotline_gateway.store.records import Delivery
from hotline_gateway.store.sqlite import SqliteStore
from hotline_gateway.transports.cybertip_api import CybertipApiTransport
from tests.support.transports import context
from tests.transports.conftest import TipApi, make_delivery, partner_config

PARTNER = "US-NCMEC"


def submission(files: int = 2) -> bytes:
    """What the cybertip adapter emits: one ``<report>`` and a ``<fileDetails>`` per item, synthetic values."""
    details = "".join(
        f"<fileDetails><originalFileName>IMG_{n}.jpg</originalFileName>"
        f"<locationOfFile>https://img{n}.example.org/p/{secrets.token_hex(4)}.jpg</locationOfFile>"
        f"<publiclyAvailable>true</publiclyAvailable><industryClassification>A1</industryClassification>"
        f'<originalFileHash hashType="MD5">{secrets.token_hex(16)}</originalFileHash></fileDetails>'
        for n in range(files))
    return (
        "<?xml version='1.0' encoding='UTF-8'?><submission><report>"
        "<incidentSummary><incidentType>Child Pornography (possession, manufacture, and distribution)</incidentType>"
        "<incidentDateTime>2025-03-01T10:15:00Z</incidentDateTime></incidentSummary>"
        "<internetDetails><webPageIncident><url>https://gallery.example.org/t/42</url></webPageIncident>"
        "</internetDetails><reporter><reportingOrganization>FR-PDC</reportingOrganization></reporter>"
        f"</report>{details}</submission>"
    ).encode()


@dataclass
class Rig:
    api: TipApi
    transport: CybertipApiTransport
    partner: Partner
    state: Store

    def delivery(self, body: bytes | None = None) -> Delivery:
        return make_delivery(submission() if body is None else body, partner=PARTNER, fmt="cybertip",
                             transport="cybertip-api")

    async def attempt(self, d: Delivery) -> tuple[str | None, DeliveryError | None]:
        [outcome] = await self.transport.send(self.partner, [d])
        return outcome.receipt, outcome.error


async def make_rig(tmp_path: Path, api: TipApi, **options: Any) -> AsyncIterator[Rig]:
    merged = {k: v for k, v in {"username": "fr-pdc", "password": "s3cret", "allow_insecure_http": True,
                                **options}.items() if v is not None}
    config = partner_config(tmp_path, {"id": PARTNER, "kind": "law_enforcement", "country": "US",
                                       "transport": "cybertip-api", "format": "cybertip",
                                       "endpoint": api.endpoint, "options": merged}, timeout_s=0.3)
    store = await SqliteStore.open(tmp_path / "store.sqlite")
    try:
        async with aiohttp.ClientSession() as session:
            state = store
            yield Rig(api, CybertipApiTransport(context(config, session, store=state)), config.partner(PARTNER), state)
    finally:
        await store.close()


@pytest.fixture
async def rig(tmp_path: Path, tip_api: TipApi) -> AsyncIterator[Rig]:
    async for r in make_rig(tmp_path, tip_api):
        yield r


async def test_4110_malformed_xml_on_submit_is_a_dead_letter_with_the_apis_message(rig: Rig) -> None:
    rig.api.sim.fail_next("submit", 4110)
    _, error = await rig.attempt(rig.delivery())
    assert isinstance(error, PermanentDeliveryError) and error.code == "partner_validation"
    assert "4110 Malformed XML" in error.message
    assert rig.api.sim.calls == ["submit"]  # no report id, nothing to retract


async def test_a_fileinfo_that_times_out_retracts_and_the_retry_files_one_fresh_report(rig: Rig) -> None:
    """Before finish nothing is irreversible: cancel the half report and start over, never finish it half."""
    d = rig.delivery()
    rig.api.sim.stall_next("fileinfo", 0.6)
    _, error = await rig.attempt(d)
    assert isinstance(error, TransientDeliveryError) and "no answer" in error.message
    assert rig.api.sim.calls[-1] == "retract"
    first = next(iter(rig.api.sim.reports.values()))
    assert first.retracted and not first.finished
    assert await rig.state.transport_state(d.message_id) is None
    receipt, error = await rig.attempt(d)
    assert error is None and receipt is not None
    [filed] = rig.api.sim.finished
    assert filed.report_id != first.report_id and len(filed.files) == 2
    assert orjson.loads(receipt)["report_id"] == filed.report_id


async def test_a_report_that_expired_between_steps_is_filed_afresh(rig: Rig) -> None:
    """A resumed delivery whose unfinished report the API forgot (5001) files a new one, not a dead letter."""
    d = rig.delivery()
    await rig.state.put_transport_state(d.message_id, {"report_id": "69999999", "files": 1})  # stored before a restart
    _, error = await rig.attempt(d)
    assert isinstance(error, TransientDeliveryError) and "refiling" in error.message
    assert rig.api.sim.calls == ["fileinfo"]
    receipt, error = await rig.attempt(d)
    assert error is None and receipt is not None
    [filed] = rig.api.sim.finished
    assert len(filed.files) == 2


async def test_an_expired_report_at_finish_is_filed_afresh_and_only_once(rig: Rig) -> None:
    d = rig.delivery()
    rig.api.sim.fail_next("finish", 1000)
    _, error = await rig.attempt(d)
    assert isinstance(error, TransientDeliveryError)
    [report_id] = rig.api.sim.reports
    rig.api.sim.expire(report_id)
    _, error = await rig.attempt(d)
    assert isinstance(error, TransientDeliveryError) and "5001" in error.message
    receipt, error = await rig.attempt(d)
    assert error is None and receipt is not None
    assert [r.report_id for r in rig.api.sim.finished] == [orjson.loads(receipt)["report_id"]]
    assert rig.api.sim.calls.count("submit") == 2


async def test_5101_at_finish_is_not_counted_as_filed(rig: Rig) -> None:
    """A retracted report was never filed: claiming success would lose it, so the delivery files it again."""
    d = rig.delivery()
    rig.api.sim.fail_next("finish", 5101)
    _, error = await rig.attempt(d)
    assert isinstance(error, TransientDeliveryError) and "5101" in error.message
    receipt, error = await rig.attempt(d)
    assert error is None and receipt is not None and len(rig.api.sim.finished) == 1


@pytest.mark.parametrize("body", [b"<submission><report>", b"<submission/>",
                                  b'<!DOCTYPE r [<!ENTITY x "y">]><submission><report/></submission>'])
async def test_a_payload_that_is_not_a_submission_is_a_dead_letter_not_a_crash(rig: Rig, body: bytes) -> None:
    _, error = await rig.attempt(rig.delivery(body))
    assert isinstance(error, PermanentDeliveryError) and error.code == "cannot_encode"
    assert rig.api.sim.calls == []


async def test_a_missing_password_file_is_a_configuration_dead_letter(tmp_path: Path, tip_api: TipApi) -> None:
    async for rig in make_rig(tmp_path, tip_api, password=None, password_file="secrets/cybertip-password"):
        _, error = await rig.attempt(rig.delivery())
        assert isinstance(error, PermanentDeliveryError) and error.code == "partner_configuration"
        assert rig.api.sim.calls == []


async def test_the_xml_sent_is_the_report_then_each_file_with_the_report_id_first(rig: Rig) -> None:
    """submit carries the ``<report>`` alone; each fileinfo is one ``<fileDetails>`` naming the report."""
    d = rig.delivery(submission(3))
    receipt, error = await rig.attempt(d)
    assert error is None and receipt is not None
    [filed] = rig.api.sim.finished
    assert filed.report.startswith(b"<report>") and b"fileDetails" not in filed.report
    assert len(filed.files) == 3
    assert all(f.startswith(f"<fileDetails><reportId>{filed.report_id}</reportId>".encode()) for f in filed.files)
