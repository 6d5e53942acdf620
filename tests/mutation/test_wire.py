"""Malformed documents over the wire: mutated STIX, X-ARF and IODEF in signed partner messages -- every answer
an acceptance or a clear refusal (422 problem with a stable code), never a 500, and the gateway still
answers afterwards. (TAXII "add objects" gets the same mutations in tests/taxii.)"""

from __future__ import annotations

import base64
import hashlib
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from hotline_gateway.adapters import registry
from hotline_gateway.crypto.jws import sign_detached
from hotline_gateway.service import RunningGateway
from tests.engine.federation import signed_post, signing_key
from tests.mutation.mutator import json_mutations, xml_mutations
from tests.mutation.test_decoders import corpus

EVERY = 23  # a spread sample of each format's mutations (the decoder tests run all of them in process)


def sample(fmt: str) -> list[tuple[str, bytes]]:
    mutate = xml_mutations if "xml" in registry.get(fmt).media_type else json_mutations
    everything = [(f"{name} {label}", data) for name, doc in corpus(fmt) for label, data in mutate(doc)]
    return everything[::EVERY]


def partner_message(fmt: str, payload: bytes, key: Any) -> dict[str, Any]:
    return {
        "message_id": str(uuid.uuid4()), "type": "case.notify", "sender": "DE-HOTLINE", "recipient": "FR-PDC",
        "created": "2026-11-24T10:00:00Z", "case_id": str(uuid.uuid4()), "format": fmt,
        "payload": base64.b64encode(payload).decode(), "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "signatures": [{"kid": key.kid, "jws": sign_detached(payload, key)}],
    }


@pytest.mark.parametrize("fmt", ["stix", "xarf", "iodef"])
async def test_mutated_documents_in_partner_messages_are_accepted_or_refused_422_never_500(
    fmt: str, federation: dict[str, RunningGateway], fed_paths: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    fr = federation["FR-PDC"]
    key = signing_key(fed_paths["DE-HOTLINE"].parent)
    statuses: dict[int, int] = {}
    async with aiohttp.ClientSession() as session:
        for label, data in sample(fmt):
            body = orjson.dumps({"messages": [partner_message(fmt, data, key)]})
            status, _, answer = await signed_post(session, f"{fr.url}/v1/messages", body, key)
            statuses[status] = statuses.get(status, 0) + 1
            assert status in (202, 413, 422), f"{label}: {status} {answer[:300]!r}"
            if status != 202:
                assert orjson.loads(answer)["code"] in ("decode_error", "media_refused", "payload_too_large"), label
        async with session.get(f"{fr.url}/healthz") as health:
            assert health.status == 200
    with capsys.disabled():
        print(f"\n/v1/messages {fmt}: {sum(statuses.values())} mutated messages, answers {statuses}")
