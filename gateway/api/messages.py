"""``POST /v1/messages``: signed batches of messages from partner gateways (see ``pipeline/receive``)."""

from __future__ import annotations

import asyncio

import orjson
from aiohttp import web

from hotline_gateway.api.state import services
from hotline_gateway.core.errors import PayloadTooLarge, UnsupportedMediaType
from hotline_gateway.pipeline.receive import Request

ENVELOPE_TYPES = frozenset({"application/vnd.hotline-gateway.messages+json", "application/json"})
ENVELOPE_TYPE = "application/vnd.hotline-gateway.messages+json"


async def read_body(request: web.Request, limit: int, timeout: float = 30.0) -> bytes:
    """The whole body, refused past ``limit`` bytes or when the client is slower than ``timeout`` s."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"body of {request.content_length} bytes is over the limit of {limit}")

    async def read() -> bytes:
        chunks, size = [], 0
        async for chunk in request.content.iter_chunked(65536):
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"body is over the limit of {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    try:
        return await asyncio.wait_for(read(), timeout)
    except TimeoutError:
        raise web.HTTPRequestTimeout(reason="request body not received in time") from None


async def post_messages(request: web.Request) -> web.Response:
    svc = services(request)
    if request.content_type not in ENVELOPE_TYPES:
        raise UnsupportedMediaType(f"send {ENVELOPE_TYPE}, not {request.content_type}")
    body = await read_body(request, svc.config.limits.partner_body_bytes, svc.config.limits.body_timeout_s)
    received = await svc.receiver.receive(Request(request.method, request.path_qs, request.headers, body))
    for fmt, receipt in zip(received.formats, received.receipts, strict=True):
        outcome = "duplicate" if receipt.get("duplicate") else "accepted"
        svc.metrics.messages_in.labels(received.partner.id, fmt, outcome).inc()
    svc.counters["messages_in"] += received.fresh
    svc.counters["duplicates"] += received.duplicates
    return web.Response(status=202, body=orjson.dumps({"receipts": received.receipts}),
                        content_type="application/json")
