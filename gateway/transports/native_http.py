"""``native-http``: signed POSTs of message batches to a partner gateway's ``/v1/messages``.

The request carries an RFC 9421 signature over method, target URI, content type and Content-Digest;
the partner's response must carry its own signature, and each message must come back with a receipt
that verifies under the partner's keys and names our message id and payload digest.
Network errors, timeouts, 408/429/5xx and replay-window errors are transient; other 4xx are permanent.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import aiohttp
import orjson

from hotline_gateway.config import Config, Partner
from hotline_gateway.core.errors import (
    GatewayError,
    PermanentDeliveryError,
    TransientDeliveryError,
    VerificationError,
)
from hotline_gateway.core.model import format_timestamp
from hotline_gateway.crypto.digest import content_digest, verify_content_digest
from hotline_gateway.crypto.httpsig import sign_request, verify_response
from hotline_gateway.crypto.jws import jws_kid
from hotline_gateway.crypto.keyring import KeyRing
from hotline_gateway.crypto.partner_keys import PartnerKeys
from hotline_gateway.crypto.receipts import verify_receipt
from hotline_gateway.store.records import Delivery
from hotline_gateway.transports.base import Outcome

ENVELOPE_TYPE = "application/vnd.hotline-gateway.messages+json"
TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
TRANSIENT_CODES = frozenset({"replay", "key_not_yet_valid", "store_error"})


def envelope(config: Config, partner: Partner, deliveries: list[Delivery]) -> bytes:
    messages = []
    for d in deliveries:
        messages.append({
            "message_id": d.message_id, "type": d.message_type, "sender": config.id, "recipient": partner.id,
            "created": format_timestamp(datetime.fromtimestamp(d.created_at, UTC)), "case_id": d.case_id,
            "format": d.format, "payload": base64.b64encode(d.payload).decode("ascii"),
            "payload_sha256": d.payload_sha256,
            "signatures": [{"kid": jws_kid(d.signature), "jws": d.signature}],
        })
    return orjson.dumps({"messages": messages})


class NativeHttpTransport:
    name = "native-http"
    max_batch = 500

    def __init__(self, config: Config, session: aiohttp.ClientSession, keyring: KeyRing,
                 partner_keys: PartnerKeys) -> None:
        self.config = config
        self.session = session
        self.keyring = keyring
        self.partner_keys = partner_keys

    async def send(self, partner: Partner, deliveries: list[Delivery]) -> list[Outcome]:
        assert partner.endpoint is not None
        body = envelope(self.config, partner, deliveries)
        key = self.keyring.signing_key
        headers = {"Content-Type": ENVELOPE_TYPE, "Content-Digest": content_digest(body)}
        headers.update(sign_request(method="POST", target_uri=partner.endpoint, headers=headers, kid=key.kid,
                                    private_key=key.private))
        timeout = aiohttp.ClientTimeout(total=self.config.delivery.timeout_s)
        try:
            async with self.session.post(partner.endpoint, data=body, headers=headers, timeout=timeout) as resp:
                data = await resp.read()
                status = resp.status
                resp_headers = {k: v for k, v in resp.headers.items()}
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise TransientDeliveryError(f"{partner.id} unreachable: {type(exc).__name__}: {exc}") from None
        keys = self.partner_keys.directory(partner.id)
        if status != 202:
            code = problem_code(data)
            detail = f"{partner.id} answered {status} {code}"
            if status in TRANSIENT_STATUS or code in TRANSIENT_CODES:
                raise TransientDeliveryError(detail)
            raise PermanentDeliveryError(detail, code=code or "delivery_permanent")
        try:
            verify_response(status=status, headers=resp_headers, resolve=keys.resolve,
                            max_skew=self.config.clock_skew_s)
            verify_content_digest(resp_headers.get("Content-Digest"), data)
            receipts = orjson.loads(data)["receipts"]
        except VerificationError as exc:
            raise TransientDeliveryError(f"{partner.id} response not verified: {exc.code}: {exc.message}") from None
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise TransientDeliveryError(f"{partner.id} response is not a receipts document") from None
        if not isinstance(receipts, list) or len(receipts) != len(deliveries):
            raise TransientDeliveryError(f"{partner.id} returned {len(receipts)} receipts for {len(deliveries)}")
        outcomes = []
        for d, r in zip(deliveries, receipts, strict=True):
            try:
                verify_receipt(str(r["jws"]), keys, message_id=d.message_id, payload_sha256=d.payload_sha256,
                               receiver=partner.id)
                outcomes.append(Outcome(d, receipt=str(r["jws"]), duplicate=bool(r.get("duplicate"))))
            except (GatewayError, KeyError, TypeError) as exc:
                reason = exc.message if isinstance(exc, GatewayError) else "receipt missing"
                outcomes.append(Outcome(d, error=TransientDeliveryError(f"receipt rejected: {reason}")))
        return outcomes


def problem_code(data: bytes) -> str:
    """The stable ``code`` of a problem+json answer, or "" when the body is not one."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return ""
    return str(doc.get("code", "")) if isinstance(doc, dict) else ""
