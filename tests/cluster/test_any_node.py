"""Any node answers any request (issue 13 item 4): two nodes of FR-PDC on one PostgreSQL database, in
this process, each on its own port with the same keys. A case submitted to one is read from the other;
partners' messages are receipted by either under the one gateway identity; a request replayed to the
other node is refused; an operator signed in on one is known to the other."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import orjson
import pytest

from hotline_gateway import config as config_mod
from hotline_gateway.crypto.digest import content_digest
from hotline_gateway.crypto.httpsig import sign_request
from hotline_gateway.crypto.keydir import KeyDirectory
from hotline_gateway.crypto.keys import SigningKey
from hotline_gateway.crypto.receipts import verify_receipt
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import OPERATOR_PASSWORD, TOKEN
from tests.cluster.nodes import node_configs
from tests.engine.federation import ENVELOPE, cases_hosted_in, message, signing_key, submit


@pytest.fixture
async def two_nodes(fed_paths: dict[str, Path], pg_url: str) -> AsyncIterator[list[RunningGateway]]:
    """Two nodes behind one public URL (the first node's address stands for the load balancer's)."""
    fr = config_mod.load(fed_paths["FR-PDC"])
    paths = node_configs(fed_paths["FR-PDC"], pg_url, gateway={"public_url": f"http://127.0.0.1:{fr.port}"})
    gateways = [RunningGateway(config_mod.load(p)) for p in paths]
    for gw in gateways:
        await gw.start()
    yield gateways
    for gw in gateways:
        await gw.stop()


async def test_a_case_submitted_to_one_node_is_read_from_the_other(two_nodes: list[RunningGateway]) -> None:
    a, b = two_nodes
    [case] = cases_hosted_in("NL", 1)
    async with aiohttp.ClientSession() as http:
        await submit(http, a, [case])
        async with http.get(f"{b.url}/v1/cases/{case.case_id}", headers={"Authorization": f"Bearer {TOKEN}"}) as r:
            assert r.status == 200
            assert (await r.json())["case"]["case_id"] == str(case.case_id)


def signed_headers(url: str, body: bytes, key: SigningKey) -> dict[str, str]:
    """DE's headers for a request to ``url`` (the public address), whichever node it then reaches."""
    headers = {"Content-Type": ENVELOPE, "Content-Digest": content_digest(body)}
    headers.update(sign_request(method="POST", target_uri=url, headers=headers, kid=key.kid, private_key=key.private,
                                created=int(time.time()), nonce=uuid.uuid4().hex))
    return headers


async def test_both_nodes_receipt_as_one_gateway_and_a_replay_to_the_other_node_is_refused(
    two_nodes: list[RunningGateway], fed_paths: dict[str, Path]
) -> None:
    a, b = two_nodes
    public = f"{a.url}/v1/messages"  # the load balancer's address, which either node may answer
    de_key = signing_key(fed_paths["DE-HOTLINE"].parent)
    async with aiohttp.ClientSession() as http:
        jwks = []
        for gw in (a, b):
            async with http.get(f"{gw.url}/.well-known/hotline-gateway/keys") as r:
                jwks.append(await r.json())
        assert jwks[0] == jwks[1]
        fr_keys = KeyDirectory.from_jwks(jwks[0])
        for n, (gw, other) in enumerate(((a, b), (b, a))):
            [case] = cases_hosted_in("NL", 1, seed=11 + n, originator="DE-HOTLINE")
            msg = message(case, de_key, sender="DE-HOTLINE", recipient="FR-PDC")
            body = orjson.dumps({"messages": [msg]})
            headers = signed_headers(public, body, de_key)
            async with http.post(f"{gw.url}/v1/messages", data=body, headers=headers) as r:
                assert r.status == 202, await r.read()
                receipt = (await r.json())["receipts"][0]
            verified = verify_receipt(receipt["jws"], fr_keys, message_id=msg["message_id"],
                                      payload_sha256=msg["payload_sha256"], receiver="FR-PDC")
            assert verified.receiver == "FR-PDC"
            # the very same request again, passed to the other node: its nonce is spent for every node
            async with http.post(f"{other.url}/v1/messages", data=body, headers=headers) as r:
                assert r.status == 401 and (await r.json())["code"] == "replay"


async def test_an_operator_signed_in_on_one_node_is_signed_in_on_the_other(two_nodes: list[RunningGateway]) -> None:
    a, b = two_nodes
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(f"{a.url}/status/login", data={"password": OPERATOR_PASSWORD},
                             allow_redirects=False) as r:
            assert r.status == 303
        async with http.get(f"{b.url}/status", allow_redirects=False) as page:
            assert page.status == 200 and "csrf" in await page.text()
