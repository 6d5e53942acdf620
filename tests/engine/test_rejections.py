"""Every way POST /v1/messages refuses a request: status, stable problem code, and nothing stored."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from pathlib import Path

import aiohttp
import orjson
import pytest

from hotline_gateway.api.state import SERVICES
from hotline_gateway.crypto.httpsig import Request, verify_response
from hotline_gateway.crypto.keydir import KeyDirectory, generate
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import wait_settled
from tests.engine.federation import cases_hosted_in, message, signed_post, signing_key

Fed = dict[str, RunningGateway]
Paths = dict[str, Path]
TABLES = ("inbound", "cases", "deliveries", "audit")


async def counts(gw: RunningGateway) -> dict[str, int]:
    store = gw.app[SERVICES].store
    return {t: await store.count(t) for t in TABLES}


def envelope(fed_paths: dict[str, Path], *, n: int = 1) -> bytes:
    key = signing_key(fed_paths["DE-HOTLINE"].parent)
    msgs = [message(c, key, sender="DE-HOTLINE", recipient="FR-PDC") for c in cases_hosted_in("FR", n)]
    return orjson.dumps({"messages": msgs})


async def rejected(
    gw: RunningGateway, status: int, body: bytes, code: str, before: dict[str, int]
) -> dict[str, object]:
    assert status != 202
    problem: dict[str, object] = orjson.loads(body)
    assert problem["code"] == code, problem
    assert await counts(gw) == before, "a rejected request must store nothing"
    return problem


@pytest.fixture
def url(federation: dict[str, RunningGateway]) -> str:
    return f"{federation['FR-PDC'].url}/v1/messages"


async def test_unsigned_request_is_refused_401_missing_signature(federation: Fed, fed_paths: Paths, url: str) -> None:
    fr = federation["FR-PDC"]
    before = await counts(fr)
    async with aiohttp.ClientSession() as s:
        status, _, body = await signed_post(
            s, url, envelope(fed_paths), signing_key(fed_paths["DE-HOTLINE"].parent), sign=False
        )
    assert status == 401
    await rejected(fr, status, body, "missing_signature", before)


async def test_body_changed_after_signing_is_refused_400_digest_mismatch(
    federation: Fed, fed_paths: Paths, url: str
) -> None:
    fr = federation["FR-PDC"]
    before = await counts(fr)
    body = envelope(fed_paths)
    tampered = body.replace(b'"case.notify"', b'"case.update"')
    async with aiohttp.ClientSession() as s:
        status, _, answer = await signed_post(
            s, url, body, signing_key(fed_paths["DE-HOTLINE"].parent), send_body=tampered
        )
    assert status == 400
    await rejected(fr, status, answer, "digest_mismatch", before)


async def test_signature_by_a_key_no_partner_owns_is_refused_401_unknown_key(
    federation: Fed, fed_paths: Paths, url: str, tmp_path: Path
) -> None:
    fr = federation["FR-PDC"]
    before = await counts(fr)
    generate(tmp_path / "stranger", "stranger-1", owner="XX-NOBODY")
    stranger = KeyDirectory.load(tmp_path / "stranger").active_signing_key()
    async with aiohttp.ClientSession() as s:
        status, _, body = await signed_post(s, url, envelope(fed_paths), stranger)
    assert status == 401
    await rejected(fr, status, body, "unknown_key", before)


async def test_forged_signature_is_refused_401_bad_signature(
    federation: Fed, fed_paths: Paths, url: str, tmp_path: Path
) -> None:
    fr = federation["FR-PDC"]
    before = await counts(fr)
    generate(tmp_path / "forger", "forger-1")
    forger = KeyDirectory.load(tmp_path / "forger").active_signing_key()
    de_key = signing_key(fed_paths["DE-HOTLINE"].parent)
    async with aiohttp.ClientSession() as s:  # DE's key id, someone else's private key
        status, _, body = await signed_post(s, url, envelope(fed_paths), replace(forger, kid=de_key.kid))
    assert status == 401
    await rejected(fr, status, body, "bad_signature", before)


async def test_request_created_outside_the_skew_window_is_refused_401_replay(
    federation: Fed, fed_paths: Paths, url: str
) -> None:
    fr = federation["FR-PDC"]
    before = await counts(fr)
    async with aiohttp.ClientSession() as s:
        status, _, body = await signed_post(
            s, url, envelope(fed_paths), signing_key(fed_paths["DE-HOTLINE"].parent), created=int(time.time()) - 301
        )
    assert status == 401
    await rejected(fr, status, body, "replay", before)


async def test_replayed_request_with_a_seen_nonce_is_refused_401_replay(
    federation: Fed, fed_paths: Paths, url: str
) -> None:
    fr = federation["FR-PDC"]
    key = signing_key(fed_paths["DE-HOTLINE"].parent)
    body = envelope(fed_paths)
    nonce = uuid.uuid4().hex
    async with aiohttp.ClientSession() as s:
        status, _, _ = await signed_post(s, url, body, key, nonce=nonce, created=int(time.time()))
        assert status == 202
        before = await counts(fr)
        status, _, answer = await signed_post(s, url, body, key, nonce=nonce, created=int(time.time()))
    assert status == 401
    await rejected(fr, status, answer, "replay", before)


async def test_body_over_the_limit_is_refused_413(federation: Fed, fed_paths: Paths, url: str) -> None:
    fr = federation["FR-PDC"]
    before = await counts(fr)
    big = orjson.dumps({"messages": [], "padding": "x" * (fr.config.max_body_bytes + 10)})
    async with aiohttp.ClientSession() as s:
        status, _, body = await signed_post(s, url, big, signing_key(fed_paths["DE-HOTLINE"].parent))
    assert status == 413
    await rejected(fr, status, body, "payload_too_large", before)


async def test_wrong_media_type_is_refused_415(federation: Fed, fed_paths: Paths, url: str) -> None:
    fr = federation["FR-PDC"]
    before = await counts(fr)
    async with aiohttp.ClientSession() as s:
        status, _, body = await signed_post(
            s, url, envelope(fed_paths), signing_key(fed_paths["DE-HOTLINE"].parent), content_type="text/plain"
        )
    assert status == 415
    await rejected(fr, status, body, "unsupported_media_type", before)


async def test_schema_violations_are_refused_422_naming_every_bad_field(
    federation: Fed, fed_paths: Paths, url: str
) -> None:
    fr = federation["FR-PDC"]
    before = await counts(fr)
    key = signing_key(fed_paths["DE-HOTLINE"].parent)
    doc = orjson.loads(envelope(fed_paths, n=2))
    doc["messages"][0]["type"] = "case.explode"
    del doc["messages"][1]["payload_sha256"]
    async with aiohttp.ClientSession() as s:
        status, _, body = await signed_post(s, url, orjson.dumps(doc), key)
    assert status == 422
    problem = await rejected(fr, status, body, "schema_violation", before)
    paths = {e["path"] for e in problem["errors"]}  # type: ignore[attr-defined]
    assert {"$.messages[0].type", "$.messages[1].payload_sha256"} <= paths


async def test_bad_case_inside_a_payload_is_refused_422_and_nothing_of_the_batch_is_stored(
    federation: Fed, fed_paths: Paths, url: str
) -> None:
    fr = federation["FR-PDC"]
    before = await counts(fr)
    key = signing_key(fed_paths["DE-HOTLINE"].parent)
    good, bad = cases_hosted_in("FR", 2)
    bad_payload = orjson.dumps({"case_id": str(bad.case_id), "category": "nonsense"})
    msgs = [
        message(good, key, sender="DE-HOTLINE", recipient="FR-PDC"),
        message(bad, key, sender="DE-HOTLINE", recipient="FR-PDC", payload=bad_payload),
    ]
    async with aiohttp.ClientSession() as s:
        status, _, body = await signed_post(s, url, orjson.dumps({"messages": msgs}), key)
    assert status == 422
    problem = await rejected(fr, status, body, "decode_error", before)
    assert "$.messages[1].payload" in str(problem["detail"])


async def test_media_bytes_are_refused_even_when_signed(federation: Fed, fed_paths: Paths, url: str) -> None:
    fr = federation["FR-PDC"]
    before = await counts(fr)
    key = signing_key(fed_paths["DE-HOTLINE"].parent)
    (case,) = cases_hosted_in("FR", 1)
    jpeg = b"\xff\xd8\xff\xe0" + bytes(64)
    msgs = [message(case, key, sender="DE-HOTLINE", recipient="FR-PDC", payload=jpeg)]
    async with aiohttp.ClientSession() as s:
        status, _, body = await signed_post(s, url, orjson.dumps({"messages": msgs}), key)
    assert status == 422
    await rejected(fr, status, body, "media_refused", before)


async def test_payload_signed_by_another_key_is_refused_even_inside_a_signed_request(
    federation: Fed, fed_paths: Paths, url: str, tmp_path: Path
) -> None:
    fr = federation["FR-PDC"]
    before = await counts(fr)
    key = signing_key(fed_paths["DE-HOTLINE"].parent)
    generate(tmp_path / "other", "other-1")
    other = replace(KeyDirectory.load(tmp_path / "other").active_signing_key(), kid=key.kid)
    (case,) = cases_hosted_in("FR", 1)
    msgs = [message(case, other, sender="DE-HOTLINE", recipient="FR-PDC")]
    async with aiohttp.ClientSession() as s:
        status, _, body = await signed_post(s, url, orjson.dumps({"messages": msgs}), key)
    assert status == 401
    await rejected(fr, status, body, "bad_signature", before)


async def test_resent_message_id_returns_the_original_receipt_and_is_stored_once(
    federation: Fed, fed_paths: Paths, url: str
) -> None:
    fr = federation["FR-PDC"]
    key = signing_key(fed_paths["DE-HOTLINE"].parent)
    body = envelope(fed_paths)
    async with aiohttp.ClientSession() as s:
        status, _, first = await signed_post(s, url, body, key)
        assert status == 202
        await wait_settled(fr, 10)  # FR routes the case on to its police, whose delivery adds an audit entry
        after_first = await counts(fr)
        status, _, second = await signed_post(s, url, body, key)  # same message id, fresh signature and nonce
        assert status == 202
    r1, r2 = orjson.loads(first)["receipts"][0], orjson.loads(second)["receipts"][0]
    assert r2["jws"] == r1["jws"] and r2["duplicate"] is True
    assert await counts(fr) == after_first


async def test_responses_to_partners_are_signed_even_when_they_refuse(
    federation: Fed, fed_paths: Paths, url: str
) -> None:
    fr = federation["FR-PDC"]
    fr_keys = KeyDirectory.load(fr.config.keys_dir)
    sent: dict[str, str] = {}
    async with aiohttp.ClientSession() as s:
        status, headers, _ = await signed_post(
            s, url, envelope(fed_paths), signing_key(fed_paths["DE-HOTLINE"].parent), content_type="text/plain",
            sent=sent,
        )
    assert status == 415
    verify_response(status=status, headers=headers, resolve=fr_keys.resolve, request=Request("POST", url, sent))
