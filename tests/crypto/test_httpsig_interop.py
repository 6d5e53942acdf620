"""RFC 9421 both ways with an independent implementation, http-message-signatures, over real loopback HTTP.

Each direction is a real aiohttp exchange on 127.0.0.1: the library's client middleware signs a request
that our ``verify_request`` (and Content-Digest check) accepts, and verifies the response our
``sign_response`` signed; the library's server middleware verifies a request our ``sign_request``
signed and signs a response our ``verify_response`` accepts. Ed25519 keys are made per test; every
signature carries ``created``, ``keyid``, ``alg`` and, on requests, ``nonce``.

What the library cannot express, and so is not tested through it: our replay protection (a nonce
seen once inside the window, ``created`` within ±300 s — the library leaves replay to the caller and
only bounds ``created`` in the future to 5 s), and refusing a signature with no nonce (the library
accepts one; ``verify_request`` refuses it whenever it is given a nonce cache, as the gateway does).
The library orders signature parameters ``created, keyid, alg, nonce``, ours ``created, keyid,
nonce, alg``: each side verifies the other's order as received, which RFC 9421 requires.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from http_message_signatures import InvalidSignature, MappingKeyResolver, algorithms
from http_message_signatures.aiohttp import (
    ServerSignatureMiddleware,
    ServerSigningOptions,
    ServerVerificationOptions,
    SignatureMiddleware,
    SignatureMiddlewareMode,
    SigningOptions,
    VerificationOptions,
)

from hotline_gateway.core.errors import BadSignature, DigestMismatch, UnknownKey, VerificationError
from hotline_gateway.crypto.digest import content_digest, verify_content_digest
from hotline_gateway.crypto.httpsig import (
    REQUEST_COMPONENTS,
    RESPONSE_COMPONENTS,
    VerifiedSignature,
    sign_request,
    sign_response,
    verify_request,
    verify_response,
)

ENVELOPE_TYPE = "application/vnd.hotline-gateway.messages+json"
BODY = orjson.dumps({"messages": [{"message_id": "7c1f8f7e-3b0e-4a57-9c55-1d2b8f0e6a11", "payload": "e30="}]})


@dataclass
class Party:
    """One side's keys: its own private key under its kid, and the other side's public key."""

    kid: str
    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def library_resolver(self) -> MappingKeyResolver:
        return MappingKeyResolver(public_keys={self.kid: self.public}, private_keys={self.kid: self.private})

    def resolve(self, kid: str) -> Ed25519PublicKey:
        if kid != self.kid:
            raise UnknownKey(f"unknown key id {kid!r}")
        return self.public


@pytest.fixture
def fr() -> Party:
    return Party("FR-PDC-1")


@pytest.fixture
def de() -> Party:
    return Party("DE-HOTLINE-1")


Serve = Callable[[web.Application], Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start an app on 127.0.0.1 (port 0, read back) and return its origin; everything stops at teardown."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


def our_receiving_app(sender: Party, receiver: Party, seen: list[VerifiedSignature]) -> web.Application:
    """What a gateway's /v1/messages does with the signatures: verify the request, sign the answer."""
    nonces: set[tuple[str, str]] = set()

    def nonce_seen(kid: str, nonce: str) -> bool:
        if (kid, nonce) in nonces:
            return True
        nonces.add((kid, nonce))
        return False

    async def handler(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            sig = verify_request(method=request.method, target_uri=str(request.url), headers=request.headers,
                                 resolve=sender.resolve, nonce_seen=nonce_seen)
            verify_content_digest(request.headers.get("Content-Digest"), body)
        except VerificationError as exc:
            answer, status = orjson.dumps({"code": exc.code}), 401
        else:
            seen.append(sig)
            answer, status = orjson.dumps({"accepted": True}), 202
        headers = {"Content-Type": "application/json", "Content-Digest": content_digest(answer)}
        headers.update(sign_response(status=status, headers=headers, kid=receiver.kid, private_key=receiver.private))
        return web.Response(status=status, body=answer, headers=headers)

    app = web.Application()
    app.router.add_post("/v1/messages", handler)
    return app


def library_client(origin: str, signer: Party, responder: Party, *,
                   sign_as: Party | None = None) -> SignatureMiddleware:
    """The library's client: signs our request components (plus a nonce) and verifies our response components."""
    as_party = sign_as or signer
    return SignatureMiddleware(
        SignatureMiddlewareMode.SIGN_REQUEST_VERIFY_RESPONSE,
        sign_options=SigningOptions(
            origin=origin, signature_algorithm=algorithms.ED25519, key_id=signer.kid,
            key_resolver=MappingKeyResolver(public_keys={}, private_keys={signer.kid: as_party.private}),
            covered_component_ids=REQUEST_COMPONENTS, nonce=secrets.token_urlsafe(16), label="sig1",
        ),
        verify_options=VerificationOptions(
            origin=origin, signature_algorithm=algorithms.ED25519, key_resolver=responder.library_resolver(),
            require_components=RESPONSE_COMPONENTS,
        ),
    )


async def test_library_signed_request_passes_our_verification_and_our_signed_response_passes_the_librarys(
    serve: Serve, fr: Party, de: Party
) -> None:
    seen: list[VerifiedSignature] = []
    origin = await serve(our_receiving_app(fr, de, seen))
    middleware = library_client(origin, fr, de)
    async with aiohttp.ClientSession(**middleware.session_kwargs) as session, session.post(
        f"{origin}/v1/messages", data=BODY, headers={"Content-Type": ENVELOPE_TYPE}
    ) as resp:
        assert resp.status == 202, await resp.read()
        assert orjson.loads(await resp.read()) == {"accepted": True}
        [result] = middleware.verification_results(resp)
    assert result.parameters["keyid"] == de.kid and result.parameters["alg"] == "ed25519"
    assert isinstance(result.parameters["created"], int)
    [sig] = seen
    assert sig.kid == fr.kid and sig.label == "sig1" and sig.nonce
    assert set(REQUEST_COMPONENTS) <= set(sig.covered)


async def test_a_library_signature_under_the_wrong_key_is_refused_by_us(serve: Serve, fr: Party, de: Party) -> None:
    origin = await serve(our_receiving_app(fr, de, []))
    middleware = library_client(origin, fr, de, sign_as=Party(fr.kid))  # FR's kid, someone else's key
    async with aiohttp.ClientSession(**middleware.session_kwargs) as session, session.post(
        f"{origin}/v1/messages", data=BODY, headers={"Content-Type": ENVELOPE_TYPE}
    ) as resp:
        assert resp.status == 401
        assert orjson.loads(await resp.read()) == {"code": BadSignature.code}


async def test_a_response_we_signed_under_a_key_the_library_does_not_trust_is_refused_by_it(
    serve: Serve, fr: Party, de: Party
) -> None:
    origin = await serve(our_receiving_app(fr, Party(de.kid), []))  # DE's kid, someone else's key
    middleware = library_client(origin, fr, de)
    async with aiohttp.ClientSession(**middleware.session_kwargs) as session:
        with pytest.raises(InvalidSignature):
            async with session.post(f"{origin}/v1/messages", data=BODY, headers={"Content-Type": ENVELOPE_TYPE}):
                pass


def library_receiving_app(sender: Party, receiver: Party, results: list[dict[str, Any]]) -> web.Application:
    """The library's server: verifies our request components and signs our response components."""
    middleware = ServerSignatureMiddleware(
        sign_options=ServerSigningOptions(
            signature_algorithm=algorithms.ED25519, key_id=receiver.kid, key_resolver=receiver.library_resolver(),
            covered_component_ids=RESPONSE_COMPONENTS, label="sig1",
        ),
        verify_options=ServerVerificationOptions(
            signature_algorithm=algorithms.ED25519, key_resolver=sender.library_resolver(),
            require_components=REQUEST_COMPONENTS,
        ),
    )

    async def handler(request: web.Request) -> web.Response:
        [result] = middleware.verification_results(request)
        results.append(dict(result.parameters))
        body = await request.read()
        return web.Response(status=202, body=orjson.dumps({"stored": len(body)}), content_type="application/json")

    @web.middleware
    async def refusals(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                       ) -> web.StreamResponse:
        try:
            return await handler(request)
        except InvalidSignature:
            return web.Response(status=401, body=b'{"code":"bad_signature"}', content_type="application/json")

    app = web.Application(middlewares=(refusals, *middleware.application_kwargs["middlewares"]),
                          handler_args=middleware.application_kwargs.get("handler_args"))
    app.router.add_post("/v1/messages", handler)
    app.on_response_prepare.append(middleware.on_response_prepare)
    return app


async def post_signed(origin: str, signer: Party, body: bytes, *, digest_of: bytes | None = None
                      ) -> tuple[int, bytes, Any]:
    """Our client side, as native-http does it: Content-Digest, sign_request; returns status, body, headers."""
    url = f"{origin}/v1/messages"
    digest = content_digest(body if digest_of is None else digest_of)
    headers = {"Content-Type": ENVELOPE_TYPE, "Content-Digest": digest}
    headers.update(sign_request(method="POST", target_uri=url, headers=headers, kid=signer.kid,
                                private_key=signer.private))
    async with aiohttp.ClientSession(auto_decompress=False) as session, session.post(
        url, data=body, headers=headers
    ) as resp:
        return resp.status, await resp.read(), resp.headers


async def test_our_signed_request_passes_the_librarys_verification_and_its_signed_response_passes_ours(
    serve: Serve, fr: Party, de: Party
) -> None:
    results: list[dict[str, Any]] = []
    origin = await serve(library_receiving_app(fr, de, results))
    status, body, headers = await post_signed(origin, fr, BODY)
    assert status == 202 and orjson.loads(body) == {"stored": len(BODY)}
    [params] = results
    assert params["keyid"] == fr.kid and params["alg"] == "ed25519" and params["nonce"]
    assert isinstance(params["created"], int)
    sig = verify_response(status=status, headers=headers, resolve=de.resolve)
    verify_content_digest(headers.get("Content-Digest"), body)
    assert sig.kid == de.kid and set(RESPONSE_COMPONENTS) <= set(sig.covered)


async def test_the_library_refuses_our_request_whose_digest_does_not_match_the_body(
    serve: Serve, fr: Party, de: Party
) -> None:
    results: list[dict[str, Any]] = []
    origin = await serve(library_receiving_app(fr, de, results))
    status, _, _ = await post_signed(origin, fr, BODY, digest_of=BODY + b" ")
    assert status == 401 and results == []


async def test_we_refuse_a_library_signed_response_whose_body_was_swapped(serve: Serve, fr: Party, de: Party) -> None:
    """The signature covers Content-Digest, so a swapped body is caught by the digest check, not the signature."""
    origin = await serve(library_receiving_app(fr, de, []))
    status, body, headers = await post_signed(origin, fr, BODY)
    verify_response(status=status, headers=headers, resolve=de.resolve)
    with pytest.raises(DigestMismatch):
        verify_content_digest(headers.get("Content-Digest"), body.replace(b"stored", b"storeD"))
