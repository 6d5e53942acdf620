"""The detached JWS as joserfc did it before we built it on pyca directly: the oracle of the cross-checks.

This is the earlier ``hotline_gateway.crypto.jws``, kept verbatim in behaviour (joserfc for headers,
base64url and signing input; our extra refusals of non-object headers, ``crit``/``b64`` and kid rules),
so the tests can hold the direct implementation to exactly what it replaced.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from joserfc import jws
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import OKPKey

from hotline_gateway.core.errors import BadSignature, MalformedSignature
from hotline_gateway.crypto.keys import SigningKey

ALG = "EdDSA"
REGISTRY = jws.JWSRegistry(algorithms=[ALG])
REGISTRY.max_payload_length = 1 << 40


@contextmanager
def _eddsa_allowed() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)
        yield


def sign_detached(payload: bytes, key: SigningKey, *, include_kid: bool = True) -> str:
    header: dict[str, Any] = {"alg": ALG, "kid": key.kid} if include_kid else {"alg": ALG}
    with _eddsa_allowed():
        token = jws.serialize_compact(header, payload, OKPKey.import_key(key.private), registry=REGISTRY)
    return jws.detach_content(token)


def sign_compact(payload: bytes, key: SigningKey) -> str:
    with _eddsa_allowed():
        return jws.serialize_compact({"alg": ALG, "kid": key.kid}, payload, OKPKey.import_key(key.private),
                                     registry=REGISTRY)


def verify_detached(payload: bytes, jws_value: str, resolve: Callable[[str], Ed25519PublicKey], *,
                    kid: str | None = None) -> str:
    parts = jws_value.split(".")
    if len(parts) != 3:
        raise MalformedSignature("not a compact JWS")
    if parts[1]:
        raise MalformedSignature("not a detached JWS")
    try:
        obj = jws.extract_compact(jws_value.encode("ascii"), payload, REGISTRY)
    except (JoseError, ValueError):
        raise MalformedSignature("unreadable JWS header") from None
    header: Any = obj.headers()
    if not isinstance(header, dict):
        raise MalformedSignature("JWS header is not a JSON object")
    if header.get("alg") != ALG:
        raise MalformedSignature("JWS alg must be EdDSA")
    if "crit" in header or "b64" in header:
        raise MalformedSignature("JWS header extensions are not accepted")
    header_kid = header.get("kid")
    if header_kid is not None and (not isinstance(header_kid, str) or not header_kid):
        raise MalformedSignature("JWS kid must be a non-empty string")
    if header_kid is not None and kid is not None and header_kid != kid:
        raise MalformedSignature("JWS kid differs")
    use = header_kid if header_kid is not None else kid
    if not use:
        raise MalformedSignature("no kid")
    public = resolve(use)
    try:
        with _eddsa_allowed():
            ok = jws.validate_compact(obj, OKPKey.import_key(public), registry=REGISTRY)
    except JoseError:
        raise MalformedSignature("JWS refused") from None
    if not ok:
        raise BadSignature("signature does not match")
    return use
