"""JWK conversions for Ed25519 keys, done by joserfc so no JOSE encoding is written by hand here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

#: the only members of an OKP JWK that describe the key itself (RFC 8037 §2); "d" is deliberately absent
KEY_MEMBERS = ("kty", "crv", "x")


def public_jwk(public_key: Ed25519PublicKey, kid: str) -> dict[str, str]:
    """The public JWK partners need to verify our signatures: OKP, Ed25519, ``x``, kid, use sig, alg EdDSA."""
    members: dict[str, Any] = OKPKey.import_key(public_key, {"kid": kid, "use": "sig", "alg": "EdDSA"}).as_dict(
        private=False
    )
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": str(members["x"]),
        "kid": kid,
        "use": "sig",
        "alg": "EdDSA",
    }


def public_key_from_jwk(members: Mapping[str, Any]) -> Ed25519PublicKey:
    """The Ed25519 key a JWK describes; raises ``ValueError`` (with a short reason) for anything else."""
    if members.get("kty") != "OKP":
        raise ValueError(f"kty must be 'OKP', not {members.get('kty')!r}")
    if members.get("crv") != "Ed25519":
        raise ValueError(f"crv must be 'Ed25519', not {members.get('crv')!r}")
    if not isinstance(members.get("x"), str):
        raise ValueError("x must be a base64url string")
    try:
        key = OKPKey.import_key({name: members[name] for name in KEY_MEMBERS})
    except (JoseError, ValueError, TypeError) as exc:
        raise ValueError(f"x is not a valid Ed25519 public key ({exc or type(exc).__name__})") from None
    public = key.public_key
    if not isinstance(public, Ed25519PublicKey):  # pragma: no cover - crv was checked above
        raise ValueError("not an Ed25519 public key")
    return public


def thumbprint(public_key: Ed25519PublicKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url): a key id that anyone can recompute from the key."""
    return str(OKPKey.import_key(public_key).thumbprint())
