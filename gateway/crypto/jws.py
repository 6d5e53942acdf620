"""Detached JWS (RFC 7515 Appendix F) with EdDSA/Ed25519 (RFC 8037) over the exact payload bytes.

The compact form is ``header..signature``: the payload travels separately and is signed as it is, so
the signature still proves who produced those bytes after re-forwarding and storage. joserfc does the
JOSE work (headers, base64url, signing input); Ed25519 itself comes from ``cryptography``.

joserfc flags ``EdDSA`` as deprecated by RFC 9864 in favour of ``Ed25519``; our design (and partners'
verifiers) use ``EdDSA``, so that one warning is silenced around our calls only. ``catch_warnings``
changes process-wide state: it is safe here because signing and verification run on the event loop
thread, never concurrently from worker threads.
"""

from __future__ import annotations

import base64
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from joserfc import jws
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import OKPKey

from hotline_gateway.core.errors import BadSignature, MalformedSignature
from hotline_gateway.crypto.keydir import KeyDirectory
from hotline_gateway.crypto.keys import SigningKey

ALG = "EdDSA"


def _registry() -> jws.JWSRegistry:
    """Only EdDSA is accepted; payload size is bounded by the HTTP layer, not by joserfc's 128 kB default."""
    registry = jws.JWSRegistry(algorithms=[ALG])
    registry.max_payload_length = 1 << 40
    return registry


_REGISTRY = _registry()


@contextmanager
def _eddsa_allowed() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)
        yield


def sign_detached(payload: bytes, key: SigningKey, *, include_kid: bool = True) -> str:
    """Compact detached JWS over ``payload``; protected header ``{"alg":"EdDSA","kid":...}``."""
    header: dict[str, Any] = {"alg": ALG, "kid": key.kid} if include_kid else {"alg": ALG}
    with _eddsa_allowed():
        token = jws.serialize_compact(header, payload, OKPKey.import_key(key.private), registry=_REGISTRY)
    return jws.detach_content(token)


def verify_detached(
    payload: bytes,
    jws_value: str,
    keys: KeyDirectory | Callable[[str], Ed25519PublicKey],
    *,
    at: datetime | None = None,
    kid: str | None = None,
) -> str:
    """Check a detached JWS over ``payload`` and return the key id that verified it; raise if it does not.

    ``kid`` names the key when the header carries none; if both are present they must agree.
    ``at`` (default now) is the time at which a key directory checks the key's validity window.
    """
    parts = jws_value.split(".")
    if len(parts) != 3:
        raise MalformedSignature(f"not a compact JWS: {len(parts)} part(s) instead of 3")
    if parts[1]:
        raise MalformedSignature("not a detached JWS: the payload part must be empty")
    try:
        obj = jws.extract_compact(jws_value.encode("ascii"), payload, _REGISTRY)
    except (JoseError, ValueError) as exc:
        raise MalformedSignature(f"unreadable JWS header ({exc or type(exc).__name__})") from None
    header: Any = obj.headers()
    if not isinstance(header, dict):  # joserfc lets a JSON array through if it happens to contain "alg"
        raise MalformedSignature("JWS header is not a JSON object")
    if header.get("alg") != ALG:
        raise MalformedSignature(f"JWS alg must be {ALG!r}, not {header.get('alg')!r}")
    if "crit" in header or "b64" in header:
        raise MalformedSignature("JWS header extensions (crit, b64) are not accepted: the payload is signed as is")
    header_kid = header.get("kid")
    if header_kid is not None and (not isinstance(header_kid, str) or not header_kid):
        raise MalformedSignature("JWS kid must be a non-empty string")
    if header_kid is not None and kid is not None and header_kid != kid:
        raise MalformedSignature(f"JWS kid {header_kid!r} differs from the declared key id {kid!r}")
    use = header_kid if header_kid is not None else kid
    if not use:
        raise MalformedSignature("JWS header has no kid and no key id was given")
    public = keys.resolve(use, at) if isinstance(keys, KeyDirectory) else keys(use)
    try:
        with _eddsa_allowed():
            ok = jws.validate_compact(obj, OKPKey.import_key(public), registry=_REGISTRY)
    except JoseError as exc:
        raise MalformedSignature(f"JWS refused ({exc})") from None
    if not ok:
        raise BadSignature(f"signature by key {use!r} does not match the payload")
    return use


def jws_kid(token: str) -> str:
    """The ``kid`` of a compact JWS's protected header (read, not verified: for labelling only)."""
    header = token.split(".", 1)[0]
    try:
        data = orjson.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise MalformedSignature("JWS header is not base64url JSON") from None
    kid = data.get("kid") if isinstance(data, dict) else None
    if not isinstance(kid, str) or not kid:
        raise MalformedSignature("JWS header has no kid")
    return kid
