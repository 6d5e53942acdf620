"""Test helpers: a loopback federation built from the demo's configs, and a partner that signs by hand."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from hotline_gateway.core.model import ActionType, Case, CaseStatus, LegalClass, dump_case
from hotline_gateway.crypto.digest import content_digest
from hotline_gateway.crypto.httpsig import sign_request
from hotline_gateway.crypto.jws import sign_detached
from hotline_gateway.crypto.keydir import KeyDirectory
from hotline_gateway.crypto.keys import SigningKey
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import TOKEN
from hotline_gateway.sim.samples import generate_cases

ENVELOPE = "application/vnd.hotline-gateway.messages+json"


def signing_key(root: Path) -> SigningKey:
    return KeyDirectory.load(root / "keys").active_signing_key()


def cases_hosted_in(country: str, count: int, seed: int = 7, originator: str = "FR-PDC") -> list[Case]:
    """Generated cases whose items are all illegal, standing (none retracted) and hosted in ``country`` (so
    routing is predictable)."""
    out = []
    for case in generate_cases(count, seed=seed, originator=originator):
        if case.status is CaseStatus.RETRACTED:
            case.status = CaseStatus.ASSESSED
        for item in case.items:
            item.actions = [a for a in item.actions if a.type is not ActionType.RETRACTED]
            item.assigned_country = country
            if item.legal_class not in (LegalClass.BASELINE, LegalClass.NATIONAL):
                item.legal_class = LegalClass.BASELINE
        out.append(case)
    return out


def message(
    case: Case,
    key: SigningKey,
    *,
    sender: str,
    recipient: str,
    message_id: str | None = None,
    payload: bytes | None = None,
) -> dict[str, Any]:
    body = payload if payload is not None else orjson.dumps(dump_case(case), option=orjson.OPT_SORT_KEYS)
    return {
        "message_id": message_id or str(uuid.uuid4()),
        "type": "case.notify",
        "sender": sender,
        "recipient": recipient,
        "created": "2026-11-24T10:00:00Z",
        "case_id": str(case.case_id),
        "format": "native",
        "payload": base64.b64encode(body).decode(),
        "payload_sha256": hashlib.sha256(body).hexdigest(),
        "signatures": [{"kid": key.kid, "jws": sign_detached(body, key)}],
    }


async def signed_post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    key: SigningKey,
    *,
    created: int | None = None,
    nonce: str | None = None,
    content_type: str = ENVELOPE,
    send_body: bytes | None = None,
    headers_extra: dict[str, str] | None = None,
    sign: bool = True,
    sent: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """POST ``body`` signed as the partner holding ``key``; ``send_body`` lets a test change bytes after signing."""
    headers = {"Content-Type": content_type, "Content-Digest": content_digest(body)}
    if sign:
        headers.update(
            sign_request(
                method="POST",
                target_uri=url,
                headers=headers,
                kid=key.kid,
                private_key=key.private,
                created=created if created is not None else int(time.time()),
                nonce=nonce,
            )
        )
    headers.update(headers_extra or {})
    if sent is not None:
        sent.update(headers)  # what went out, to verify the answer's binding to this request
    async with session.post(url, data=send_body if send_body is not None else body, headers=headers) as r:
        return r.status, dict(r.headers), await r.read()


async def submit(session: aiohttp.ClientSession, gw: RunningGateway, cases: list[Case]) -> dict[str, Any]:
    async with session.post(
        f"{gw.url}/v1/cases",
        data=orjson.dumps([dump_case(c) for c in cases]),
        headers={"Authorization": f"Bearer {gw.config.intake_token or TOKEN}", "Content-Type": "application/json"},
    ) as r:
        body = await r.read()
        assert r.status == 202, body
        result: dict[str, Any] = orjson.loads(body)
        return result
