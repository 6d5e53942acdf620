"""Our direct Ed25519 JWS against others' implementations: joserfc (what it replaced) and jwcrypto.

Signing must give joserfc's bytes exactly, for any key, kid and payload; verification must accept and
refuse exactly what the joserfc-based implementation did (tests/crypto/joserfc_oracle.py), except for
the two refusals we added on purpose, each shown here. jwcrypto, an independent JOSE library, checks
both directions for detached signatures and for receipts (compact, payload attached).
"""

from __future__ import annotations

import json
import string
import warnings
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from joserfc import jws as joserfc_jws
from joserfc.jwk import OKPKey
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws

from hotline_gateway.core.errors import BadSignature, MalformedSignature, UnknownKey, VerificationError
from hotline_gateway.crypto.jws import (
    compact_payload,
    jws_kid,
    sign_compact,
    sign_detached,
    verify_compact,
    verify_detached,
)
from hotline_gateway.crypto.keys import SigningKey
from hotline_gateway.crypto.receipts import make_receipt, receipt_claims, verify_receipt
from tests.crypto import joserfc_oracle as oracle
from tests.crypto.test_jws import RFC_JWS, RFC_PAYLOAD, b64, rfc_key, unb64

__all__ = ["rfc_key"]  # the RFC 8037 key fixture, shared with test_jws

KID_CHARS = string.ascii_letters + string.digits + "._-"
kids = st.text(KID_CHARS, min_size=1, max_size=128).filter(lambda k: k[0].isalnum())
seeds = st.binary(min_size=32, max_size=32)
payloads = st.binary(max_size=4096)


def key_of(seed: bytes, kid: str) -> SigningKey:
    return SigningKey(kid, Ed25519PrivateKey.from_private_bytes(seed))


def resolver(key: SigningKey) -> Callable[[str], Ed25519PublicKey]:
    def resolve(kid: str) -> Ed25519PublicKey:
        if kid != key.kid:
            raise UnknownKey(f"unknown key id {kid!r}")
        return key.public_key

    return resolve


def outcome(verify: Callable[[], str]) -> str:
    try:
        return f"ok:{verify()}"
    except VerificationError as exc:
        return type(exc).__name__


# -- signing: byte-identical to joserfc, and each verifies the other's -------------------------------------------


@settings(max_examples=200, deadline=None)
@given(seed=seeds, kid=kids, payload=payloads, include_kid=st.booleans())
def test_detached_signature_is_byte_identical_to_joserfcs_and_each_verifies_the_other(
    seed: bytes, kid: str, payload: bytes, include_kid: bool
) -> None:
    key = key_of(seed, kid)
    ours = sign_detached(payload, key, include_kid=include_kid)
    theirs = oracle.sign_detached(payload, key, include_kid=include_kid)
    assert ours == theirs
    declared = None if include_kid else kid
    assert oracle.verify_detached(payload, ours, resolver(key), kid=declared) == kid
    assert verify_detached(payload, theirs, resolver(key), kid=declared) == kid


@settings(max_examples=100, deadline=None)
@given(seed=seeds, kid=kids, payload=payloads)
def test_compact_signature_is_byte_identical_to_joserfcs_and_each_verifies_the_other(
    seed: bytes, kid: str, payload: bytes
) -> None:
    key = key_of(seed, kid)
    ours = sign_compact(payload, key)
    assert ours == oracle.sign_compact(payload, key)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obj = joserfc_jws.deserialize_compact(ours, OKPKey.import_key(key.public_key), registry=oracle.REGISTRY)
    assert obj.payload == payload
    assert verify_compact(ours, resolver(key)) == (kid, payload)


def test_rfc8037_a4_compact_token_verifies_and_yields_its_payload(rfc_key: SigningKey) -> None:
    assert verify_compact(RFC_JWS, resolver(rfc_key), kid="rfc8037") == ("rfc8037", RFC_PAYLOAD)
    assert compact_payload(RFC_JWS) == RFC_PAYLOAD


# -- verification: the same verdict as the joserfc-based implementation, for headers of every shape -------------

MEMBER_NAMES = ["alg", "kid", "typ", "cty", "jku", "x5u", "x5c", "x5t", "x5t#S256", "jwk", "crit", "b64", "zip",
                "exp", "nonce"]
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=40)
    | st.sampled_from(["https://keys.example.org/jwks", "http://x.test/", "ftp://x.test/"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


#: values of the right type for each registered member, so that accepted headers are common too
TYPED: dict[str, st.SearchStrategy[Any]] = {
    **dict.fromkeys(["typ", "cty", "x5t", "x5t#S256", "zip", "nonce"], st.text(max_size=20)),
    **dict.fromkeys(["jku", "x5u"], st.sampled_from(["https://keys.example.org/jwks", "http://x.test/"])),
    "x5c": st.lists(st.text(max_size=10), max_size=2), "jwk": st.dictionaries(st.text(max_size=5), json_values),
    "crit": st.lists(st.sampled_from(["b64", "exp"]), max_size=2), "b64": st.booleans(), "exp": st.integers(),
}


@st.composite
def headers(draw: st.DrawFn, own_kid: str) -> dict[str, Any]:
    header: dict[str, Any] = {}
    extras = draw(st.lists(st.sampled_from(MEMBER_NAMES), unique=True, max_size=4)) if draw(st.booleans()) else []
    for name in extras:
        header[name] = draw(TYPED.get(name, json_values) | json_values)
    if draw(st.integers(0, 9)) < 8:
        header["alg"] = draw(st.sampled_from(["EdDSA"] * 6 + ["Ed25519", "HS256", "none"]))
    if draw(st.integers(0, 9)) < 7:
        header["kid"] = draw(st.sampled_from([own_kid] * 5 + ["DE-HOTLINE-1", "", "x" * 600]))
    return header


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), payload=st.binary(max_size=64), declared=st.sampled_from([None, None, "FR-PDC-1", "DE-1"]),
       ascii_only=st.booleans(), tamper=st.sampled_from(["none"] * 4 + ["flip", "truncate", "garbage", "long"]))
def test_verification_gives_the_joserfc_implementations_verdict_for_any_header(
    data: st.DataObject, payload: bytes, declared: str | None, ascii_only: bool, tamper: str
) -> None:
    """Accepted, BadSignature, MalformedSignature or UnknownKey: the same answer from both implementations.

    One ordering differs on purpose: we refuse a bad header before looking its key up, so where the
    old code said UnknownKey for a header joserfc would have refused anyway, we say MalformedSignature.
    """
    key = SigningKey("FR-PDC-1", Ed25519PrivateKey.generate())
    header = data.draw(headers(key.kid))
    header_segment = b64(json.dumps(header, ensure_ascii=ascii_only, separators=(",", ":")).encode())
    signature = key.private.sign(f"{header_segment}.{b64(payload)}".encode())
    sig_segment = {
        "none": b64(signature),
        "flip": b64(bytes([signature[0] ^ 1]) + signature[1:]),
        "truncate": b64(signature[:40]),
        "garbage": "not*base64",
        "long": "A" * 1100,
    }[tamper]
    token = f"{header_segment}..{sig_segment}"
    ours = outcome(lambda: verify_detached(payload, token, resolver(key), kid=declared))
    theirs = outcome(lambda: oracle.verify_detached(payload, token, resolver(key), kid=declared))
    event(f"ours={ours.partition(':')[0]} theirs={theirs.partition(':')[0]}")
    if ours != theirs:
        assert (ours, theirs) == ("MalformedSignature", "UnknownKey")

        def any_kid(_: str) -> Ed25519PublicKey:
            return key.public_key

        assert outcome(lambda: oracle.verify_detached(payload, token, any_kid, kid=declared)) == "MalformedSignature"
    if tamper == "none" and header == {"alg": "EdDSA", "kid": key.kid} and declared in (None, key.kid):
        assert ours == "ok:FR-PDC-1"


@pytest.mark.parametrize("encode", [
    lambda text: text.encode("utf-16"),
    lambda text: b"\xef\xbb\xbf" + text.encode(),
], ids=["utf-16", "utf-8-bom"])
def test_a_header_not_in_plain_utf8_is_refused_although_joserfc_accepted_it(
    encode: Callable[[str], bytes],
) -> None:
    """RFC 7515 §7.1: the header is BASE64URL(UTF8(header)); joserfc let json.loads guess other encodings."""
    key = SigningKey("FR-PDC-1", Ed25519PrivateKey.generate())
    header_segment = b64(encode(json.dumps({"alg": "EdDSA", "kid": key.kid})))
    signing_input = f"{header_segment}.{b64(b'data')}".encode()
    token = f"{header_segment}..{b64(key.private.sign(signing_input))}"
    assert oracle.verify_detached(b"data", token, resolver(key)) == key.kid
    with pytest.raises(MalformedSignature, match="UTF-8"):
        verify_detached(b"data", token, resolver(key))


# -- jwcrypto, both ways ------------------------------------------------------------------------------------------


def jwcrypto_key(key: SigningKey, *, private: bool) -> jwcrypto_jwk.JWK:
    return jwcrypto_jwk.JWK.from_pyca(key.private if private else key.public_key)


def jwcrypto_sign(payload: bytes, key: SigningKey, *, detached: bool) -> str:
    token = jwcrypto_jws.JWS(payload)
    token.add_signature(jwcrypto_key(key, private=True), None,
                        protected=json.dumps({"alg": "EdDSA", "kid": key.kid}))
    if detached:
        token.detach_payload()
    return str(token.serialize(compact=True))


def jwcrypto_verify(token: str, key: SigningKey, *, detached_payload: bytes | None = None) -> bytes:
    """jwcrypto's verification (raises if it fails); the attached payload, or b"" for a detached token."""
    obj = jwcrypto_jws.JWS()
    obj.deserialize(token)
    obj.verify(jwcrypto_key(key, private=False), alg="EdDSA", detached_payload=detached_payload)
    return b"" if detached_payload is not None else bytes(obj.payload)


@settings(max_examples=50, deadline=None)
@given(payload=payloads)
def test_jwcrypto_verifies_our_detached_signature_and_we_verify_its(payload: bytes) -> None:
    key = SigningKey("FR-PDC-1", Ed25519PrivateKey.generate())
    jwcrypto_verify(sign_detached(payload, key), key, detached_payload=payload)
    assert verify_detached(payload, jwcrypto_sign(payload, key, detached=True), resolver(key)) == key.kid


def test_jwcrypto_refuses_our_signature_over_other_bytes_and_we_refuse_its() -> None:
    key = SigningKey("FR-PDC-1", Ed25519PrivateKey.generate())
    with pytest.raises(jwcrypto_jws.InvalidJWSSignature):
        jwcrypto_verify(sign_detached(b"payload", key), key, detached_payload=b"payloaD")
    with pytest.raises(BadSignature):
        verify_detached(b"payloaD", jwcrypto_sign(b"payload", key, detached=True), resolver(key))


RECEIPT = {"message_id": "7c1f8f7e-3b0e-4a57-9c55-1d2b8f0e6a11", "payload_sha256": "ab" * 32,
           "received_at": "2026-11-24T10:00:00Z", "receiver": "DE-HOTLINE"}


def test_jwcrypto_verifies_our_receipt_and_reads_its_claims() -> None:
    key = SigningKey("DE-HOTLINE-1", Ed25519PrivateKey.generate())
    receipt = make_receipt(**RECEIPT, key=key)
    assert orjson.loads(jwcrypto_verify(receipt.jws, key)) == RECEIPT
    assert jws_kid(receipt.jws) == "DE-HOTLINE-1"
    assert {k: v for k, v in receipt_claims(receipt.jws).items() if k in RECEIPT} == RECEIPT


def test_a_receipt_signed_by_jwcrypto_or_joserfc_verifies_as_a_receipt() -> None:
    key = SigningKey("DE-HOTLINE-1", Ed25519PrivateKey.generate())
    body = orjson.dumps(RECEIPT, option=orjson.OPT_SORT_KEYS)
    digest, receiver = RECEIPT["payload_sha256"], RECEIPT["receiver"]
    for token in (jwcrypto_sign(body, key, detached=False), oracle.sign_compact(body, key)):
        receipt = verify_receipt(token, resolver(key), message_id=RECEIPT["message_id"], payload_sha256=digest,
                                 receiver=receiver)
        assert receipt.received_at == RECEIPT["received_at"]
        with pytest.raises(BadSignature, match="message_id"):
            verify_receipt(token, resolver(key), message_id="another", payload_sha256=digest, receiver=receiver)


def test_a_receipt_whose_payload_was_altered_after_signing_is_refused() -> None:
    key = SigningKey("DE-HOTLINE-1", Ed25519PrivateKey.generate())
    header, _, signature = make_receipt(**RECEIPT, key=key).jws.split(".")
    forged = f"{header}.{b64(orjson.dumps({**RECEIPT, 'received_at': '2030-01-01T00:00:00Z'}))}.{signature}"
    with pytest.raises(BadSignature):
        verify_receipt(forged, resolver(key), message_id=RECEIPT["message_id"],
                       payload_sha256=RECEIPT["payload_sha256"], receiver="DE-HOTLINE")


# -- the unverified readers ---------------------------------------------------------------------------------------


def test_jws_kid_reads_the_header_kid_and_refuses_a_token_without_one(rfc_key: SigningKey) -> None:
    key = SigningKey("FR-PDC-7", Ed25519PrivateKey.generate())
    assert jws_kid(sign_detached(b"x", key)) == "FR-PDC-7"
    assert jws_kid(sign_compact(b"x", key)) == "FR-PDC-7"
    with pytest.raises(MalformedSignature, match="no kid"):
        jws_kid(RFC_JWS)
    with pytest.raises(MalformedSignature):
        jws_kid("e30..")  # "{}": no alg


@pytest.mark.parametrize("token", ["a.b", "a.b.c.d", "eyJhbGciOiJFZERTQSJ9.ab=.c2ln", "eyJhbGciOiJFZERTQSJ9.a.c2ln",
                                   "eyJhbGciOiJFZERTQSJ9.ab+/.c2ln"],
                         ids=["two-parts", "four-parts", "padded", "impossible-length", "standard-alphabet"])
def test_compact_payload_refuses_what_is_not_an_attached_base64url_payload(token: str) -> None:
    with pytest.raises(MalformedSignature):
        compact_payload(token)


def test_non_canonical_base64url_is_refused_as_joserfc_refused_it() -> None:
    """'RXhhbXBsZQ' and 'RXhhbXBsZR' decode to the same bytes; only the canonical one is a JWS segment."""
    assert unb64("RXhhbXBsZQ") == unb64("RXhhbXBsZR")
    with pytest.raises(MalformedSignature):
        compact_payload("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZR.c2ln")
    assert compact_payload("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZQ.c2ln") == b"Example"
