"""Signed statements: a compact JWS (EdDSA) whose payload is the canonical JSON of a few claims.

Receipts, audit checkpoints and what partners witness of us are statements: small, self-contained,
verifiable by anyone holding the signer's published keys, and stable byte for byte (sorted keys).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hotline_gateway.core.errors import MalformedSignature
from hotline_gateway.crypto.jws import sign_detached, verify_detached
from hotline_gateway.crypto.keydir import KeyDirectory
from hotline_gateway.crypto.keys import SigningKey

Keys = KeyDirectory | Callable[[str], Ed25519PublicKey]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_statement(claims: Mapping[str, Any], key: SigningKey) -> str:
    body = orjson.dumps(dict(claims), option=orjson.OPT_SORT_KEYS)
    header, _, signature = sign_detached(body, key).partition("..")
    return f"{header}.{_b64(body)}.{signature}"


def read_statement(jws: str) -> tuple[bytes, dict[str, Any]]:
    """The payload bytes and claims of a statement, unverified (for display, or before verifying)."""
    parts = jws.split(".")
    if len(parts) != 3 or not parts[1]:
        raise MalformedSignature("not a compact JWS with a payload")
    try:
        body = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = orjson.loads(body)
    except (ValueError, orjson.JSONDecodeError):
        raise MalformedSignature("statement payload is not base64url JSON") from None
    if not isinstance(claims, dict):
        raise MalformedSignature("statement payload is not a JSON object")
    return body, claims


def verify_statement(jws: str, keys: Keys, *, at: datetime | None = None) -> dict[str, Any]:
    """The claims of a statement whose signature verifies under ``keys``; raises otherwise."""
    body, claims = read_statement(jws)
    header, _, signature = jws.split(".")
    verify_detached(body, f"{header}..{signature}", keys, at=at)
    return claims
