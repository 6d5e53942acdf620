"""Receipts: the receiver's signed word that it durably holds a message (non-repudiation of receipt).

The acknowledgement of one message is the canonical JSON of
``{message_id, payload_sha256, received_at, receiver}``. It is signed in one of two forms:

- **single** (v1): a compact JWS over that JSON, one signature per message;
- **batch** (v2, when the sender asks with ``Prefer: receipts=batch``): the acknowledgements of a
  batch are the leaves of an RFC 9162 Merkle tree (``crypto.merkle``), one compact JWS signs the tree
  head ``{type: "receipt-batch", receiver, received_at, tree_size, tree_head}``, and each message's
  receipt is ``<that JWS>~<base64url of {message_id, payload_sha256, leaf_index, path}>``: still
  provable on its own (signature + audit path + the message's digest), for one signature a batch.

The sender verifies either form with the receiver's published keys and checks that it names the
message and digest it sent; a receiver answers a resend with the receipt it first gave, in whichever
form that was, so a sender takes both.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hotline_gateway.core.errors import BadSignature, MalformedSignature
from hotline_gateway.crypto.jws import b64url, b64url_decode, compact_payload, sign_compact, verify_compact
from hotline_gateway.crypto.keydir import KeyDirectory
from hotline_gateway.crypto.keys import SigningKey
from hotline_gateway.crypto.merkle import HASH_BYTES, MAX_PATH, MAX_TREE_SIZE, Tree, leaf_hash, verify_inclusion


@dataclass(frozen=True, slots=True)
class Receipt:
    message_id: str
    payload_sha256: str
    received_at: str
    receiver: str
    jws: str

    def as_dict(self) -> dict[str, Any]:
        return {"message_id": self.message_id, "payload_sha256": self.payload_sha256,
                "received_at": self.received_at, "receiver": self.receiver, "jws": self.jws}


#: the separator between a batch receipt's signed tree head and one message's proof (as SD-JWT joins parts)
BATCH_SEP = "~"
BATCH_TYPE = "receipt-batch"
#: what a sender puts in ``Prefer`` (RFC 7240) to ask for batch receipts
PREFER_BATCH = "receipts=batch"


def _acknowledgement(message_id: str, payload_sha256: str, received_at: str, receiver: str) -> bytes:
    return orjson.dumps(
        {"message_id": message_id, "payload_sha256": payload_sha256, "received_at": received_at, "receiver": receiver},
        option=orjson.OPT_SORT_KEYS,
    )


def make_receipt(message_id: str, payload_sha256: str, received_at: str, receiver: str, key: SigningKey) -> Receipt:
    body = _acknowledgement(message_id, payload_sha256, received_at, receiver)
    return Receipt(message_id, payload_sha256, received_at, receiver, sign_compact(body, key))


def make_batch_receipts(messages: Sequence[tuple[str, str]], received_at: str, receiver: str, key: SigningKey
                        ) -> list[Receipt]:
    """Receipts for ``(message_id, payload_sha256)`` pairs under one signature (the batch form)."""
    if not messages:
        return []
    tree = Tree([leaf_hash(_acknowledgement(mid, digest, received_at, receiver)) for mid, digest in messages])
    head = sign_compact(orjson.dumps({"type": BATCH_TYPE, "receiver": receiver, "received_at": received_at,
                                      "tree_size": tree.size, "tree_head": b64url(tree.root)},
                                     option=orjson.OPT_SORT_KEYS), key)
    out: list[Receipt] = []
    for index, (mid, digest) in enumerate(messages):
        proof = orjson.dumps({"message_id": mid, "payload_sha256": digest, "leaf_index": index,
                              "path": [b64url(h) for h in tree.path(index)]}, option=orjson.OPT_SORT_KEYS)
        out.append(Receipt(mid, digest, received_at, receiver, f"{head}{BATCH_SEP}{b64url(proof)}"))
    return out


def _claims(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise MalformedSignature("receipt payload is not JSON") from None


def receipt_claims(receipt: str) -> dict[str, Any]:
    """What a stored receipt says, for display; it was verified when it was recorded.

    Partners that sign speak JWS; systems that do not (a CyberTipline-style API, an SMTP server)
    give an acknowledgement that the transport records as a JSON object, shown as it is.
    """
    if receipt.startswith("{"):
        doc = orjson.loads(receipt)
        return {**(doc if isinstance(doc, dict) else {}), "signed": False}
    if BATCH_SEP in receipt:
        head, _, part = receipt.partition(BATCH_SEP)
        tree, proof = _claims(compact_payload(head)), _proof(part)
        return {"message_id": proof.get("message_id"), "payload_sha256": proof.get("payload_sha256"),
                "received_at": tree.get("received_at"), "receiver": tree.get("receiver"),
                "batch": {"tree_size": tree.get("tree_size"), "leaf_index": proof.get("leaf_index")},
                "jws": receipt, "signed": True}
    claims = _claims(compact_payload(receipt))
    return {**(claims if isinstance(claims, dict) else {}), "jws": receipt, "signed": True}


def _proof(part: str) -> dict[str, Any]:
    try:
        proof = orjson.loads(b64url_decode(part))
    except (ValueError, orjson.JSONDecodeError):
        raise MalformedSignature("batch receipt proof is not base64url JSON") from None
    if not isinstance(proof, dict):
        raise MalformedSignature("batch receipt proof is not a JSON object")
    return proof


def _hash(value: Any, what: str) -> bytes:
    try:
        digest = b64url_decode(value) if isinstance(value, str) else b""
    except ValueError:
        digest = b""
    if len(digest) != HASH_BYTES:
        raise MalformedSignature(f"batch receipt {what} is not a base64url SHA-256 hash")
    return digest


def _count(value: Any, what: str, upper: int) -> int:
    if type(value) is not int or not 0 <= value <= upper:
        raise MalformedSignature(f"batch receipt {what} is not a whole number up to {upper}")
    return value


def verify_receipt(
    jws: str,
    keys: KeyDirectory | Callable[[str], Ed25519PublicKey],
    *,
    message_id: str,
    payload_sha256: str,
    receiver: str,
    heads: dict[str, dict[str, Any]] | None = None,
) -> Receipt:
    """Check a receipt's signature and that it acknowledges exactly this message; raises if not. Takes
    either form; ``heads`` (one dict per answer) keeps the tree heads already verified, so a batch's
    signature is checked once and each of its messages costs only its audit path."""
    if BATCH_SEP in jws:
        return _verify_batch(jws, keys, message_id=message_id, payload_sha256=payload_sha256, receiver=receiver,
                             heads={} if heads is None else heads)
    claims = _claims(verify_compact(jws, keys).payload)
    expected = {"message_id": message_id, "payload_sha256": payload_sha256, "receiver": receiver}
    for name, value in expected.items():
        if not isinstance(claims, dict) or claims.get(name) != value:
            raise BadSignature(f"receipt does not acknowledge this message ({name} differs)", code="receipt_mismatch")
    return Receipt(message_id, payload_sha256, str(claims.get("received_at")), receiver, jws)


def _verify_batch(receipt: str, keys: KeyDirectory | Callable[[str], Ed25519PublicKey], *, message_id: str,
                  payload_sha256: str, receiver: str, heads: dict[str, dict[str, Any]]) -> Receipt:
    head, _, part = receipt.partition(BATCH_SEP)
    tree = heads.get(head)
    if tree is None:
        claims = _claims(verify_compact(head, keys).payload)
        if not isinstance(claims, dict) or claims.get("type") != BATCH_TYPE:
            raise BadSignature("batch receipt head is not a signed receipt batch", code="receipt_mismatch")
        if claims.get("receiver") != receiver or not isinstance(claims.get("received_at"), str):
            raise BadSignature("receipt does not acknowledge this message (receiver differs)", code="receipt_mismatch")
        tree = {"received_at": claims["received_at"], "tree_size": _count(claims.get("tree_size"), "tree_size",
                                                                             MAX_TREE_SIZE),
                "root": _hash(claims.get("tree_head"), "tree_head")}
        heads[head] = tree
    proof = _proof(part)
    for name, value in (("message_id", message_id), ("payload_sha256", payload_sha256)):
        if not isinstance(proof.get(name), str) or not hmac.compare_digest(proof[name], value):
            raise BadSignature(f"receipt does not acknowledge this message ({name} differs)", code="receipt_mismatch")
    path = proof.get("path")
    if not isinstance(path, list) or len(path) > MAX_PATH:
        raise MalformedSignature("batch receipt path is not a list of hashes")
    leaf = leaf_hash(_acknowledgement(message_id, payload_sha256, tree["received_at"], receiver))
    verify_inclusion(leaf, _count(proof.get("leaf_index"), "leaf_index", MAX_TREE_SIZE), tree["tree_size"],
                     [_hash(h, "path hash") for h in path], tree["root"])
    return Receipt(message_id, payload_sha256, tree["received_at"], receiver, receipt)
