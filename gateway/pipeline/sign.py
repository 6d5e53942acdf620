"""Sign: a detached JWS (EdDSA) over the exact payload bytes, so provenance survives re-forwarding."""

from __future__ import annotations

import hashlib

from hotline_gateway.crypto.jws import sign_detached
from hotline_gateway.crypto.keys import SigningKey


def payload_digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def sign_payload(payload: bytes, key: SigningKey) -> str:
    return sign_detached(payload, key)
