"""A partner's batch is parsed and opened in one hand-off when small and in two (only what is not already
held is opened) when large; both paths must answer every batch the same way."""

from __future__ import annotations

import base64
from pathlib import Path

import aiohttp
import orjson
import pytest

from hotline_gateway.api.state import SERVICES
from hotline_gateway.pipeline import receive
from hotline_gateway.service import RunningGateway
from tests.engine.federation import cases_hosted_in, message, signed_post, signing_key


@pytest.fixture(params=["small", "large"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "large":
        monkeypatch.setattr(receive, "SMALL_BATCH_BYTES", 0)  # every body takes the two-step path
    return str(request.param)


async def test_both_paths_answer_resends_bad_messages_and_reused_ids_alike(
    path: str, federation: dict[str, RunningGateway], fed_paths: dict[str, Path],
) -> None:
    de = federation["DE-HOTLINE"]
    key = signing_key(fed_paths["FR-PDC"].parent)
    url = f"{de.url}/v1/messages"
    first, second, third = (message(c, key, sender="FR-PDC", recipient="DE-HOTLINE") for c in cases_hosted_in("DE", 3))
    async with aiohttp.ClientSession() as s:
        status, _, answer = await signed_post(s, url, orjson.dumps({"messages": [first]}), key)
        assert status == 202
        [receipt] = orjson.loads(answer)["receipts"]
        # A resend whose bytes were damaged on the way (same id and claimed digest) is answered from the
        # store, never opened; the fresh message beside it is taken.
        damaged = {**first, "payload": base64.b64encode(b"damaged").decode()}
        status, _, answer = await signed_post(s, url, orjson.dumps({"messages": [damaged, second]}), key)
        assert status == 202, answer
        resent, fresh = orjson.loads(answer)["receipts"]
        assert resent == {**receipt, "duplicate": True} and "duplicate" not in fresh
        # A fresh message that does not verify refuses the batch, and nothing of it is stored.
        forged = {**third, "signatures": second["signatures"]}
        status, _, answer = await signed_post(s, url, orjson.dumps({"messages": [forged]}), key)
        assert (status, orjson.loads(answer)["code"]) == (401, "bad_signature")
        # An id used again for other content is refused before any message is opened.
        reused = {**third, "message_id": first["message_id"], "signatures": second["signatures"]}
        status, _, answer = await signed_post(s, url, orjson.dumps({"messages": [forged, reused]}), key)
        assert (status, orjson.loads(answer)["code"]) == (409, "message_id_reused")
    assert await de.app[SERVICES].store.count("inbound") == 2
