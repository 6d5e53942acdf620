"""Sealing personal data with a key of its own (crypto-shredding): reporter data, and any payload that
carries it, is encrypted with a per-case AES-256-GCM key; deleting the key makes every copy unreadable —
in the store, its write-ahead log and its backups — while digests and signatures stay verifiable.

A sealed blob is ``nonce (12 bytes) || ciphertext+tag``; the case id is bound in as associated data, so
a blob moved to another case does not open.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hotline_gateway.core.errors import GatewayError

KEY_BYTES = 32
NONCE_BYTES = 12


class Unsealable(GatewayError):
    """The key is gone (erased under retention or on request), or the blob is not what was sealed."""

    code = "sealed_data_unreadable"


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=8 * KEY_BYTES)


def seal(key: bytes, plaintext: bytes, case_id: str) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, case_id.encode())


def unseal(key: bytes | None, blob: bytes, case_id: str) -> bytes:
    if key is None:
        raise Unsealable(f"the reporter data of case {case_id} was erased (its key is gone)")
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], case_id.encode())
    except (InvalidTag, ValueError):
        raise Unsealable(f"sealed data of case {case_id} does not open with its key") from None


def index_token(secret: bytes, email: str) -> str:
    """What an erasure request is matched on: a keyed digest of the normalised address, so the store
    never holds the address in clear next to the index."""
    return hmac.new(secret, email.strip().lower().encode(), hashlib.sha256).hexdigest()
