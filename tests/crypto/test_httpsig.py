"""HTTP Message Signatures (RFC 9421, Ed25519): the RFC's own vector, and every refusal with its reason."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from hotline_gateway.core.errors import BadSignature, MalformedSignature, MissingSignature, Replay, UnknownKey
from hotline_gateway.crypto import httpsig
from hotline_gateway.crypto.digest import content_digest
from hotline_gateway.crypto.httpsig import sign_request, sign_response, verify_request, verify_response

# RFC 9421 Appendix B.1.4, "test-key-ed25519"
RFC_KEY_PEM = b"""-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
"""
RFC_B26_SIGNATURE = "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw=="
RFC_HEADERS = {
    "Host": "example.com",
    "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
    "Content-Type": "application/json",
    "Content-Length": "18",
}
B26_COMPONENTS = ("date", "@method", "@path", "@authority", "content-type", "content-length")
URL = "https://gw.example.org/v1/messages"
BODY = b'{"messages": []}'


def rfc_key() -> Ed25519PrivateKey:
    key = load_pem_private_key(RFC_KEY_PEM, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def test_rfc9421_b26_ed25519_signature_reproduced_byte_for_byte() -> None:
    """The RFC example has no nonce and no alg, so it is signed through the core that sign_request wraps."""
    exact = httpsig._sign(httpsig._Message(RFC_HEADERS, method="POST", target_uri="http://example.com/foo"),
                          kid="test-key-ed25519", private_key=rfc_key(), components=B26_COMPONENTS,
                          label="sig-b26", created=1618884473, nonce=None, alg=None)
    assert exact["Signature-Input"] == (
        'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
        ';created=1618884473;keyid="test-key-ed25519"'
    )
    assert exact["Signature"] == f"sig-b26=:{RFC_B26_SIGNATURE}:"


def test_rfc9421_b26_signature_verifies_with_the_rfc_public_key() -> None:
    headers = dict(RFC_HEADERS)
    headers["Signature-Input"] = ('sig-b26=("date" "@method" "@path" "@authority" "content-type" '
                                  '"content-length");created=1618884473;keyid="test-key-ed25519"')
    headers["Signature"] = f"sig-b26=:{RFC_B26_SIGNATURE}:"
    sig = verify_request(method="POST", target_uri="http://example.com/foo?param=Value&Pet=dog", headers=headers,
                         resolve=lambda kid: rfc_key().public_key(), now=1618884473,
                         required_components=("@method", "@path"), label="sig-b26")
    assert (sig.kid, sig.created, sig.label) == ("test-key-ed25519", 1618884473, "sig-b26")


class Keys:
    def __init__(self) -> None:
        self.private = Ed25519PrivateKey.generate()

    def resolve(self, kid: str) -> Ed25519PublicKey:
        if kid != "fr-1":
            raise UnknownKey(f"unknown key id {kid!r}")
        return self.private.public_key()


def signed(keys: Keys, body: bytes = BODY, **kw: object) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Content-Digest": content_digest(body)}
    headers.update(sign_request(method="POST", target_uri=URL, headers=headers, kid=str(kw.pop("kid", "fr-1")),
                                private_key=keys.private, **kw))  # type: ignore[arg-type]
    return headers


def test_signed_request_verifies_and_reports_kid_and_nonce() -> None:
    keys = Keys()
    sig = verify_request(method="POST", target_uri=URL, headers=signed(keys, nonce="n-1"), resolve=keys.resolve)
    assert (sig.kid, sig.nonce) == ("fr-1", "n-1")
    assert sig.covered == ("@method", "@target-uri", "content-digest", "content-type")


def test_header_names_are_case_insensitive() -> None:
    keys = Keys()
    headers = {k.lower(): v for k, v in signed(keys).items()}
    verify_request(method="POST", target_uri=URL, headers=headers, resolve=keys.resolve)


def test_changed_digest_header_breaks_the_signature() -> None:
    keys = Keys()
    headers = signed(keys)
    headers["Content-Digest"] = content_digest(b"something else")
    with pytest.raises(BadSignature):
        verify_request(method="POST", target_uri=URL, headers=headers, resolve=keys.resolve)


def test_other_target_uri_breaks_the_signature() -> None:
    keys = Keys()
    with pytest.raises(BadSignature):
        verify_request(method="POST", target_uri=URL + "?x=1", headers=signed(keys), resolve=keys.resolve)


def test_unsigned_request_is_missing_signature() -> None:
    with pytest.raises(MissingSignature):
        verify_request(method="POST", target_uri=URL, headers={"Content-Type": "application/json"},
                       resolve=Keys().resolve)


def test_unknown_key_id_is_refused_as_unknown_key() -> None:
    keys = Keys()
    with pytest.raises(UnknownKey):
        verify_request(method="POST", target_uri=URL, headers=signed(keys, kid="xx-9"), resolve=keys.resolve)


def test_signature_not_covering_the_digest_is_refused() -> None:
    keys = Keys()
    headers = signed(keys, components=("@method", "@target-uri", "content-type"))
    with pytest.raises(MalformedSignature, match="content-digest"):
        verify_request(method="POST", target_uri=URL, headers=headers, resolve=keys.resolve)


@pytest.mark.parametrize("skew", [-301, 301])
def test_created_outside_the_window_is_a_replay(skew: int) -> None:
    keys = Keys()
    headers = signed(keys, created=int(time.time()) + skew)
    with pytest.raises(Replay):
        verify_request(method="POST", target_uri=URL, headers=headers, resolve=keys.resolve)


def test_nonce_seen_twice_is_a_replay() -> None:
    keys = Keys()
    seen: set[tuple[str, str]] = set()

    def nonce_seen(kid: str, nonce: str) -> bool:
        hit = (kid, nonce) in seen
        seen.add((kid, nonce))
        return hit

    headers = signed(keys, nonce="once")
    verify_request(method="POST", target_uri=URL, headers=headers, resolve=keys.resolve, nonce_seen=nonce_seen)
    with pytest.raises(Replay):
        verify_request(method="POST", target_uri=URL, headers=headers, resolve=keys.resolve, nonce_seen=nonce_seen)


@pytest.mark.parametrize("field,value", [("Signature", "sig1=:not base64!:"), ("Signature-Input", "sig1=(((")])
def test_garbled_signature_fields_are_malformed(field: str, value: str) -> None:
    keys = Keys()
    headers = signed(keys)
    headers[field] = value
    with pytest.raises(MalformedSignature):
        verify_request(method="POST", target_uri=URL, headers=headers, resolve=keys.resolve)


def test_signed_response_verifies_and_a_changed_status_does_not() -> None:
    keys = Keys()
    headers = {"Content-Type": "application/json", "Content-Digest": content_digest(BODY)}
    headers.update(sign_response(status=202, headers=headers, kid="fr-1", private_key=keys.private))
    assert verify_response(status=202, headers=headers, resolve=keys.resolve).kid == "fr-1"
    with pytest.raises(BadSignature):
        verify_response(status=200, headers=headers, resolve=keys.resolve)
