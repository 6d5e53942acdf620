"""Batch receipts: one signed RFC 9162 tree head per batch, each message's receipt provable on its own.

The head is checked by jwcrypto (an independent JOSE implementation) and the tree by pymerkle (an
independent RFC 9162 tree); every way of passing one message's receipt off for another is refused.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pymerkle import InmemoryTree

from hotline_gateway.core.errors import BadSignature, MalformedSignature, UnknownKey, VerificationError
from hotline_gateway.crypto.jws import b64url, b64url_decode, sign_compact
from hotline_gateway.crypto.keys import SigningKey
from hotline_gateway.crypto.receipts import BATCH_SEP, make_batch_receipts, make_receipt, receipt_claims, verify_receipt
from tests.crypto.test_jws_interop import jwcrypto_verify, resolver

AT = "2026-12-02T08:00:00Z"
DE = "DE-HOTLINE"


def batch(count: int) -> list[tuple[str, str]]:
    return [(str(uuid.uuid4()), hashlib.sha256(os.urandom(16)).hexdigest()) for _ in range(count)]


def key() -> SigningKey:
    return SigningKey("DE-HOTLINE-1", Ed25519PrivateKey.generate())


def parts(receipt: str) -> tuple[str, dict[str, Any]]:
    head, _, proof = receipt.partition(BATCH_SEP)
    return head, orjson.loads(b64url_decode(proof))


def with_proof(receipt: str, **changes: Any) -> str:
    head, proof = parts(receipt)
    return f"{head}{BATCH_SEP}{b64url(orjson.dumps({**proof, **changes}, option=orjson.OPT_SORT_KEYS))}"


@pytest.mark.parametrize("count", [1, 2, 5, 100])
def test_each_receipt_of_a_batch_verifies_alone_and_the_head_and_tree_check_out_independently(count: int) -> None:
    k, messages = key(), batch(count)
    receipts = make_batch_receipts(messages, AT, DE, k)
    heads = {parts(r.jws)[0] for r in receipts}
    assert len(heads) == 1  # one signature for the whole batch
    [head] = heads
    claims = orjson.loads(jwcrypto_verify(head, k))
    assert claims["type"] == "receipt-batch" and claims["tree_size"] == count and claims["receiver"] == DE
    tree = InmemoryTree(algorithm="sha256")
    for mid, digest in messages:  # the leaves are exactly the single form's signed acknowledgements
        tree.append_entry(orjson.dumps({"message_id": mid, "payload_sha256": digest, "received_at": AT,
                                        "receiver": DE}, option=orjson.OPT_SORT_KEYS))
    assert b64url_decode(claims["tree_head"]) == tree.get_root()
    for index, ((mid, digest), r) in enumerate(zip(messages, receipts, strict=True)):
        _, proof = parts(r.jws)
        assert [b64url_decode(h) for h in proof["path"]] == tree.prove_inclusion(index + 1).path[1:]
        got = verify_receipt(r.jws, resolver(k), message_id=mid, payload_sha256=digest, receiver=DE)
        assert (got.received_at, got.jws) == (AT, r.jws)
        shown = receipt_claims(r.jws)
        assert (shown["message_id"], shown["payload_sha256"], shown["received_at"], shown["receiver"]) == (
            mid, digest, AT, DE)
        assert shown["batch"] == {"tree_size": count, "leaf_index": index} and shown["signed"] is True


def test_one_messages_receipt_cannot_be_passed_off_for_another() -> None:
    k, messages = key(), batch(4)
    a, b, *_ = make_batch_receipts(messages, AT, DE, k)
    (mid_a, dig_a), (mid_b, dig_b) = messages[0], messages[1]
    verify = resolver(k)
    cases: list[tuple[str, str, str]] = [
        (a.jws, mid_b, dig_b),  # A's receipt for B
        (a.jws, mid_a, dig_b),  # A's id with B's digest
        (with_proof(a.jws, message_id=mid_b, payload_sha256=dig_b), mid_b, dig_b),  # A's path relabelled as B
        (with_proof(a.jws, leaf_index=1), mid_a, dig_a),  # A claimed at B's place
        (with_proof(a.jws, path=parts(b.jws)[1]["path"]), mid_a, dig_a),  # B's path
        (with_proof(a.jws, path=parts(a.jws)[1]["path"][:-1]), mid_a, dig_a),  # a hash dropped
    ]
    for receipt, mid, digest in cases:
        with pytest.raises(BadSignature):
            verify_receipt(receipt, verify, message_id=mid, payload_sha256=digest, receiver=DE)
    with pytest.raises(BadSignature, match="receiver"):
        verify_receipt(a.jws, verify, message_id=mid_a, payload_sha256=dig_a, receiver="NL-HOTLINE")


def test_a_head_not_signed_as_a_batch_or_not_by_the_receiver_is_refused() -> None:
    k, [(mid, digest)] = key(), batch(1)
    [good] = make_batch_receipts([(mid, digest)], AT, DE, k)
    _, proof = parts(good.jws)
    single = make_receipt(mid, digest, AT, DE, k).jws  # a single receipt's JWS is not a tree head
    tree = orjson.loads(b64url_decode(parts(good.jws)[0].split(".")[1]))
    retyped = sign_compact(orjson.dumps({**tree, "type": "something-else"}), k)
    stranger = sign_compact(orjson.dumps(tree), SigningKey("DE-HOTLINE-1", Ed25519PrivateKey.generate()))
    for head, error in ((single, BadSignature), (retyped, BadSignature), (stranger, BadSignature)):
        receipt = f"{head}{BATCH_SEP}{b64url(orjson.dumps(proof))}"
        with pytest.raises(error):
            verify_receipt(receipt, resolver(k), message_id=mid, payload_sha256=digest, receiver=DE)
    other = SigningKey("NL-HOTLINE-1", Ed25519PrivateKey.generate())
    [foreign] = make_batch_receipts([(mid, digest)], AT, DE, other)
    with pytest.raises(UnknownKey):
        verify_receipt(foreign.jws, resolver(k), message_id=mid, payload_sha256=digest, receiver=DE)


@pytest.mark.parametrize("change", [
    {"leaf_index": -1}, {"leaf_index": True}, {"leaf_index": 1.0}, {"leaf_index": 2**40}, {"path": "abc"},
    {"path": ["not base64!"]}, {"path": [b64url(b"short")]}, {"path": [b64url(bytes(32))] * 64},
])
def test_a_malformed_proof_is_refused_with_a_verification_error(change: dict[str, Any]) -> None:
    k, [(mid, digest)] = key(), batch(1)
    [good] = make_batch_receipts([(mid, digest)], AT, DE, k)
    with pytest.raises(VerificationError):
        verify_receipt(with_proof(good.jws, **change), resolver(k), message_id=mid, payload_sha256=digest,
                       receiver=DE)
    for junk in ("%%%", b64url(b"[1, 2]"), b64url(b"not json")):
        with pytest.raises(MalformedSignature):
            verify_receipt(f"{parts(good.jws)[0]}{BATCH_SEP}{junk}", resolver(k), message_id=mid,
                           payload_sha256=digest, receiver=DE)


def test_a_head_is_verified_once_per_answer_and_a_forged_one_is_not_taken_from_the_cache() -> None:
    k, messages = key(), batch(3)
    receipts = make_batch_receipts(messages, AT, DE, k)
    heads: dict[str, dict[str, Any]] = {}
    for (mid, digest), r in zip(messages, receipts, strict=True):
        verify_receipt(r.jws, resolver(k), message_id=mid, payload_sha256=digest, receiver=DE, heads=heads)
    assert len(heads) == 1
    head, proof = parts(receipts[0].jws)
    header, payload, signature = head.split(".")
    other = "B" if signature[0] != "B" else "C"
    forged = f"{header}.{payload}.{other}{signature[1:]}"  # another signature over the same head: not cached
    mid, digest = messages[0]
    with pytest.raises(BadSignature):
        verify_receipt(f"{forged}{BATCH_SEP}{b64url(orjson.dumps(proof))}", resolver(k), message_id=mid,
                       payload_sha256=digest, receiver=DE, heads=heads)
