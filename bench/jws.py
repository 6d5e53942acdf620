"""Detached JWS sign and verify: our module against joserfc (the library it replaced), same run, same keys.

Each operation runs over the same payloads (a 2.6 KB case document by default, the size a delivery
carries) in alternating rounds, so a drift in machine speed hits both sides alike; the figure kept
is the median of the rounds. Raw Ed25519 (cryptography alone, no JOSE) is printed as the floor.
Last line: ``jws sign_us=<n> verify_us=<n> joserfc_sign_us=<n> joserfc_verify_us=<n> sign_ratio=<n>
verify_ratio=<n>`` where a ratio is joserfc's time ÷ ours (above 1: we are faster).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jws as joserfc_jws
from joserfc.jwk import OKPKey

from hotline_gateway.crypto.jws import sign_detached, verify_detached
from hotline_gateway.crypto.keys import SigningKey

warnings.filterwarnings("ignore", message="EdDSA is deprecated")
REGISTRY = joserfc_jws.JWSRegistry(algorithms=["EdDSA"])
REGISTRY.max_payload_length = 1 << 40


def joserfc_sign(payload: bytes, key: SigningKey) -> str:
    """What ``sign_detached`` did before: joserfc's compact serialisation, payload detached."""
    token = joserfc_jws.serialize_compact({"alg": "EdDSA", "kid": key.kid}, payload,
                                          OKPKey.import_key(key.private), registry=REGISTRY)
    return joserfc_jws.detach_content(token)


def joserfc_verify(payload: bytes, token: str, key: SigningKey) -> None:
    obj = joserfc_jws.extract_compact(token.encode("ascii"), payload, REGISTRY)
    if not joserfc_jws.validate_compact(obj, OKPKey.import_key(key.public_key), registry=REGISTRY):
        raise AssertionError("joserfc refused a good signature")


def per_op_us(fn: Callable[[], object], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payload-bytes", type=int, default=2600)
    parser.add_argument("--n", type=int, default=2000, help="operations per round")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    key = SigningKey("FR-PDC-1", Ed25519PrivateKey.generate())
    public = key.public_key
    payload = os.urandom(args.payload_bytes)
    ours_token, theirs_token = sign_detached(payload, key), joserfc_sign(payload, key)
    if ours_token != theirs_token:
        raise SystemExit(f"outputs differ: ours {ours_token!r} joserfc {theirs_token!r}")
    resolve = {key.kid: public}.__getitem__
    raw_input = os.urandom(3500)  # about the JWS signing input of the payload above
    raw_sig = key.private.sign(raw_input)
    cases: dict[str, Callable[[], object]] = {
        "sign": lambda: sign_detached(payload, key),
        "verify": lambda: verify_detached(payload, ours_token, resolve),
        "joserfc_sign": lambda: joserfc_sign(payload, key),
        "joserfc_verify": lambda: joserfc_verify(payload, theirs_token, key),
        "raw_sign": lambda: key.private.sign(raw_input),
        "raw_verify": lambda: public.verify(raw_sig, raw_input),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, fn in cases.items():
            samples[name].append(per_op_us(fn, args.n))
    us = {name: statistics.median(values) for name, values in samples.items()}
    for name, value in us.items():
        print(f"{name:>15} {value:8.1f} µs  (rounds: {', '.join(f'{v:.1f}' for v in samples[name])})")
    print(f"jws sign_us={us['sign']:.1f} verify_us={us['verify']:.1f} joserfc_sign_us={us['joserfc_sign']:.1f} "
          f"joserfc_verify_us={us['joserfc_verify']:.1f} sign_ratio={us['joserfc_sign'] / us['sign']:.2f} "
          f"verify_ratio={us['joserfc_verify'] / us['verify']:.2f}")


if __name__ == "__main__":
    main()
