"""The hostile XML corpus through every XML entry point of the gateway, not only the parser:

- ``translate`` on the command line (in process for the whole matrix, and as a real subprocess for every
  attack, the encodings taken in turn): exit 2, one line naming the file, no secret, same answer
  whether the named file exists;
- the CyberTipline transport reading the API's answers: an API answering hostile XML is a transient
  failure, nothing read, nothing fetched;
- ``POST /v1/messages``: a partner's signed message of format ``iodef`` carrying each document is refused
  422 with the stable code ``decode_error``, nothing is stored, and the gateway still answers.

The in-process ones run twice: with the byte-level shortcut and with the parser alone.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from hotline_gateway.api.state import SERVICES
from hotline_gateway.cli.main import main
from hotline_gateway.core.errors import DecodeError, TransientDeliveryError
from hotline_gateway.crypto.jws import sign_detached
from hotline_gateway.service import RunningGateway
from hotline_gateway.store.sqlite import SqliteStore
from hotline_gateway.transports.cybertip_api import CybertipApiTransport
from tests.engine.federation import signed_post, signing_key
from tests.hostile.corpus import LIMIT_S, MARKER, Witnesses, bounded, documents, rotation
from tests.support.transports import context
from tests.transports.conftest import make_delivery, partner_config, serve


@pytest.mark.slow
def test_translate_refuses_every_document_with_exit_2_and_one_line(
    early_refusal: str, witnesses: Witnesses, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """In process (the whole matrix): the CLI's own error mapping, the same code path as the command."""
    present = dict(documents(witnesses.secret, witnesses))
    absent = dict(documents(witnesses.absent, witnesses))
    infile = tmp_path / "in.xml"
    for label, data in present.items():
        answers = []
        for doc in (data, absent[label]):
            infile.write_bytes(doc)
            _, error, code = bounded(lambda: main(["translate", "--from", "iodef", "--to", "native", str(infile)]),
                                     LIMIT_S)
            assert error is None, f"{label}: {error!r}"
            out, err = capsys.readouterr()
            assert code == 2, f"{label}: exit {code}, {err}"
            assert out == "" and err.count("\n") == 1 and str(infile) in err, f"{label}: {err!r}"
            assert MARKER not in err
            answers.append(err)
        assert answers[0] == answers[1], f"{label}: the answer depends on whether the file exists"
    assert witnesses.hits == []


@pytest.mark.slow
def test_translate_as_a_subprocess_refuses_each_attack_with_exit_2_and_one_line(
    witnesses: Witnesses, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real command on every attack (encodings taken in turn), all started at once."""
    runs = []
    started = time.perf_counter()
    for n, (label, data) in enumerate(rotation(witnesses.secret, witnesses)):
        infile = tmp_path / f"in-{n:02d}.xml"
        infile.write_bytes(data)
        runs.append((label, infile, subprocess.Popen(
            [sys.executable, "-m", "hotline_gateway.cli.main", "translate", "--from", "iodef", "--to", "native",
             str(infile)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    for label, infile, proc in runs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 2, f"{label}: {proc.returncode} {err}"
        assert out == "" and err.count("\n") == 1 and str(infile) in err, f"{label}: {err!r}"
        assert MARKER not in err
    assert witnesses.hits == []
    with capsys.disabled():
        print(f"\ntranslate subprocess: {len(runs)} attacks refused, {time.perf_counter() - started:.1f} s for all")


# --- the CyberTipline transport reading API answers ------------------------------------------------


class HostileApi:
    """An API that answers every call with whatever document the test sets."""

    def __init__(self) -> None:
        self.answer = b""

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=self.answer, content_type="application/xml")


@pytest.fixture
async def hostile_api() -> AsyncIterator[tuple[HostileApi, str]]:
    api = HostileApi()
    app = web.Application()
    app.router.add_post("/{step}", api.handle)
    runner, port = await serve(app)
    yield api, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_cybertip_transport_reads_hostile_answers_as_a_transient_failure_with_nothing_read(
    early_refusal: str, witnesses: Witnesses, tmp_path: Path, hostile_api: tuple[HostileApi, str]
) -> None:
    api, endpoint = hostile_api
    config = partner_config(tmp_path, {"id": "US-NCMEC", "kind": "law_enforcement", "country": "US",
                                       "transport": "cybertip-api", "format": "cybertip", "endpoint": endpoint,
                                       "options": {"username": "u", "password": "p", "allow_insecure_http": True}},
                            timeout_s=5)
    partner = config.partner("US-NCMEC")
    store = await SqliteStore.open(tmp_path / "store.sqlite")
    body = (b"<submission><report><incidentSummary><incidentType>Child Pornography (possession, manufacture, and "
            b"distribution)</incidentType></incidentSummary></report></submission>")
    try:
        async with aiohttp.ClientSession() as session:
            transport = CybertipApiTransport(context(config, session, store=store))
            present = dict(documents(witnesses.secret, witnesses))
            absent = dict(documents(witnesses.absent, witnesses))
            for label, data in present.items():
                answers = []
                for doc in (data, absent[label]):
                    api.answer = doc
                    started = time.perf_counter()
                    [outcome] = await transport.send(partner, [make_delivery(body, partner="US-NCMEC", fmt="cybertip",
                                                                             transport="cybertip-api")])
                    assert time.perf_counter() - started < LIMIT_S, label
                    assert isinstance(outcome.error, TransientDeliveryError), f"{label}: {outcome!r}"
                    assert MARKER not in outcome.error.message
                    answers.append(outcome.error.message)
                assert answers[0] == answers[1], label
    finally:
        await store.close()
    assert witnesses.hits == []


# --- POST /v1/messages --------------------------------------------------------------------------------


def iodef_message(payload: bytes, key: Any) -> dict[str, Any]:
    return {
        "message_id": str(uuid.uuid4()), "type": "case.notify", "sender": "DE-HOTLINE", "recipient": "FR-PDC",
        "created": "2026-11-24T10:00:00Z", "case_id": str(uuid.uuid4()), "format": "iodef",
        "payload": base64.b64encode(payload).decode(), "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "signatures": [{"kid": key.kid, "jws": sign_detached(payload, key)}],
    }


async def test_signed_partner_messages_carrying_hostile_iodef_are_refused_422_with_nothing_stored(
    early_refusal: str, witnesses: Witnesses, federation: dict[str, RunningGateway], fed_paths: dict[str, Path]
) -> None:
    fr = federation["FR-PDC"]
    store = fr.app[SERVICES].store
    tables = ("inbound", "cases", "deliveries")
    before = {t: await store.count(t) for t in tables}
    key = signing_key(fed_paths["DE-HOTLINE"].parent)
    url = f"{fr.url}/v1/messages"
    present = dict(documents(witnesses.secret, witnesses))
    absent = dict(documents(witnesses.absent, witnesses))
    slowest = 0.0
    async with aiohttp.ClientSession() as session:
        for label, data in present.items():
            answers = []
            for doc in (data, absent[label]):
                body = orjson.dumps({"messages": [iodef_message(doc, key)]})
                started = time.perf_counter()
                status, _, answer = await signed_post(session, url, body, key)
                slowest = max(slowest, time.perf_counter() - started)
                problem = orjson.loads(answer)
                assert status == 422 and problem["code"] == "decode_error", f"{label}: {status} {problem}"
                assert MARKER not in answer.decode()
                answers.append(problem["detail"])
            assert answers[0] == answers[1], label
        async with session.get(f"{fr.url}/healthz") as health:
            assert health.status == 200
    assert {t: await store.count(t) for t in tables} == before, "a refused message must store nothing"
    assert witnesses.hits == []
    assert slowest < LIMIT_S


def test_decode_error_names_the_refusal_not_the_file() -> None:
    """The DOCTYPE answer is one sentence for every attack: nothing in it comes from outside the document."""
    from hotline_gateway.core import xmlsafe

    with pytest.raises(DecodeError) as one:
        xmlsafe.parse(b'<!DOCTYPE r SYSTEM "file:///etc/passwd"><r/>', fmt="iodef", early_refusal=False)
    with pytest.raises(DecodeError) as other:
        xmlsafe.parse(b'<!DOCTYPE r SYSTEM "file:///etc/nonexist"><r/>', fmt="iodef", early_refusal=False)
    assert one.value.message == other.value.message
