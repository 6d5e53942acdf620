"""Reading partners' answers: bounded, verified before they are believed, classified by status.

An answer is read to at most ``MAX_ANSWER_BYTES`` (a partner, or anything on the path, could otherwise
make us buffer gigabytes), its signature is checked — bound to the request it answers — before its
status means anything, and only then does a refusal become a dead letter. An answer that cannot be
verified is a failed attempt to retry, never a refusal: a forged 422 must not dead-letter a delivery.
An unsigned 429 or 503 (a rate limiter in front of the partner) still makes us send less at once.
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
import orjson

from hotline_gateway.core.errors import (
    Congested,
    DeliveryError,
    GatewayError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from hotline_gateway.crypto.digest import verify_content_digest
from hotline_gateway.crypto.httpsig import Request, Resolver, verify_response

MAX_ANSWER_BYTES = 4 * 1024 * 1024
TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
TRANSIENT_CODES = frozenset({"replay", "key_not_yet_valid", "store_error"})
#: the partner is overloaded: the sender keeps fewer batches in flight
CONGESTED_STATUS = frozenset({429, 503})


class AnswerTooLarge(TransientDeliveryError):
    code = "answer_too_large"


def unreachable(partner: str, exc: BaseException) -> TransientDeliveryError:
    """A request that got no answer: a timeout means the partner is slow (congested), anything else down."""
    detail = f"{partner} unreachable: {type(exc).__name__}: {exc}".rstrip(": ")
    return Congested(detail) if isinstance(exc, TimeoutError) else TransientDeliveryError(detail)


async def read_bounded(resp: aiohttp.ClientResponse, limit: int = MAX_ANSWER_BYTES) -> bytes:
    """The answer's body, refused (as a failed attempt) past ``limit`` bytes, whatever it declares."""
    if resp.content_length is not None and resp.content_length > limit:
        raise AnswerTooLarge(f"answer of {resp.content_length} bytes is over the {limit} byte limit")
    data = bytearray()
    async for chunk in resp.content.iter_chunked(65536):
        data += chunk
        if len(data) > limit:
            raise AnswerTooLarge(f"answer is over the {limit} byte limit")
    return bytes(data)


def problem_code(data: bytes) -> str:
    """The stable ``code`` of a problem+json answer, or "" when the body is not one."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return ""
    code = doc.get("code", "") if isinstance(doc, dict) else ""
    return code[:64] if isinstance(code, str) else ""


def verify_answer(partner: str, status: int, headers: Mapping[str, str], data: bytes, resolve: Resolver,
                  request: Request, max_skew: int) -> None:
    """Check the answer's signature (bound to ``request``) and its Content-Digest; a failure is a
    transient error naming why, so the delivery is retried rather than believed."""
    try:
        verify_response(status=status, headers=headers, resolve=resolve, max_skew=max_skew, request=request)
        verify_content_digest(headers.get("Content-Digest"), data)
    except GatewayError as exc:
        if status in CONGESTED_STATUS:
            # A rate limiter or proxy in front of the partner answers unsigned: slowing down on its word
            # costs nothing (it is never taken as a refusal), ignoring it would keep hammering.
            raise Congested(f"{partner} answered {status} (unsigned, from in front of the partner?)") from None
        raise TransientDeliveryError(f"{partner} answer {status} not verified: {exc.code}: {exc.message}",
                                     code="answer_not_verified") from None


def refusal(partner: str, status: int, data: bytes) -> DeliveryError:
    """What a verified answer other than success means: retry later, or a dead letter with its code."""
    code = problem_code(data)
    detail = f"{partner} answered {status} {code}".rstrip()
    if status in CONGESTED_STATUS:
        return Congested(detail)
    if status in TRANSIENT_STATUS or code in TRANSIENT_CODES:
        return TransientDeliveryError(detail)
    return PermanentDeliveryError(detail, code=code or "delivery_permanent")
