"""Keys and health: the JWKS partners fetch, liveness, readiness and metrics."""

from __future__ import annotations

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from gateway.api.problems import problem
from gateway.api.state import WORKER, services


async def jwks(request: web.Request) -> web.Response:
    body = orjson.dumps(services(request).keyring.keys.to_jwks())
    return web.Response(body=body, content_type="application/jwk-set+json",
                        headers={"Cache-Control": "max-age=300"})


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    svc = services(request)
    checks: dict[str, str] = {}
    try:
        await svc.store.write(lambda w: w.conn.execute("SELECT 1"))
        checks["store"] = "ok"
    except Exception as exc:  # readiness reports every failure rather than raising
        checks["store"] = f"failing: {type(exc).__name__}"
    try:
        svc.keyring.signing_key  # noqa: B018  (loads and checks the active key)
        checks["keys"] = "ok"
    except Exception as exc:
        checks["keys"] = f"failing: {exc}"
    checks["worker"] = "ok" if request.app[WORKER].running else "not running"
    if all(v == "ok" for v in checks.values()):
        return web.json_response({"status": "ready", "checks": checks})
    return problem(503, "not_ready", "; ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok"), checks=checks)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format; operators scrape it from inside their network (no token)."""
    svc = services(request)
    body = await svc.metrics.render(svc.store)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
