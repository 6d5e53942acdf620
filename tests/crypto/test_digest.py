"""Content-Digest (RFC 9530): the examples of the RFC, and each way a digest can be wrong."""

from __future__ import annotations

import pytest

from hotline_gateway.core.errors import DigestMismatch, MalformedSignature, MissingSignature
from hotline_gateway.crypto.digest import content_digest, verify_content_digest

RFC_BODY = b'{"hello": "world"}'


def test_rfc9530_sha256_example_reproduced() -> None:
    assert content_digest(RFC_BODY) == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"


def test_rfc9530_sha512_example_reproduced() -> None:
    assert content_digest(RFC_BODY, ("sha-512",)) == (
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
    )


def test_matching_digest_verifies() -> None:
    verify_content_digest(content_digest(RFC_BODY, ("sha-256", "sha-512")), RFC_BODY)


def test_body_changed_by_one_byte_is_a_mismatch() -> None:
    with pytest.raises(DigestMismatch):
        verify_content_digest(content_digest(RFC_BODY), RFC_BODY[:-1] + b"]")


def test_missing_header_is_refused_with_its_own_code() -> None:
    with pytest.raises(MissingSignature) as info:
        verify_content_digest(None, RFC_BODY)
    assert info.value.code == "missing_digest"


@pytest.mark.parametrize("header", ["sha-256=abc", "md5=:rL0Y20zC+Fzt72VPzMSk2A==:", "sha-256=(1 2)", "=="])
def test_unparseable_or_insecure_digest_is_malformed(header: str) -> None:
    with pytest.raises(MalformedSignature):
        verify_content_digest(header, RFC_BODY)


def test_every_supported_digest_must_match_not_just_one() -> None:
    good = content_digest(RFC_BODY)
    bad512 = content_digest(b"other", ("sha-512",))
    with pytest.raises(DigestMismatch):
        verify_content_digest(f"{good}, {bad512}", RFC_BODY)
