"""HTTP Message Signatures (RFC 9421) with Ed25519, for requests between gateways and their answers.

The signature base is built exactly as RFC 9421 section 2.5 says, from the covered components in
the order the signer listed them; structured-field parsing and serialisation come from http_sfv.
Verification raises a typed error saying why; it never returns a bool. Replay protection (created
within a skew window, nonce seen once) is part of verification, so no caller can forget it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from http_sfv.dictionary import Dictionary
from http_sfv.item import InnerList, Item

from hotline_gateway.core.errors import BadSignature, MalformedSignature, MissingSignature, Replay

ALG = "ed25519"
REQUEST_COMPONENTS = ("@method", "@target-uri", "content-digest", "content-type")
RESPONSE_COMPONENTS = ("@status", "content-type", "content-digest")
Resolver = Callable[[str], Ed25519PublicKey]
NonceSeen = Callable[[str, str], bool]


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    kid: str
    created: int
    nonce: str | None
    label: str
    covered: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Message:
    """What the derived components of RFC 9421 section 2.2 are read from."""

    headers: Mapping[str, str]
    method: str | None = None
    target_uri: str | None = None
    status: int | None = None

    def header(self, name: str) -> str | None:
        getall = getattr(self.headers, "getall", None)
        if getall is not None:
            values = getall(name, [])
            return ", ".join(v.strip() for v in values) if values else None
        for key, value in self.headers.items():
            if key.lower() == name:
                return value.strip()
        return None


def _derived(name: str, msg: _Message) -> str | None:
    if name == "@status":
        return None if msg.status is None else str(msg.status)
    if name == "@method":
        return msg.method.upper() if msg.method else None
    if msg.target_uri is None:
        return None
    url = urlsplit(msg.target_uri)
    default_port = {"http": 80, "https": 443}.get(url.scheme)
    host = (url.hostname or "").lower()
    authority = host if url.port in (None, default_port) else f"{host}:{url.port}"
    values = {
        "@target-uri": msg.target_uri,
        "@authority": authority,
        "@scheme": url.scheme.lower(),
        "@path": url.path or "/",
        "@query": "?" + url.query,
        "@request-target": (url.path or "/") + ("?" + url.query if url.query else ""),
    }
    return values.get(name)


def _component_value(name: str, msg: _Message) -> str:
    value = _derived(name, msg) if name.startswith("@") else msg.header(name)
    if value is None:
        raise MissingSignature(f"covered component {name!r} is missing from the message",
                               code="missing_component")
    return value


def _signature_base(covered: Iterable[str], params: InnerList, msg: _Message) -> bytes:
    lines = [f'"{name}": {_component_value(name, msg)}' for name in covered]
    lines.append(f'"@signature-params": {params}')
    return "\n".join(lines).encode("utf-8")


def _params(covered: Iterable[str], *, created: int, kid: str, nonce: str | None,
            alg: str | None) -> InnerList:
    inner = InnerList([Item(c) for c in covered])
    inner.params["created"] = created
    inner.params["keyid"] = kid
    if nonce is not None:
        inner.params["nonce"] = nonce
    if alg is not None:
        inner.params["alg"] = alg
    return inner


def _sign(msg: _Message, *, kid: str, private_key: Ed25519PrivateKey, components: tuple[str, ...],
          label: str, created: int | None, nonce: str | None, alg: str | None) -> dict[str, str]:
    params = _params(components, created=int(time.time()) if created is None else created, kid=kid,
                     nonce=nonce, alg=alg)
    signature = private_key.sign(_signature_base(components, params, msg))
    inputs = Dictionary()
    inputs[label] = params
    sigs = Dictionary()
    sigs[label] = Item(signature)
    return {"Signature-Input": str(inputs), "Signature": str(sigs)}


def sign_request(*, method: str, target_uri: str, headers: Mapping[str, str], kid: str,
                 private_key: Ed25519PrivateKey, created: int | None = None, nonce: str | None = None,
                 components: tuple[str, ...] = REQUEST_COMPONENTS, label: str = "sig1",
                 alg: str | None = ALG) -> dict[str, str]:
    """Signature-Input and Signature headers for a request; a fresh random nonce unless one is given."""
    if nonce is None:
        nonce = secrets.token_urlsafe(16)
    return _sign(_Message(headers, method=method, target_uri=target_uri), kid=kid, private_key=private_key,
                 components=components, label=label, created=created, nonce=nonce, alg=alg)


def sign_response(*, status: int, headers: Mapping[str, str], kid: str, private_key: Ed25519PrivateKey,
                  created: int | None = None, components: tuple[str, ...] = RESPONSE_COMPONENTS,
                  label: str = "sig1") -> dict[str, str]:
    return _sign(_Message(headers, status=status), kid=kid, private_key=private_key, components=components,
                 label=label, created=created, nonce=None, alg=ALG)


def _parse(headers: _Message) -> tuple[str, InnerList, bytes]:
    raw_input, raw_sig = headers.header("signature-input"), headers.header("signature")
    if not raw_input or not raw_sig:
        raise MissingSignature("message is not signed (no Signature-Input / Signature)")
    inputs, sigs = Dictionary(), Dictionary()
    try:
        inputs.parse(raw_input.encode("ascii"))
        sigs.parse(raw_sig.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise MalformedSignature("Signature-Input or Signature is not a structured dictionary") from None
    labels = [label for label in inputs if label in sigs]
    if not labels:
        raise MalformedSignature("no signature label appears in both Signature-Input and Signature")
    label = labels[0]
    params, sig = inputs[label], sigs[label]
    if not isinstance(params, InnerList) or not isinstance(getattr(sig, "value", None), bytes):
        raise MalformedSignature(f"signature {label!r} is not an inner list with a byte sequence")
    for item in params:
        if not isinstance(item.value, str) or item.params:
            raise MalformedSignature("covered components must be plain strings")
    return label, params, sig.value


def _verify(msg: _Message, resolve: Resolver, *, now: float | None, max_skew: int,
            required: Iterable[str], nonce_seen: NonceSeen | None) -> VerifiedSignature:
    label, params, signature = _parse(msg)
    covered = tuple(str(item.value) for item in params)
    missing = [c for c in required if c not in covered]
    if missing:
        raise MalformedSignature(f"signature does not cover {', '.join(missing)}")
    kid, created, nonce, alg = (params.params.get(k) for k in ("keyid", "created", "nonce", "alg"))
    if not isinstance(kid, str) or not kid:
        raise MalformedSignature("signature has no keyid parameter")
    if not isinstance(created, int) or isinstance(created, bool):
        raise MalformedSignature("signature has no integer created parameter")
    if alg is not None and alg != ALG:
        raise MalformedSignature(f"signature algorithm {alg!r} is not {ALG}")
    if nonce is not None and not isinstance(nonce, str):
        raise MalformedSignature("signature nonce is not a string")
    expires = params.params.get("expires")
    key = resolve(kid)
    try:
        key.verify(signature, _signature_base(covered, params, msg))
    except InvalidSignature:
        raise BadSignature(f"signature {label!r} by {kid!r} does not verify") from None
    clock = time.time() if now is None else now
    if abs(clock - created) > max_skew:
        raise Replay(f"signature created {int(clock - created)} s from now, outside ±{max_skew} s")
    if isinstance(expires, int) and clock > expires:
        raise Replay("signature has expired")
    if nonce_seen is not None:
        if nonce is None:
            raise MalformedSignature("signature has no nonce parameter")
        if nonce_seen(kid, nonce):
            raise Replay("nonce already seen inside the replay window")
    return VerifiedSignature(kid=kid, created=created, nonce=nonce, label=label, covered=covered)


def verify_request(*, method: str, target_uri: str, headers: Mapping[str, str], resolve: Resolver,
                   now: float | None = None, max_skew: int = 300,
                   required_components: Iterable[str] = REQUEST_COMPONENTS,
                   nonce_seen: NonceSeen | None = None) -> VerifiedSignature:
    """Check a request's signature, its coverage, freshness and (if a cache is given) its nonce."""
    return _verify(_Message(headers, method=method, target_uri=target_uri), resolve, now=now, max_skew=max_skew,
                   required=required_components, nonce_seen=nonce_seen)


def verify_response(*, status: int, headers: Mapping[str, str], resolve: Resolver, now: float | None = None,
                    max_skew: int = 300) -> VerifiedSignature:
    return _verify(_Message(headers, status=status), resolve, now=now, max_skew=max_skew,
                   required=RESPONSE_COMPONENTS, nonce_seen=None)
