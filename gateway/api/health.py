"""Keys and health: the JWKS partners fetch, liveness, readiness and metrics."""

from __future__ import annotations

import hmac

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from hotline_gateway.api.problems import problem
from hotline_gateway.api.state import WORKER, services
from hotline_gateway.core.errors import VerificationError


async def jwks(request: web.Request) -> web.Response:
    body = orjson.dumps(services(request).keyring.keys.to_jwks())
    return web.Response(body=body, content_type="application/jwk-set+json",
                        headers={"Cache-Control": "max-age=300"})


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when the store takes a durable write, a signing key is valid now, and the worker runs;
    otherwise 503 naming each check that failed (every check runs, none short-circuits). Both name this
    node and whether it leads the singletons."""
    svc = services(request)
    checks: dict[str, str] = {}
    try:
        await svc.store.probe_write()
        checks["store"] = "ok"
    except Exception as exc:  # readiness reports every failure rather than raising
        checks["store"] = f"failing: {exc}"
    try:
        keys = svc.keyring.keys
        keys.active_signing_key()  # some key is valid now, its private file loads and matches
        keys.resolve(svc.keyring.signing_key.kid)  # and the one the ring signs with (cached) has not expired
        checks["keys"] = "ok"
    except Exception as exc:
        checks["keys"] = f"failing: {exc}"
    checks["worker"] = "ok" if request.app[WORKER].running else "not running"
    node = {"node": svc.config.node, "leader": svc.leadership.leading}
    if all(v == "ok" for v in checks.values()):
        return web.json_response({"status": "ready", "checks": checks, **node})
    return problem(503, "not_ready", "; ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok"), checks=checks,
                   **node)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format. With ``[server] metrics_token_file`` set, scraping needs that bearer
    token (partner names and queue depths are not for everyone); without it, keep /metrics inside the
    operators' network."""
    svc = services(request)
    expected = svc.config.limits.metrics_token
    if expected is not None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
            raise VerificationError("missing or wrong bearer token for /metrics", code="bad_token")
    key = svc.keyring.signing_key
    svc.metrics.key_not_after.set(svc.keyring.keys.entry(key.kid).not_after.timestamp())
    svc.metrics.leader.set(1 if svc.leadership.leading else 0)
    body = await svc.metrics.render(svc.store, svc.config.partners, ack_s=svc.config.delivery.retraction_ack_s)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
