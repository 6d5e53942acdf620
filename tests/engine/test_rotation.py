"""Key rotation in service: new messages use the new key; the old one is honoured until its not_after."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import orjson

from hotline_gateway.api.state import SERVICES
from hotline_gateway.crypto.keydir import KeyDirectory, rotate
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import wait_settled
from tests.engine.federation import cases_hosted_in, message, signed_post, signing_key, submit


def publish_to_partner(gw_root: Path, reader: RunningGateway, partner_id: str) -> Path:
    """What an operator does after rotating: hand the partner our new public keys (JWKS), where it reads them."""
    copy = reader.config.partners[partner_id].keys
    assert copy is not None
    copy.write_bytes(orjson.dumps(KeyDirectory.load(gw_root / "keys").to_jwks()))
    return copy


async def test_after_rotation_messages_are_signed_with_the_new_key_and_the_partner_accepts_them(
    federation: dict[str, RunningGateway], fed_paths: dict[str, Path]
) -> None:
    fr, de = federation["FR-PDC"], federation["DE-HOTLINE"]
    fr_root = fed_paths["FR-PDC"].parent
    rotate(fr_root / "keys", "FR-PDC-2027", overlap_days=7)
    publish_to_partner(fr_root, de, "FR-PDC")
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, cases_hosted_in("DE", 2))
    await wait_settled(fr, 30)
    deliveries = await fr.app[SERVICES].store.deliveries()
    assert all(d.receipt for d in deliveries)
    assert all(d.signature.split(".")[0] for d in deliveries)
    kids = {orjson.loads(base64.urlsafe_b64decode(d.signature.split(".")[0] + "=="))["kid"] for d in deliveries}
    assert kids == {"FR-PDC-2027"}
    assert await de.app[SERVICES].store.count("inbound") == 2


async def test_a_message_under_the_old_key_is_accepted_until_its_not_after_then_refused(
    federation: dict[str, RunningGateway], fed_paths: dict[str, Path]
) -> None:
    de_root = fed_paths["DE-HOTLINE"].parent
    old = signing_key(de_root)
    rotate(de_root / "keys", "DE-HOTLINE-2027", overlap_days=7)
    fr_copy = publish_to_partner(de_root, federation["FR-PDC"], "DE-HOTLINE")
    url = f"{federation['FR-PDC'].url}/v1/messages"
    case_a, case_b = cases_hosted_in("FR", 2)
    async with aiohttp.ClientSession() as s:
        body = orjson.dumps({"messages": [message(case_a, old, sender="DE-HOTLINE", recipient="FR-PDC")]})
        status, _, _ = await signed_post(s, url, body, old)
        assert status == 202
        # Time passes beyond the overlap: FR's copy of DE's keyring says the old key has expired.
        jwks = orjson.loads(fr_copy.read_bytes())
        past = (datetime.now(UTC) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for k in jwks["keys"]:
            if k["kid"] == old.kid:
                k["not_before"], k["not_after"] = "2026-01-01T00:00:00Z", past
        fr_copy.write_bytes(orjson.dumps(jwks))
        body = orjson.dumps({"messages": [message(case_b, old, sender="DE-HOTLINE", recipient="FR-PDC")]})
        status, _, answer = await signed_post(s, url, body, old)
    assert (status, orjson.loads(answer)["code"]) == (401, "key_expired")
