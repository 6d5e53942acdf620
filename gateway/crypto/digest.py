"""Content-Digest (RFC 9530): the hash of the exact body bytes, carried in a signed header.

The HTTP message signature covers this header rather than the body, so checking the digest against
the bytes received is what binds the signature to the payload. Only sha-256 and sha-512 are
accepted; the insecure algorithms RFC 9530 registers (md5, sha, crc32, ...) are refused.
"""

from __future__ import annotations

import hashlib
import hmac

from http_sfv.dictionary import Dictionary
from http_sfv.item import Item

from hotline_gateway.core.errors import DigestMismatch, MalformedSignature, MissingSignature

ALGORITHMS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


def content_digest(body: bytes, algorithms: tuple[str, ...] = ("sha-256",)) -> str:
    """The Content-Digest field value for ``body`` under each algorithm named."""
    field = Dictionary()
    for alg in algorithms:
        if alg not in ALGORITHMS:
            raise ValueError(f"unsupported digest algorithm {alg!r}")
        field[alg] = Item(ALGORITHMS[alg](body).digest())
    return str(field)


def verify_content_digest(header: str | None, body: bytes) -> None:
    """Raise unless ``header`` holds at least one supported digest and every supported one matches."""
    if header is None or not header.strip():
        raise MissingSignature("request has no Content-Digest header", code="missing_digest")
    field = Dictionary()
    try:
        field.parse(header.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise MalformedSignature("Content-Digest is not a structured dictionary", code="malformed_digest") from None
    checked = 0
    for alg, member in field.items():
        if alg not in ALGORITHMS:
            continue
        value = getattr(member, "value", None)
        if not isinstance(value, bytes):
            raise MalformedSignature(f"Content-Digest {alg} is not a byte sequence", code="malformed_digest")
        if not hmac.compare_digest(value, ALGORITHMS[alg](body).digest()):
            raise DigestMismatch(f"Content-Digest {alg} does not match the body")
        checked += 1
    if not checked:
        raise MalformedSignature("Content-Digest names no supported algorithm (sha-256, sha-512)",
                                 code="malformed_digest")
