"""HTTP Message Signatures (RFC 9421) with Ed25519, for requests between gateways and their answers.

The signature base is built exactly as RFC 9421 section 2.5 says, from the covered components in
the order the signer listed them; structured-field parsing and serialisation come from http_sfv.
Verification raises a typed error saying why; it never returns a bool.

- Only our label (``sig1``) is verified when a message carries several signatures: another party's
  signature in front of ours (a proxy's, an attacker's) is never the one that decides.
- An answer covers the request's own signature (``"signature";req;key="sig1"``, section 2.4), so a
  signed answer cannot be replayed as the answer to a different request.
- Replay protection of requests (created within a skew window, a nonce seen once) is completed by the
  caller, which spends the nonce only after the body has matched its digest.
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
LABEL = "sig1"
REQUEST_COMPONENTS = ("@method", "@target-uri", "content-digest", "content-type")
RESPONSE_COMPONENTS = ("@status", "content-type", "content-digest")
#: RFC 9421 §2.4: an answer covers the request's own signature (the ``sig1`` member of its ``Signature``
#: field), so a signed answer to one request cannot be passed off as the answer to another
REQUEST_BINDING = f'"signature";req;key="{LABEL}"'
Resolver = Callable[[str], Ed25519PublicKey]
NonceSeen = Callable[[str, str], bool]
_ALLOWED_PARAMS = frozenset({"req", "key"})


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    kid: str
    created: int
    nonce: str | None
    label: str
    covered: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Request:
    """The request an answer is bound to, as its sender sent it."""

    method: str
    target_uri: str
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class _Message:
    """What the components of RFC 9421 section 2 are read from (``request`` for ``;req`` ones)."""

    headers: Mapping[str, str]
    method: str | None = None
    target_uri: str | None = None
    status: int | None = None
    request: _Message | None = None

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


def _component(spec: str | Item) -> Item:
    """A component identifier: a plain name, or a serialised one with parameters (``"x";req``)."""
    if isinstance(spec, Item):
        return spec
    if spec.startswith('"'):
        item = Item()
        item.parse(spec.encode("ascii"))
        return item
    return Item(spec)


def _component_value(component: Item, msg: _Message) -> str:
    name = str(component.value)
    params = dict(component.params)
    source = msg
    if params.get("req"):
        if msg.request is None:
            raise MissingSignature(f"component {component} names the request, which is not known here",
                                   code="missing_component")
        source = msg.request
    if name.startswith("@"):
        value = _derived(name, source)
    elif "key" in params:
        raw = source.header(name)
        value = None
        if raw is not None:
            field = Dictionary()
            try:
                field.parse(raw.encode("ascii"))
            except (ValueError, UnicodeEncodeError):
                raise MalformedSignature(f"{name} is not a structured dictionary") from None
            member = field.get(str(params["key"]))
            value = None if member is None else str(member)
    else:
        value = source.header(name)
    if value is None:
        raise MissingSignature(f"covered component {component} is missing from the message", code="missing_component")
    return value


def _signature_base(params: InnerList, msg: _Message) -> bytes:
    lines = [f"{component}: {_component_value(component, msg)}" for component in params]
    lines.append(f'"@signature-params": {params}')
    return "\n".join(lines).encode("utf-8")


def _params(covered: Iterable[str | Item], *, created: int, kid: str, nonce: str | None,
            alg: str | None) -> InnerList:
    inner = InnerList([_component(c) for c in covered])
    inner.params["created"] = created
    inner.params["keyid"] = kid
    if nonce is not None:
        inner.params["nonce"] = nonce
    if alg is not None:
        inner.params["alg"] = alg
    return inner


def _sign(msg: _Message, *, kid: str, private_key: Ed25519PrivateKey, components: Iterable[str | Item],
          label: str, created: int | None, nonce: str | None, alg: str | None) -> dict[str, str]:
    params = _params(components, created=int(time.time()) if created is None else created, kid=kid,
                     nonce=nonce, alg=alg)
    signature = private_key.sign(_signature_base(params, msg))
    inputs = Dictionary()
    inputs[label] = params
    sigs = Dictionary()
    sigs[label] = Item(signature)
    return {"Signature-Input": str(inputs), "Signature": str(sigs)}


def sign_request(*, method: str, target_uri: str, headers: Mapping[str, str], kid: str,
                 private_key: Ed25519PrivateKey, created: int | None = None, nonce: str | None = None,
                 components: tuple[str, ...] = REQUEST_COMPONENTS, label: str = LABEL,
                 alg: str | None = ALG) -> dict[str, str]:
    """Signature-Input and Signature headers for a request; a fresh random nonce unless one is given."""
    if nonce is None:
        nonce = secrets.token_urlsafe(16)
    return _sign(_Message(headers, method=method, target_uri=target_uri), kid=kid, private_key=private_key,
                 components=components, label=label, created=created, nonce=nonce, alg=alg)


def sign_response(*, status: int, headers: Mapping[str, str], kid: str, private_key: Ed25519PrivateKey,
                  created: int | None = None, components: tuple[str, ...] = RESPONSE_COMPONENTS,
                  label: str = LABEL, request: Request | None = None) -> dict[str, str]:
    """Signature headers for an answer; bound to ``request`` when it was signed with our label."""
    req = _request_message(request)
    covered: tuple[str, ...] = components
    if req is not None and _has_label(req, LABEL) and REQUEST_BINDING not in covered:
        covered = (*components, REQUEST_BINDING)
    return _sign(_Message(headers, status=status, request=req), kid=kid, private_key=private_key,
                 components=covered, label=label, created=created, nonce=None, alg=ALG)


def _has_label(msg: _Message, label: str) -> bool:
    """Whether the message carries a well-formed signature under ``label`` (an answer to a request
    whose signature is missing or garbled is signed all the same, just not bound to it)."""
    raw = msg.header("signature")
    if not raw:
        return False
    field = Dictionary()
    try:
        field.parse(raw.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return False
    return isinstance(getattr(field.get(label), "value", None), bytes)


def _request_message(request: Request | None) -> _Message | None:
    if request is None:
        return None
    return _Message(request.headers, method=request.method, target_uri=request.target_uri)


def _parse(msg: _Message, label: str) -> tuple[InnerList, bytes]:
    raw_input, raw_sig = msg.header("signature-input"), msg.header("signature")
    if not raw_input or not raw_sig:
        raise MissingSignature("message is not signed (no Signature-Input / Signature)")
    inputs, sigs = Dictionary(), Dictionary()
    try:
        inputs.parse(raw_input.encode("ascii"))
        sigs.parse(raw_sig.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise MalformedSignature("Signature-Input or Signature is not a structured dictionary") from None
    if label not in inputs or label not in sigs:
        raise MissingSignature(f"no signature labelled {label!r} (found: {', '.join(inputs) or 'none'})")
    params, sig = inputs[label], sigs[label]
    if not isinstance(params, InnerList) or not isinstance(getattr(sig, "value", None), bytes):
        raise MalformedSignature(f"signature {label!r} is not an inner list with a byte sequence")
    for item in params:
        if not isinstance(item.value, str) or set(item.params) - _ALLOWED_PARAMS:
            raise MalformedSignature("covered components must be strings with at most the req and key parameters")
    return params, sig.value


def _verify(msg: _Message, resolve: Resolver, *, now: float | None, max_skew: int, required: Iterable[str],
            nonce_seen: NonceSeen | None, require_nonce: bool, label: str) -> VerifiedSignature:
    params, signature = _parse(msg, label)
    covered = tuple(str(item) if item.params else str(item.value) for item in params)
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
    if (require_nonce or nonce_seen is not None) and nonce is None:
        raise MalformedSignature("signature has no nonce parameter")
    expires = params.params.get("expires")
    key = resolve(kid)
    try:
        key.verify(signature, _signature_base(params, msg))
    except InvalidSignature:
        raise BadSignature(f"signature {label!r} by {kid!r} does not verify") from None
    clock = time.time() if now is None else now
    if abs(clock - created) > max_skew:
        raise Replay(f"signature created {int(clock - created)} s from now, outside ±{max_skew} s")
    if isinstance(expires, int) and clock > expires:
        raise Replay("signature has expired")
    if nonce_seen is not None and nonce is not None and nonce_seen(kid, nonce):
        raise Replay("nonce already seen inside the replay window")
    return VerifiedSignature(kid=kid, created=created, nonce=nonce, label=label, covered=covered)


def verify_request(*, method: str, target_uri: str, headers: Mapping[str, str], resolve: Resolver,
                   now: float | None = None, max_skew: int = 300,
                   required_components: Iterable[str] = REQUEST_COMPONENTS,
                   nonce_seen: NonceSeen | None = None, require_nonce: bool = False,
                   label: str = LABEL) -> VerifiedSignature:
    """Check a request's signature, its coverage and freshness; ``nonce_seen`` (if given) spends the
    nonce here, else a caller that passes ``require_nonce`` spends it once the body is checked."""
    return _verify(_Message(headers, method=method, target_uri=target_uri), resolve, now=now, max_skew=max_skew,
                   required=required_components, nonce_seen=nonce_seen, require_nonce=require_nonce, label=label)


def verify_response(*, status: int, headers: Mapping[str, str], resolve: Resolver, now: float | None = None,
                    max_skew: int = 300, request: Request | None = None, label: str = LABEL) -> VerifiedSignature:
    """Check an answer's signature; with ``request``, it must also cover that request's signature."""
    required: tuple[str, ...] = RESPONSE_COMPONENTS
    req = _request_message(request)
    if req is not None and _has_label(req, LABEL):
        required = (*required, REQUEST_BINDING)
    return _verify(_Message(headers, status=status, request=req), resolve, now=now, max_skew=max_skew,
                   required=required, nonce_seen=None, require_nonce=False, label=label)
