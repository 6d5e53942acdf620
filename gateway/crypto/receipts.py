"""Receipts: the receiver's signed word that it durably holds a message (non-repudiation of receipt).

A receipt is a compact JWS whose payload is the canonical JSON of
``{message_id, payload_sha256, received_at, receiver}``; the sender verifies it with the receiver's
published keys and checks that it names the message and digest it sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hotline_gateway.core.errors import BadSignature, MalformedSignature
from hotline_gateway.crypto.jws import compact_payload, sign_compact, verify_compact
from hotline_gateway.crypto.keydir import KeyDirectory
from hotline_gateway.crypto.keys import SigningKey


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


def make_receipt(message_id: str, payload_sha256: str, received_at: str, receiver: str, key: SigningKey) -> Receipt:
    body = orjson.dumps(
        {"message_id": message_id, "payload_sha256": payload_sha256, "received_at": received_at, "receiver": receiver},
        option=orjson.OPT_SORT_KEYS,
    )
    return Receipt(message_id, payload_sha256, received_at, receiver, sign_compact(body, key))


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
    claims = _claims(compact_payload(receipt))
    return {**(claims if isinstance(claims, dict) else {}), "jws": receipt, "signed": True}


def verify_receipt(
    jws: str,
    keys: KeyDirectory | Callable[[str], Ed25519PublicKey],
    *,
    message_id: str,
    payload_sha256: str,
    receiver: str,
) -> Receipt:
    """Check a receipt's signature and that it acknowledges exactly this message; raises if not."""
    claims = _claims(verify_compact(jws, keys).payload)
    expected = {"message_id": message_id, "payload_sha256": payload_sha256, "receiver": receiver}
    for name, value in expected.items():
        if not isinstance(claims, dict) or claims.get(name) != value:
            raise BadSignature(f"receipt does not acknowledge this message ({name} differs)", code="receipt_mismatch")
    return Receipt(message_id, payload_sha256, str(claims.get("received_at")), receiver, jws)
