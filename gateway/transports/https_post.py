"""``https``: one signed POST per message, in any format, to an endpoint that answers with a receipt.

This is how a law-enforcement system that takes IODEF (or a platform that takes DSA notices) is
reached: the body is the encoded document itself, not our envelope, so the receiver needs nothing of
ours to read it. The request carries an RFC 9421 signature (covering the idempotency key as well),
the detached JWS over the payload, and the message id as ``Idempotency-Key``; a resend of the same
message is answered with the original receipt. The receipt must verify under the partner's keys.
"""

from __future__ import annotations

import aiohttp
import orjson
from multidict import CIMultiDict

from hotline_gateway.config import Partner
from hotline_gateway.core.errors import GatewayError, TransientDeliveryError
from hotline_gateway.crypto.digest import content_digest
from hotline_gateway.crypto.httpsig import Request, sign_request
from hotline_gateway.crypto.receipts import verify_receipt
from hotline_gateway.store.records import Delivery
from hotline_gateway.transports.answers import read_bounded, refusal, unreachable, verify_answer
from hotline_gateway.transports.base import HttpSettings, Outcome, TransportContext, TransportPlugin, media_type
from hotline_gateway.transports.native_http import CHECKPOINT_HEADER

COMPONENTS = ("@method", "@target-uri", "content-digest", "content-type", "idempotency-key", "jws-signature")


class HttpsPostTransport:
    name = "https"
    max_batch = 1

    def __init__(self, ctx: TransportContext) -> None:
        self.config = ctx.config
        self.session = ctx.session
        self.keyring = ctx.keyring
        self.partner_keys = ctx.partner_keys
        self.checkpoint = ctx.checkpoint

    def _headers(self, partner: Partner, d: Delivery) -> dict[str, str]:
        assert partner.endpoint is not None
        key = self.keyring.signing_key
        headers = {
            "Content-Type": media_type(d.format),
            "Content-Digest": content_digest(d.payload),
            "Idempotency-Key": d.message_id,
            "JWS-Signature": d.signature,
            "Hotline-Sender": self.config.id,
        }
        components: tuple[str, ...] = COMPONENTS
        checkpoint = self.checkpoint()
        if checkpoint is not None:
            headers[CHECKPOINT_HEADER] = checkpoint
            components = (*components, CHECKPOINT_HEADER.lower())
        headers.update(sign_request(method="POST", target_uri=partner.endpoint, headers=headers, kid=key.kid,
                                    private_key=key.private, components=components))
        return headers

    async def send(self, partner: Partner, deliveries: list[Delivery]) -> list[Outcome]:
        return [await self._one(partner, d) for d in deliveries]

    async def _one(self, partner: Partner, d: Delivery) -> Outcome:
        assert partner.endpoint is not None
        timeout = aiohttp.ClientTimeout(total=self.config.delivery.timeout_s)
        headers = self._headers(partner, d)
        try:
            async with self.session.post(partner.endpoint, data=d.payload, headers=headers, timeout=timeout) as resp:
                data = await read_bounded(resp)
                status, answer_headers = resp.status, CIMultiDict(resp.headers)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise unreachable(partner.id, exc) from None
        keys = self.partner_keys.directory(partner.id)
        try:
            verify_answer(partner.id, status, answer_headers, data, keys.resolve,
                          Request("POST", partner.endpoint, headers), self.config.clock_skew_s)
        except TransientDeliveryError as exc:
            return Outcome(d, error=exc)
        if status not in (200, 201, 202):
            return Outcome(d, error=refusal(partner.id, status, data))
        try:
            doc = orjson.loads(data)
            jws = doc.get("receipt") if isinstance(doc, dict) else None
            if not isinstance(jws, str):
                return Outcome(d, error=TransientDeliveryError(f"{partner.id} answer carries no receipt"))
            verify_receipt(jws, keys, message_id=d.message_id, payload_sha256=d.payload_sha256, receiver=partner.id)
        except orjson.JSONDecodeError:
            return Outcome(d, error=TransientDeliveryError(f"{partner.id} answer is not JSON"))
        except GatewayError as exc:
            return Outcome(d, error=TransientDeliveryError(f"{partner.id} receipt rejected: {exc.message}"))
        return Outcome(d, receipt=jws, duplicate=status == 200)


PLUGIN = TransportPlugin(name="https", settings=HttpSettings, factory=HttpsPostTransport, needs_keys=True)
