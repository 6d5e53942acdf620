"""The operator credential, stored as a scrypt hash (RFC 7914, through ``cryptography``): a stolen
copy of the file gives no password back without a costly search, and checking takes constant time.

Format: ``scrypt$<log2 n>$<r>$<p>$<salt, base64url>$<key, base64url>`` on one line.
"""

from __future__ import annotations

import base64
import secrets

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from hotline_gateway.core.errors import KeyFileError, VerificationError

LOG2_N, R, P, LENGTH = 15, 8, 1, 32
MIN_LENGTH = 12


class BadCredential(VerificationError):
    code = "bad_credential"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise ValueError(f"use at least {MIN_LENGTH} characters")
    salt = secrets.token_bytes(16)
    key = Scrypt(salt=salt, length=LENGTH, n=1 << LOG2_N, r=R, p=P).derive(password.encode("utf-8"))
    return f"scrypt${LOG2_N}${R}${P}${_b64(salt)}${_b64(key)}"


def verify_password(stored: str, password: str) -> None:
    """Raise ``BadCredential`` unless ``password`` matches; ``KeyFileError`` when ``stored`` is damaged."""
    try:
        scheme, log2_n, r, p, salt, key = stored.strip().split("$")
        if scheme != "scrypt" or not 10 <= int(log2_n) <= 20:
            raise ValueError(scheme)
        kdf = Scrypt(salt=_unb64(salt), length=len(_unb64(key)), n=1 << int(log2_n), r=int(r), p=int(p))
    except ValueError:
        raise KeyFileError("the operator credential file is not a scrypt hash written by "
                           "`hotline-gateway operator set-password`") from None
    try:
        kdf.verify(password.encode("utf-8"), _unb64(key))
    except InvalidKey:
        raise BadCredential("wrong operator credential") from None
