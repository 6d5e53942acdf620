"""JWS with EdDSA/Ed25519 (RFC 7515, RFC 8037): detached over exact payload bytes, or compact for receipts.

The detached form ``header..signature`` (RFC 7515 Appendix F) lets the payload travel separately and be
signed as it is, so the signature still proves who produced those bytes after re-forwarding and storage.

Built on ``cryptography``'s Ed25519 and the standard library directly, not on a JOSE library: every
message is signed once and verified once per hop, and joserfc's generic machinery (key import, header
registry, algorithm lookup, each per call) doubled the cost of the Ed25519 operation itself. The
output is byte-identical to joserfc's (same protected header serialisation: ``json.dumps`` with
``ensure_ascii=True`` and ``(",", ":")`` separators, ``alg`` then ``kid``; unpadded base64url), and the
tests hold it to RFC 8037 A.4, to joserfc both ways for random keys and payloads, and to jwcrypto.

Verification accepts exactly what joserfc accepted (``EdDSA`` only; the registered header members
with their types; header at most 512 bytes; strict, canonical base64url), minus what we refuse on
purpose: ``crit`` and ``b64`` (the payload is signed as it is), and a header that is not UTF-8
JSON (joserfc let ``json.loads`` guess UTF-16/32 or skip a BOM; RFC 7515 says UTF-8). Parsed
headers are cached by their segment, as every message from one key carries the same one.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hotline_gateway.core.errors import BadSignature, MalformedSignature
from hotline_gateway.crypto.keydir import KeyDirectory
from hotline_gateway.crypto.keys import SigningKey

ALG = "EdDSA"
Keys = KeyDirectory | Callable[[str], Ed25519PublicKey]

#: joserfc's default bounds on the header and signature segments (the payload is bounded by the HTTP layer)
MAX_HEADER_SEGMENT = 512
MAX_SIGNATURE_SEGMENT = 1024

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
#: the last character of unpadded base64url whose unused low bits are zero (canonical encodings only)
_CANONICAL_LAST = {2: frozenset("AQgw"), 1: frozenset("AEIMQUYcgkosw048")}


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def _is_list_of_str(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


#: the registered JWS header members joserfc accepts, with its type checks; any other member is refused
_MEMBERS: dict[str, Callable[[Any], bool]] = {
    "alg": _is_str, "kid": _is_str, "typ": _is_str, "cty": _is_str, "x5t": _is_str, "x5t#S256": _is_str,
    "jku": _is_url, "x5u": _is_url, "x5c": _is_list_of_str, "jwk": lambda v: isinstance(v, dict),
}


class VerifiedJws(NamedTuple):
    kid: str
    payload: bytes


def _b64bytes(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _b64encode(data: bytes) -> str:
    return _b64bytes(data).decode("ascii")


def _b64decode(segment: str) -> bytes:
    """Strict unpadded base64url, as joserfc reads it: no padding, no other alphabet, canonical last bits."""
    pad = -len(segment) % 4
    if pad == 3 or not _B64URL.fullmatch(segment) or (pad and segment[-1] not in _CANONICAL_LAST[pad]):
        raise ValueError("not canonical unpadded base64url")
    return base64.urlsafe_b64decode(segment + "=" * pad)


def b64url(data: bytes) -> str:
    """Unpadded base64url, as JOSE writes it."""
    return _b64encode(data)


def b64url_decode(segment: str) -> bytes:
    """Strict unpadded base64url (see ``_b64decode``); raises ValueError."""
    return _b64decode(segment)


@lru_cache(maxsize=64)
def _header_segment(kid: str | None) -> str:
    header = {"alg": ALG, "kid": kid} if kid is not None else {"alg": ALG}
    return _b64encode(json.dumps(header, ensure_ascii=True, separators=(",", ":")).encode("ascii"))


@lru_cache(maxsize=256)
def _header_kid(segment: str) -> str | None:
    """The kid of a protected header that we accept; raises ``MalformedSignature`` for any other header."""
    if len(segment) > MAX_HEADER_SEGMENT:
        raise MalformedSignature(f"JWS header is longer than {MAX_HEADER_SEGMENT} bytes")
    try:
        header = json.loads(_b64decode(segment).decode("utf-8"))
    except ValueError:  # base64, UTF-8 and JSON errors all derive from it
        raise MalformedSignature("unreadable JWS header (not base64url of UTF-8 JSON)") from None
    if not isinstance(header, dict):
        raise MalformedSignature("JWS header is not a JSON object")
    if header.get("alg") != ALG:
        raise MalformedSignature(f"JWS alg must be {ALG!r}, not {header.get('alg')!r}")
    if "crit" in header or "b64" in header:
        raise MalformedSignature("JWS header extensions (crit, b64) are not accepted: the payload is signed as is")
    for name, value in header.items():
        check = _MEMBERS.get(name)
        if check is None:
            raise MalformedSignature(f"JWS header member {name!r} is not accepted")
        if not check(value):
            raise MalformedSignature(f"JWS header member {name!r} has a value of the wrong type")
    kid = header.get("kid")
    if kid is not None and not kid:
        raise MalformedSignature("JWS kid must be a non-empty string")
    return kid


def _split(token: str) -> tuple[str, str, str]:
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedSignature(f"not a compact JWS: {len(parts)} part(s) instead of 3")
    return parts[0], parts[1], parts[2]


def _signature(header: str, payload_segment: bytes, key: SigningKey) -> str:
    return _b64encode(key.private.sign(b"%s.%s" % (header.encode("ascii"), payload_segment)))


def sign_detached(payload: bytes, key: SigningKey, *, include_kid: bool = True) -> str:
    """Compact detached JWS over ``payload``; protected header ``{"alg":"EdDSA","kid":...}``."""
    header = _header_segment(key.kid if include_kid else None)
    return f"{header}..{_signature(header, _b64bytes(payload), key)}"


def sign_compact(payload: bytes, key: SigningKey) -> str:
    """Compact JWS with the payload attached (a receipt travels as one self-contained token)."""
    header, body = _header_segment(key.kid), _b64bytes(payload)
    return f"{header}.{body.decode('ascii')}.{_signature(header, body, key)}"


def _verify(header: str, payload_segment: bytes, signature: str, keys: Keys, at: datetime | None,
            kid: str | None) -> str:
    header_kid = _header_kid(header)
    if len(signature) > MAX_SIGNATURE_SEGMENT:
        raise MalformedSignature(f"JWS signature is longer than {MAX_SIGNATURE_SEGMENT} bytes")
    if header_kid is not None and kid is not None and header_kid != kid:
        raise MalformedSignature(f"JWS kid {header_kid!r} differs from the declared key id {kid!r}")
    use = header_kid if header_kid is not None else kid
    if not use:
        raise MalformedSignature("JWS header has no kid and no key id was given")
    public = keys.resolve(use, at) if isinstance(keys, KeyDirectory) else keys(use)
    try:
        public.verify(_b64decode(signature), b"%s.%s" % (header.encode("ascii"), payload_segment))
    except (InvalidSignature, ValueError):  # an undecodable signature is a wrong one, as joserfc has it
        raise BadSignature(f"signature by key {use!r} does not match the payload") from None
    return use


def verify_detached(payload: bytes, jws_value: str, keys: Keys, *, at: datetime | None = None,
                    kid: str | None = None) -> str:
    """Check a detached JWS over ``payload`` and return the key id that verified it; raise if it does not.

    ``kid`` names the key when the header carries none; if both are present they must agree.
    ``at`` (default now) is the time at which a key directory checks the key's validity window.
    """
    header, middle, signature = _split(jws_value)
    if middle:
        raise MalformedSignature("not a detached JWS: the payload part must be empty")
    return _verify(header, _b64bytes(payload), signature, keys, at, kid)


def verify_compact(token: str, keys: Keys, *, at: datetime | None = None, kid: str | None = None) -> VerifiedJws:
    """Check a compact JWS with an attached payload; return the key id and the payload bytes it signs.

    ``at`` and ``kid`` mean what they mean for ``verify_detached``.
    """
    header, body, signature = _split(token)
    payload = compact_payload(token)
    return VerifiedJws(_verify(header, body.encode("ascii"), signature, keys, at, kid), payload)


def compact_payload(token: str) -> bytes:
    """The attached payload of a compact JWS, NOT verified (for showing what a stored, verified token says).

    An empty payload part reads as an empty payload: in a compact JWS it cannot be told from a detached one.
    """
    _, body, _ = _split(token)
    try:
        return _b64decode(body)
    except ValueError:
        raise MalformedSignature("JWS payload is not base64url") from None


def jws_kid(token: str) -> str:
    """The key id a JWS header names, NOT verified (to label a signature we made or will verify later)."""
    kid = _header_kid(_split(token)[0])
    if kid is None:
        raise MalformedSignature("JWS header has no kid")
    return kid
