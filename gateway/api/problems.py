"""RFC 9457 problem details: every error answer is ``application/problem+json`` with a stable ``code``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from hotline_gateway.api.state import SERVICES
from hotline_gateway.core.errors import GatewayError, PayloadTooLarge, ValidationError
from hotline_gateway.core.log import get_logger
from hotline_gateway.taxii import errors as taxii_errors

PROBLEM_TYPE = "application/problem+json"
log = get_logger("hotline_gateway.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem(status: int, code: str, detail: str, **extra: Any) -> web.Response:
    body = {"type": f"urn:hotline-gateway:problem:{code}", "title": code.replace("_", " "), "status": status,
            "code": code, "detail": detail, **extra}
    return web.Response(status=status, body=orjson.dumps(body), content_type=PROBLEM_TYPE)


def problem_for(exc: GatewayError) -> web.Response:
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationError):
        extra["errors"] = [{"path": p.path, "message": p.message} for p in exc.problems]
    response = problem(exc.http_status, exc.code, exc.message, **extra)
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, int):
        response.headers["Retry-After"] = str(retry_after)
    return response


def _answer(request: web.Request, status: int, code: str, detail: str, **extra: Any) -> web.Response:
    """An error in the form the route speaks: TAXII error resources on TAXII routes, problem+json elsewhere."""
    if taxii_errors.is_taxii(request):
        return taxii_errors.error(status, code, detail, **extra)
    return problem(status, code, detail, **extra)


def count_rejection(request: web.Request, code: str) -> None:
    svc = request.app.get(SERVICES)
    if svc is not None:
        svc.metrics.rejections.labels(code).inc()


@web.middleware
async def problems_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except GatewayError as exc:
        log.info("request.rejected", path=request.path, code=exc.code, status=exc.http_status)
        count_rejection(request, exc.code)
        if taxii_errors.is_taxii(request):
            extra = {"errors": [str(p) for p in exc.problems]} if isinstance(exc, ValidationError) else {}
            return taxii_errors.error(exc.http_status, exc.code, exc.message, **extra)
        return problem_for(exc)
    except web.HTTPRequestEntityTooLarge as exc:  # aiohttp's own body limit (client_max_size)
        count_rejection(request, PayloadTooLarge.code)
        return _answer(request, 413, PayloadTooLarge.code, exc.text or "request body too large")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = _answer(request, exc.status, f"http_{exc.status}", exc.reason)
        if "Allow" in exc.headers:  # RFC 9110: a 405 says which methods the resource has
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception:
        log.exception("request.failed", path=request.path)
        return _answer(request, 500, "internal_error", "internal error; nothing was stored")
