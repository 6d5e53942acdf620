"""A law-enforcement (or platform) endpoint that takes signed documents over ``https``, as a real one would.

It refuses what a careful receiver refuses — unsigned or badly signed requests, a digest that does
not match, a replayed nonce, a payload JWS that does not verify, a document its format adapter
cannot read — and answers an accepted document with a signed receipt, the same receipt again for a
resent idempotency key. Failure modes for tests: ``fail_next(n, status)`` answers n requests with
that status, ``stall_next(n, seconds)`` holds n requests past the sender's timeout.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from aiohttp import web

from hotline_gateway.adapters import registry
from hotline_gateway.core.errors import BadInput, GatewayError
from hotline_gateway.core.model import Case
from hotline_gateway.core.schema import prepare_explanations
from hotline_gateway.core.timefmt import format_timestamp
from hotline_gateway.crypto.digest import content_digest, verify_content_digest
from hotline_gateway.crypto.httpsig import Request, sign_response, verify_request
from hotline_gateway.crypto.jws import verify_detached
from hotline_gateway.crypto.keydir import KeyDirectory
from hotline_gateway.crypto.keys import SigningKey
from hotline_gateway.crypto.receipts import make_receipt

REQUIRED = ("@method", "@target-uri", "content-digest", "content-type", "idempotency-key", "jws-signature")


@dataclass
class Received:
    key: str
    sender_kid: str
    media_type: str
    body: bytes
    receipt: str
    cases: list[Case]


@dataclass
class EvidenceReceiver:
    receiver_id: str
    key: SigningKey
    senders: KeyDirectory
    fmt: str
    received: dict[str, Received] = field(default_factory=dict)
    requests: int = 0
    _fail: list[int] = field(default_factory=list)
    _stall: list[float] = field(default_factory=list)
    _nonces: set[tuple[str, str]] = field(default_factory=set)

    def fail_next(self, count: int, status: int = 503) -> None:
        self._fail.extend([status] * count)

    def stall_next(self, count: int, seconds: float) -> None:
        self._stall.extend([seconds] * count)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_post("/evidence", self.post)
        app.on_startup.append(_prepare)
        return app

    def _answer(self, request: web.Request, status: int, doc: dict[str, object]) -> web.Response:
        """Every answer is signed and bound to the request it answers, as RFC 9421 §2.4 allows."""
        body = orjson.dumps(doc)
        ctype = "application/json" if status < 400 else "application/problem+json"
        headers = {"Content-Type": ctype, "Content-Digest": content_digest(body)}
        bound = Request(request.method, str(request.url), request.headers)
        headers.update(sign_response(status=status, headers=headers, kid=self.key.kid, private_key=self.key.private,
                                     request=bound))
        return web.Response(status=status, body=body, headers=headers)

    def _problem(self, request: web.Request, status: int, code: str, detail: str) -> web.Response:
        return self._answer(request, status, {"type": f"urn:sim:problem:{code}", "title": code, "status": status,
                                              "code": code, "detail": detail})

    def _nonce_seen(self, kid: str, nonce: str) -> bool:
        seen = (kid, nonce) in self._nonces
        self._nonces.add((kid, nonce))
        return seen

    async def post(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self._stall:
            await asyncio.sleep(self._stall.pop(0))
        if self._fail:
            return self._problem(request, self._fail.pop(0), "unavailable", "simulated outage")
        body = await request.read()
        try:
            sig = verify_request(method=request.method, target_uri=str(request.url), headers=request.headers,
                                 resolve=self.senders.resolve, required_components=REQUIRED,
                                 nonce_seen=self._nonce_seen)
            verify_content_digest(request.headers.get("Content-Digest"), body)
            verify_detached(body, request.headers["JWS-Signature"], self.senders)
        except GatewayError as exc:
            return self._problem(request, exc.http_status, exc.code, exc.message)
        key = request.headers["Idempotency-Key"]
        if key in self.received:
            return self._answer(request, 200, {"receipt": self.received[key].receipt, "duplicate": True})
        adapter = registry.get(self.fmt)
        if request.content_type != adapter.media_type:
            return self._problem(request, 415, "unsupported_media_type", f"expected {adapter.media_type}")
        try:
            cases = adapter.decode(body)
        except BadInput as exc:
            return self._problem(request, 422, exc.code, exc.message)
        receipt = make_receipt(key, hashlib.sha256(body).hexdigest(), format_timestamp(datetime.now(UTC)),
                               self.receiver_id, self.key)
        self.received[key] = Received(key, sig.kid, request.content_type, body, receipt.jws, cases)
        return self._answer(request, 202, {"receipt": receipt.jws})


async def _prepare(app: web.Application) -> None:
    """Like a gateway, ready to explain a refusal before the first request (a cold import takes seconds)."""
    await asyncio.to_thread(prepare_explanations)
