"""A partner's answer is believed only once verified, bound to our request, and well-formed
(security review, issue 9 items 6, 9 and 10).

FR-PDC delivers to DE-HOTLINE through a puppet on the path: by default it relays to the real DE
gateway; a test makes it answer instead — unsigned, with a signed answer recorded for another request,
with a signed 202 whose receipts are malformed, or with 400 MB.
"""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import orjson
import pytest
import tomli_w
from aiohttp import web

from hotline_gateway import config as config_mod
from hotline_gateway.api.state import SERVICES
from hotline_gateway.crypto.digest import content_digest
from hotline_gateway.crypto.httpsig import Request, sign_response
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import wait_settled, write_federation
from hotline_gateway.store.records import DeliveryState
from tests.engine.federation import cases_hosted_in, signing_key, submit
from tests.support.waiting import eventually

Answer = Callable[[web.Request, bytes], Awaitable[web.StreamResponse]]


@dataclass
class Puppet:
    """Stands where DE's endpoint is; relays to the real DE unless told to answer otherwise."""

    upstream: str
    scripted: list[Answer] = field(default_factory=list)
    recorded: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    requests: int = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        body = await request.read()
        if self.scripted:
            return await self.scripted.pop(0)(request, body)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with aiohttp.ClientSession() as s, s.post(self.upstream, data=body, headers=headers) as r:
            data = await r.read()
            out = {k: v for k, v in r.headers.items()
                   if k.lower() not in ("content-length", "transfer-encoding", "date", "server")}
            self.recorded.append((r.status, out, data))
            return web.Response(status=r.status, body=data, headers=out)


@dataclass
class Rig:
    fr: RunningGateway
    de: RunningGateway
    puppet: Puppet
    de_root: Path


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    paths = write_federation(tmp_path)
    puppet = Puppet("")
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/messages", puppet.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    front = f"http://127.0.0.1:{site.port}"
    de_doc = tomllib.loads(paths["DE-HOTLINE"].read_text())
    de_doc["gateway"]["public_url"] = front  # the puppet stands in front of DE, as a reverse proxy would
    paths["DE-HOTLINE"].write_text(tomli_w.dumps(de_doc))
    de = await RunningGateway(config_mod.load(paths["DE-HOTLINE"])).start()
    puppet.upstream = f"{de.url}/v1/messages"
    doc = tomllib.loads(paths["FR-PDC"].read_text())
    for p in doc["partners"]:
        if p["id"] == "DE-HOTLINE":
            p["endpoint"] = f"{front}/v1/messages"
    doc["delivery"].update(base_delay_s=0.05, max_delay_s=0.2, circuit_failures=1000)
    paths["FR-PDC"].write_text(tomli_w.dumps(doc))
    fr = await RunningGateway(config_mod.load(paths["FR-PDC"])).start()
    yield Rig(fr, de, puppet, paths["DE-HOTLINE"].parent)
    await fr.stop()
    await runner.cleanup()
    await de.stop()


async def deliveries(rig: Rig) -> list[DeliveryState]:
    return [d.state for d in await rig.fr.app[SERVICES].store.deliveries("DE-HOTLINE")]


async def unsigned_refusal(request: web.Request, body: bytes) -> web.Response:
    problem = {"type": "urn:x", "title": "no", "status": 422, "code": "schema_violation", "detail": "forged"}
    return web.Response(status=422, body=orjson.dumps(problem), content_type="application/problem+json")


async def test_an_unsigned_refusal_on_the_path_is_retried_never_dead_lettered(rig: Rig) -> None:
    """One forged 422 used to dead-letter the delivery; now it is a failed attempt, and the next attempt
    (relayed to the real DE) delivers it with a verified receipt."""
    rig.puppet.scripted += [unsigned_refusal, unsigned_refusal]
    async with aiohttp.ClientSession() as s:
        await submit(s, rig.fr, cases_hosted_in("DE", 1))
    await wait_settled(rig.fr, 30)
    assert await deliveries(rig) == [DeliveryState.DELIVERED]
    assert rig.puppet.requests >= 3


async def test_a_signed_answer_replayed_for_another_request_is_not_believed(rig: Rig) -> None:
    """DE's genuine signed refusal of one request, replayed as the answer to another, does not verify:
    it is bound to the request it answered, so the delivery is retried and then delivered."""
    de_key = signing_key(rig.de_root)
    problem = orjson.dumps({"type": "urn:x", "title": "no", "status": 422, "code": "schema_violation",
                            "detail": "genuine refusal of another request"})
    other = Request("POST", "http://127.0.0.1:1/v1/messages", {"Signature": "sig1=:AAAA:"})
    headers = {"Content-Type": "application/problem+json", "Content-Digest": content_digest(problem)}
    headers.update(sign_response(status=422, headers=headers, kid=de_key.kid, private_key=de_key.private,
                                 request=other))

    async def replayed(request: web.Request, body: bytes) -> web.Response:
        return web.Response(status=422, body=problem, headers=headers)

    rig.puppet.scripted.append(replayed)
    async with aiohttp.ClientSession() as s:
        await submit(s, rig.fr, cases_hosted_in("DE", 1))
    await wait_settled(rig.fr, 30)
    assert await deliveries(rig) == [DeliveryState.DELIVERED]


def signed_202(de_root: Path, document: object) -> Answer:
    """A 202 properly signed by DE (and bound to the request) whose receipts are malformed."""

    async def answer(request: web.Request, body: bytes) -> web.Response:
        key = signing_key(de_root)
        data = orjson.dumps(document)
        headers = {"Content-Type": "application/json", "Content-Digest": content_digest(data)}
        bound = Request("POST", str(request.url), request.headers)
        headers.update(sign_response(status=202, headers=headers, kid=key.kid, private_key=key.private,
                                     request=bound))
        return web.Response(status=202, body=data, headers=headers)

    return answer


@pytest.mark.parametrize("document", [
    {"receipts": ["not an object"]},
    {"receipts": {"jws": "x"}},
    {"receipts": [{"jws": 42, "duplicate": "yes"}]},
    {"receipts": [None]},
    ["receipts"],
    {"nothing": True},
], ids=["string-receipt", "object-not-list", "jws-not-a-string", "null-receipt", "top-level-list", "missing"])
async def test_a_signed_202_with_malformed_receipts_is_a_failed_attempt_not_a_stuck_batch(
    rig: Rig, document: object,
) -> None:
    rig.puppet.scripted.append(signed_202(rig.de_root, document))
    async with aiohttp.ClientSession() as s:
        await submit(s, rig.fr, cases_hosted_in("DE", 1))
    await wait_settled(rig.fr, 30)
    assert await deliveries(rig) == [DeliveryState.DELIVERED]


async def test_a_verified_refusal_still_dead_letters(rig: Rig) -> None:
    """The other side of the coin: DE's own signed 4xx, bound to our request, is believed."""
    de_key = signing_key(rig.de_root)

    async def refuse(request: web.Request, body: bytes) -> web.Response:
        problem = orjson.dumps({"type": "urn:x", "title": "no", "status": 422, "code": "schema_violation",
                                "detail": "refused"})
        headers = {"Content-Type": "application/problem+json", "Content-Digest": content_digest(problem)}
        headers.update(sign_response(status=422, headers=headers, kid=de_key.kid, private_key=de_key.private,
                                     request=Request("POST", str(request.url), request.headers)))
        return web.Response(status=422, body=problem, headers=headers)

    rig.puppet.scripted.append(refuse)
    async with aiohttp.ClientSession() as s:
        await submit(s, rig.fr, cases_hosted_in("DE", 1))
    await eventually(lambda: _is(rig, DeliveryState.DEAD), what="dead letter")
    [d] = await rig.fr.app[SERVICES].store.deliveries("DE-HOTLINE")
    assert d.last_error is not None and "schema_violation" in d.last_error


async def _is(rig: Rig, state: DeliveryState) -> bool:
    return await deliveries(rig) == [state]


async def test_an_endless_answer_is_cut_off_and_retried(rig: Rig) -> None:
    """A 400 MB answer is not buffered: reading stops at the answer limit, the attempt fails and is
    retried; the gateway's memory does not follow the answer."""

    async def flood(request: web.Request, body: bytes) -> web.StreamResponse:
        response = web.StreamResponse(status=202, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        chunk = b" " * (1024 * 1024)
        try:
            for _ in range(400):
                await response.write(chunk)
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            pass
        return response

    rig.puppet.scripted.append(flood)
    async with aiohttp.ClientSession() as s:
        await submit(s, rig.fr, cases_hosted_in("DE", 1))
    await wait_settled(rig.fr, 60)
    assert await deliveries(rig) == [DeliveryState.DELIVERED]
