"""``native-http``: signed POSTs of message batches to a partner gateway's ``/v1/messages``.

The request carries an RFC 9421 signature over method, target URI, content type and Content-Digest.
Every answer — success or refusal — must carry the partner's signature bound to our request before
it is acted on; then each message must come back with a receipt that verifies under the partner's
keys and names our message id and payload digest. An answer that cannot be verified, or is malformed
in any way, is a failed attempt (retried), never a refusal and never a crash that would strand the
batch. Network errors, timeouts, 408/429/5xx and replay-window errors are transient; other verified
4xx are permanent.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import aiohttp
import orjson

from hotline_gateway.config import Config, Partner
from hotline_gateway.core.deferral import INLINE_BYTES
from hotline_gateway.core.errors import DeliveryError, GatewayError, PermanentDeliveryError, TransientDeliveryError
from hotline_gateway.core.timefmt import iso_from_epoch
from hotline_gateway.crypto.digest import content_digest
from hotline_gateway.crypto.httpsig import REQUEST_COMPONENTS, Request, sign_request
from hotline_gateway.crypto.jws import jws_kid
from hotline_gateway.crypto.keydir import KeyDirectory
from hotline_gateway.crypto.receipts import PREFER_BATCH, verify_receipt
from hotline_gateway.store.records import Delivery
from hotline_gateway.transports.answers import read_bounded, refusal, unreachable, verify_answer
from hotline_gateway.transports.base import HttpSettings, Outcome, TransportContext, TransportPlugin, settings

ENVELOPE_TYPE = "application/vnd.hotline-gateway.messages+json"
#: our latest signed audit checkpoint travels with each request, covered by its signature
CHECKPOINT_HEADER = "Hotline-Checkpoint"


def envelope(config: Config, partner: Partner, deliveries: list[Delivery]) -> bytes:
    messages = []
    for d in deliveries:
        messages.append({
            "message_id": d.message_id, "type": d.message_type, "sender": config.id, "recipient": partner.id,
            "created": iso_from_epoch(d.created_at), "case_id": d.case_id,
            "format": d.format, "payload": base64.b64encode(d.payload).decode("ascii"),
            "payload_sha256": d.payload_sha256,
            "signatures": [{"kid": jws_kid(d.signature), "jws": d.signature}],
        })
    return orjson.dumps({"messages": messages})


class NativeHttpTransport:
    name = "native-http"
    max_batch = 500

    def __init__(self, ctx: TransportContext) -> None:
        self.config = ctx.config
        self.session = ctx.session
        self.keyring = ctx.keyring
        self.partner_keys = ctx.partner_keys
        self.checkpoint = ctx.checkpoint

    async def send(self, partner: Partner, deliveries: list[Delivery]) -> list[Outcome]:
        """Send in as many requests as the partner's body limit needs (one, usually)."""
        limit = settings(partner, HttpSettings).max_body_bytes
        outcomes: list[Outcome] = []
        for chunk, too_large in _fit(deliveries, limit):
            if too_large:
                outcomes.append(Outcome(chunk[0], error=PermanentDeliveryError(
                    f"message of {len(chunk[0].payload)} bytes cannot fit under {partner.id}'s body limit of "
                    f"{limit} bytes", code="payload_too_large")))
                continue
            try:
                outcomes += await self._post(partner, chunk)
            except DeliveryError as exc:
                if not outcomes:
                    raise  # nothing got through: the whole batch failed as one
                sent = {o.delivery.message_id for o in outcomes}
                outcomes += [Outcome(d, error=exc) for d in deliveries if d.message_id not in sent]
                break
        return outcomes

    async def _post(self, partner: Partner, deliveries: list[Delivery]) -> list[Outcome]:
        assert partner.endpoint is not None
        body = envelope(self.config, partner, deliveries)
        key = self.keyring.signing_key
        # one signed tree head for the batch's receipts instead of a signature each (crypto.receipts);
        # a partner that predates batch receipts ignores the preference and signs each, which we take too
        headers = {"Content-Type": ENVELOPE_TYPE, "Content-Digest": content_digest(body), "Prefer": PREFER_BATCH}
        components: tuple[str, ...] = (*REQUEST_COMPONENTS, "prefer")
        checkpoint = self.checkpoint()
        if checkpoint is not None:  # our latest audit checkpoint, for the partner to witness
            headers[CHECKPOINT_HEADER] = checkpoint
            components = (*components, CHECKPOINT_HEADER.lower())
        headers.update(sign_request(method="POST", target_uri=partner.endpoint, headers=headers, kid=key.kid,
                                    private_key=key.private, components=components))
        timeout = aiohttp.ClientTimeout(total=self.config.delivery.timeout_s)
        try:
            async with self.session.post(partner.endpoint, data=body, headers=headers, timeout=timeout) as resp:
                data = await read_bounded(resp)
                status = resp.status
                resp_headers = resp.headers
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise unreachable(partner.id, exc) from None
        keys = self.partner_keys.directory(partner.id)
        verify_answer(partner.id, status, resp_headers, data, keys.resolve,
                      Request("POST", partner.endpoint, headers), self.config.clock_skew_s)
        if status != 202:
            raise refusal(partner.id, status, data)
        receipts = _receipts(partner.id, data, len(deliveries))
        if len(data) <= INLINE_BYTES:
            # a small answer (a few receipts, a few signature checks at most): cheaper here than the round
            # trip to a thread, by the same rule as other small work (core.deferral)
            return _check_receipts(partner.id, deliveries, receipts, keys)
        # a signature check per batch or per receipt, and the audit paths: off the event loop
        return await asyncio.to_thread(_check_receipts, partner.id, deliveries, receipts, keys)


#: what one message adds to an envelope besides its base64 payload and its signature (ids, names, digest)
_PER_MESSAGE = 512


def _fit(deliveries: list[Delivery], limit: int) -> list[tuple[list[Delivery], bool]]:
    """Consecutive chunks whose envelopes stay under ``limit``; a message alone over it is its own chunk,
    flagged too large."""
    chunks: list[tuple[list[Delivery], bool]] = []
    current: list[Delivery] = []
    size = 16
    for d in deliveries:
        cost = 4 * ((len(d.payload) + 2) // 3) + len(d.signature) + _PER_MESSAGE
        if cost + 16 > limit:
            chunks.append(([d], True))
            continue
        if current and size + cost > limit:
            chunks.append((current, False))
            current, size = [], 16
        current.append(d)
        size += cost
    if current:
        chunks.append((current, False))
    return chunks


def _check_receipts(partner: str, deliveries: list[Delivery], receipts: list[dict[str, Any]],
                    keys: KeyDirectory) -> list[Outcome]:
    """Each message's outcome by its receipt: delivered when the receipt verifies under the partner's keys
    and names the message and its payload digest, a failed attempt (retried) otherwise."""
    outcomes = []
    heads: dict[str, dict[str, Any]] = {}  # batch receipts' tree heads verified so far, for this answer only
    for d, r in zip(deliveries, receipts, strict=True):
        try:
            jws = r.get("jws")
            if not isinstance(jws, str):
                raise TransientDeliveryError("receipt has no jws")
            verify_receipt(jws, keys, message_id=d.message_id, payload_sha256=d.payload_sha256, receiver=partner,
                           heads=heads)
            outcomes.append(Outcome(d, receipt=jws, duplicate=r.get("duplicate") is True))
        except GatewayError as exc:
            outcomes.append(Outcome(d, error=TransientDeliveryError(f"receipt rejected: {exc.message}")))
    return outcomes


def _receipts(partner: str, data: bytes, expected: int) -> list[dict[str, Any]]:
    """The receipts of a verified 202, or a transient error when they are not what was asked for."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise TransientDeliveryError(f"{partner} answer is not JSON") from None
    receipts = doc.get("receipts") if isinstance(doc, dict) else None
    if not isinstance(receipts, list) or not all(isinstance(r, dict) for r in receipts):
        raise TransientDeliveryError(f"{partner} answer is not a receipts document")
    if len(receipts) != expected:
        raise TransientDeliveryError(f"{partner} returned {len(receipts)} receipts for {expected}")
    return receipts


PLUGIN = TransportPlugin(name="native-http", settings=HttpSettings, factory=NativeHttpTransport, needs_keys=True)
