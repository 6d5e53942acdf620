"""``POST /v1/messages``: signed batches of messages from partner gateways (see ``pipeline/receive``);
``POST /v1/witnessed``: the checkpoints of a partner's audit trail we hold."""

from __future__ import annotations

import asyncio

import orjson
from aiohttp import web

from hotline_gateway.api.state import services
from hotline_gateway.core.errors import BadInput, PayloadTooLarge, UnsupportedMediaType
from hotline_gateway.pipeline.receive import Request


class BodyTimeout(BadInput):
    code = "body_timeout"
    http_status = 408


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
        raise BodyTimeout(f"the body did not arrive within {timeout:g} s") from None


async def post_messages(request: web.Request) -> web.Response:
    svc = services(request)
    if request.content_type not in ENVELOPE_TYPES:
        raise UnsupportedMediaType(f"send {ENVELOPE_TYPE}, not {request.content_type}")
    body = await read_body(request, svc.config.limits.partner_body_bytes, svc.config.limits.body_timeout_s)
    received = await svc.receiver.receive(Request(request.method, request.raw_path, request.headers, body))
    for fmt, receipt in zip(received.formats, received.receipts, strict=True):
        outcome = "duplicate" if receipt.get("duplicate") else "accepted"
        svc.metrics.messages_in.labels(received.partner.id, fmt, outcome).inc()
    svc.counters["messages_in"] += received.fresh
    svc.counters["duplicates"] += received.duplicates
    return web.Response(status=202, body=orjson.dumps({"receipts": received.receipts}),
                        content_type="application/json")


async def post_witnessed(request: web.Request) -> web.Response:
    """``POST /v1/witnessed``: a partner asks which of its audit checkpoints we hold (signed request;
    signed answer), to prove its audit trail against what we witnessed."""
    svc = services(request)
    if request.content_type != "application/json":
        raise UnsupportedMediaType(f"send application/json, not {request.content_type}")
    body = await read_body(request, 64 * 1024, svc.config.limits.body_timeout_s)
    sender = await svc.verifier.verify(method=request.method, path_qs=request.raw_path, headers=request.headers,
                                       body=body)
    held = await svc.store.witnessed(sender.partner.id)
    return web.Response(status=200, body=orjson.dumps({"gateway": svc.config.id, "checkpoints": held}),
                        content_type="application/json")
