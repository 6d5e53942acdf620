"""Detached JWS: RFC 8037 reproduced exactly; every way a signature can fail raises its own error."""

from __future__ import annotations

import base64
import json
import os
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hotline_gateway.core.errors import (
    BadSignature,
    KeyExpired,
    KeyNotYetValid,
    MalformedSignature,
    UnknownKey,
    VerificationError,
)
from hotline_gateway.crypto.jws import sign_detached, verify_detached
from hotline_gateway.crypto.keydir import KeyDirectory, generate, rotate
from hotline_gateway.crypto.keys import SigningKey

#: a fixed "now" so that windows and expiry are exact, not racing the wall clock
NOW = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def keydir(tmp_path: Path) -> Path:
    """A key directory holding one of our keys, ``FR-PDC-1``, valid from NOW for 365 days."""
    folder = tmp_path / "keys"
    generate(folder, "FR-PDC-1", owner="FR-PDC", now=NOW)
    return folder


@pytest.fixture
def own_key(keydir: Path) -> SigningKey:
    return KeyDirectory.load(keydir).active_signing_key(at=NOW)


# RFC 8037 Appendix A.1 (key) and A.4 (signature)
RFC_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC_PAYLOAD = b"Example of Ed25519 signing"
RFC_JWS = (
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def header_of(token: str) -> dict[str, object]:
    decoded: dict[str, object] = json.loads(unb64(token.split(".")[0]))
    return decoded


@pytest.fixture
def rfc_key() -> SigningKey:
    return SigningKey("rfc8037", Ed25519PrivateKey.from_private_bytes(unb64(RFC_D)))


def test_rfc8037_a4_signature_is_reproduced_byte_for_byte(rfc_key: SigningKey) -> None:
    detached = sign_detached(RFC_PAYLOAD, rfc_key, include_kid=False)
    header, middle, signature = detached.split(".")
    assert middle == ""
    assert f"{header}.{b64(RFC_PAYLOAD)}.{signature}" == RFC_JWS


def test_rfc8037_a4_signature_verifies_when_the_key_id_is_given_out_of_band(rfc_key: SigningKey) -> None:
    header, _, signature = RFC_JWS.split(".")
    resolve = {"rfc8037": rfc_key.public_key}.__getitem__
    assert verify_detached(RFC_PAYLOAD, f"{header}..{signature}", resolve, kid="rfc8037") == "rfc8037"


def test_protected_header_is_exactly_alg_and_kid_or_alg_alone(own_key: SigningKey) -> None:
    assert header_of(sign_detached(b"x", own_key)) == {"alg": "EdDSA", "kid": "FR-PDC-1"}
    assert header_of(sign_detached(b"x", own_key, include_kid=False)) == {"alg": "EdDSA"}


def test_signature_verifies_against_the_key_directory_and_returns_the_kid(
    own_key: SigningKey, keydir: Path, now: datetime
) -> None:
    payload = b'{"case_id": "1b4e28ba"}'
    token = sign_detached(payload, own_key)
    assert token.split(".")[1] == ""
    assert verify_detached(payload, token, KeyDirectory.load(keydir), at=now) == "FR-PDC-1"


def test_empty_and_large_payloads_sign_and_verify(own_key: SigningKey, keydir: Path, now: datetime) -> None:
    keys = KeyDirectory.load(keydir)
    for payload in (b"", os.urandom(2 * 1024 * 1024)):  # beyond joserfc's default 128 kB payload cap
        assert verify_detached(payload, sign_detached(payload, own_key), keys, at=now) == "FR-PDC-1"


@pytest.mark.parametrize("position", [0, 17, -1])
def test_payload_changed_by_one_byte_raises_bad_signature(
    own_key: SigningKey, keydir: Path, now: datetime, position: int
) -> None:
    payload = bytearray(b"report about https://files.example.org/i/abc123.jpg")
    token = sign_detached(bytes(payload), own_key)
    payload[position] ^= 0x01
    with pytest.raises(BadSignature) as info:
        verify_detached(bytes(payload), token, KeyDirectory.load(keydir), at=now)
    assert info.value.code == "bad_signature"


def test_signature_by_another_private_key_under_our_kid_raises_bad_signature(
    keydir: Path, tmp_path: Path, now: datetime
) -> None:
    generate(tmp_path / "forger", "FR-PDC-1", now=now)
    forged = KeyDirectory.load(tmp_path / "forger").active_signing_key(now)
    with pytest.raises(BadSignature):
        verify_detached(b"data", sign_detached(b"data", forged), KeyDirectory.load(keydir), at=now)


def test_altered_signature_bytes_raise_bad_signature(own_key: SigningKey, keydir: Path, now: datetime) -> None:
    header, _, signature = sign_detached(b"data", own_key).split(".")
    flipped = bytearray(unb64(signature))
    flipped[0] ^= 0x80
    with pytest.raises(BadSignature):
        verify_detached(b"data", f"{header}..{b64(bytes(flipped))}", KeyDirectory.load(keydir), at=now)


def _header(obj: object) -> str:
    return b64(json.dumps(obj).encode())


@pytest.mark.parametrize(
    "token",
    [
        "",
        "onlyonepart",
        "two.parts",
        "a.b.c.d",
        f"{_header({'alg': 'EdDSA', 'kid': 'FR-PDC-1'})}.ZGF0YQ.c2ln",  # attached payload, not detached
        "!!!..c2ln",  # header not base64url
        f"{b64(b'not json')}..c2ln",
        f"{_header(['alg'])}..c2ln",  # header JSON but not an object
        f"{_header({'kid': 'FR-PDC-1'})}..c2ln",  # no alg at all
        f"{_header({'alg': 'HS256', 'kid': 'FR-PDC-1'})}..c2ln",
        f"{_header({'alg': 'none', 'kid': 'FR-PDC-1'})}..",
        f"{_header({'alg': 'Ed25519', 'kid': 'FR-PDC-1'})}..c2ln",
        f"{_header({'alg': 'EdDSA', 'kid': 7})}..c2ln",
        f"{_header({'alg': 'EdDSA'})}..c2ln",  # no kid, and none given
        "é..c2ln",
        f"{_header({'alg': 'EdDSA', 'kid': 'FR-PDC-1', 'b64': False, 'crit': ['b64']})}..c2ln",
        f"{_header({'alg': 'EdDSA', 'kid': 'FR-PDC-1', 'exp': 1})}..c2ln",  # not a registered JWS member
        f"{_header({'alg': 'EdDSA', 'kid': 'FR-PDC-1', 'typ': 7})}..c2ln",  # registered, wrong type
        f"{_header({'alg': 'EdDSA', 'kid': 'FR-PDC-1', 'jku': 'ftp://x.test/'})}..c2ln",
        f"{_header({'alg': 'EdDSA', 'kid': 'F' * 400})}..c2ln",  # header segment over 512 bytes
        f"{_header({'alg': 'EdDSA', 'kid': 'FR-PDC-1'})}..{'A' * 1100}",  # signature segment over 1024 bytes
        f"{_header({'alg': 'EdDSA', 'kid': 'FR-PDC-1'})}=..c2ln",  # padded header
    ],
    ids=[
        "empty", "one-part", "two-parts", "four-parts", "attached", "bad-base64", "not-json", "not-object", "no-alg",
        "alg-hs256", "alg-none", "alg-ed25519", "kid-not-string", "no-kid", "non-ascii",
        "unencoded-payload-extension", "unregistered-member", "member-wrong-type", "jku-not-http",
        "header-too-long", "signature-too-long", "padded-header",
    ],
)
def test_malformed_jws_raises_malformed_signature(keydir: Path, now: datetime, token: str) -> None:
    with pytest.raises(MalformedSignature) as info:
        verify_detached(b"data", token, KeyDirectory.load(keydir), at=now)
    assert info.value.code == "malformed_signature"


def test_header_kid_that_contradicts_the_declared_kid_is_malformed(
    own_key: SigningKey, keydir: Path, now: datetime
) -> None:
    token = sign_detached(b"data", own_key)
    assert verify_detached(b"data", token, KeyDirectory.load(keydir), at=now, kid="FR-PDC-1") == "FR-PDC-1"
    with pytest.raises(MalformedSignature, match="differs"):
        verify_detached(b"data", token, KeyDirectory.load(keydir), at=now, kid="DE-1")


def test_unknown_kid_raises_unknown_key(keydir: Path, now: datetime) -> None:
    stranger = SigningKey("stranger-1", Ed25519PrivateKey.generate())
    with pytest.raises(UnknownKey) as info:
        verify_detached(b"data", sign_detached(b"data", stranger), KeyDirectory.load(keydir), at=now)
    assert info.value.code == "unknown_key"


def test_expired_kid_raises_key_expired_not_bad_signature(own_key: SigningKey, keydir: Path, now: datetime) -> None:
    token = sign_detached(b"data", own_key)
    with pytest.raises(KeyExpired) as info:
        verify_detached(b"data", token, KeyDirectory.load(keydir), at=now + timedelta(days=366))
    assert info.value.code == "key_expired"
    assert not isinstance(info.value, (BadSignature, KeyNotYetValid, UnknownKey))


def test_not_yet_valid_kid_raises_key_not_yet_valid(own_key: SigningKey, keydir: Path, now: datetime) -> None:
    token = sign_detached(b"data", own_key)
    with pytest.raises(KeyNotYetValid) as info:
        verify_detached(b"data", token, KeyDirectory.load(keydir), at=now - timedelta(hours=1))
    assert info.value.code == "key_not_yet_valid"
    assert not isinstance(info.value, (BadSignature, KeyExpired, UnknownKey))


def test_a_resolver_function_can_stand_in_for_a_key_directory(own_key: SigningKey) -> None:
    def resolve(kid: str) -> Ed25519PublicKey:
        if kid != own_key.kid:
            raise UnknownKey(f"unknown key id {kid!r}")
        return own_key.public_key

    assert verify_detached(b"data", sign_detached(b"data", own_key), resolve) == own_key.kid


def test_old_key_signature_verifies_after_rotation_until_its_not_after_and_fails_after(
    own_key: SigningKey, keydir: Path, now: datetime
) -> None:
    payload = b"signed before the rotation"
    old_token = sign_detached(payload, own_key)
    rotated_at = now + timedelta(days=30)
    new_key = rotate(keydir, "FR-PDC-2", overlap_days=7, now=rotated_at)
    keys = KeyDirectory.load(keydir)
    assert keys.active_signing_key(rotated_at).kid == "FR-PDC-2" == new_key.kid
    old_end = rotated_at + timedelta(days=7)
    assert verify_detached(payload, old_token, keys, at=rotated_at) == "FR-PDC-1"
    assert verify_detached(payload, old_token, keys, at=old_end - timedelta(seconds=1)) == "FR-PDC-1"
    with pytest.raises(KeyExpired):
        verify_detached(payload, old_token, keys, at=old_end)
    assert verify_detached(payload, sign_detached(payload, new_key), keys, at=old_end) == "FR-PDC-2"


def test_no_eddsa_deprecation_warning_escapes_signing_or_verifying(own_key: SigningKey) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        token = sign_detached(b"data", own_key)
        verify_detached(b"data", token, {own_key.kid: own_key.public_key}.__getitem__)


def test_every_verification_failure_is_a_verification_error_mapped_to_401() -> None:
    for cls in (BadSignature, MalformedSignature, UnknownKey, KeyExpired, KeyNotYetValid):
        assert issubclass(cls, VerificationError)
        assert cls("x").http_status == 401 and cls("x").exit_code == 1
