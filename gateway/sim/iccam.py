"""An ICCAM-style network API on loopback: mutual TLS, login with bearer and refresh tokens, reports,
assessment and action updates, and work queues of content assigned to a country.

Behaviour a client must cope with, all reproducible here: access tokens expire (``expire_tokens``)
and are refreshed; refresh tokens expire too (``expire_refresh``) and the client logs in again; a
refused login is a 401 with an empty body; a client without a certificate from the network's CA is
refused in the TLS handshake. Creating a report twice with the same ``hotlineReference`` returns
the first report's id (no duplicate). ``served`` counts how often each queued report was handed out
(a report fetched by two pollers before either acknowledged it is served twice). Failures can be
injected per step (login, refresh, create, assessment, actions, queue, ack): ``fail_next("assessment",
503)`` answers that status instead; ``stall_next("create", seconds)`` does the work but answers late,
as a timed-out call would.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

BASE = "/api/v3"


@dataclass
class IccamSim:
    username: str
    password: str
    token_ttl_s: float = 300.0
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    updates: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    queues: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    served: Counter[str] = field(default_factory=Counter)
    logins: int = 0
    refreshes: int = 0
    _access: dict[str, float] = field(default_factory=dict)
    _refresh: dict[str, float] = field(default_factory=dict)
    _by_reference: dict[str, str] = field(default_factory=dict)
    _fail: dict[str, list[int]] = field(default_factory=dict)
    _stall: dict[str, list[float]] = field(default_factory=dict)

    def fail_next(self, step: str, status: int, times: int = 1) -> None:
        self._fail.setdefault(step, []).extend([status] * times)

    def stall_next(self, step: str, seconds: float) -> None:
        self._stall.setdefault(step, []).append(seconds)

    def _injected(self, step: str) -> web.Response | None:
        if self._fail.get(step):
            return web.json_response({"error": "injected"}, status=self._fail[step].pop(0))
        return None

    async def _stall_if_asked(self, step: str) -> None:
        if self._stall.get(step):
            await asyncio.sleep(self._stall[step].pop(0))

    def expire_tokens(self) -> None:
        self._access = {t: 0.0 for t in self._access}

    def expire_refresh(self) -> None:
        self._refresh = {t: 0.0 for t in self._refresh}
        self.expire_tokens()

    def assign(self, country: str, report: dict[str, Any]) -> None:
        """Another hotline forwarded content hosted in ``country``: it waits in that country's queue."""
        self.queues.setdefault(country, []).append(report)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"{BASE}/auth/login", self.login)
        app.router.add_post(f"{BASE}/auth/refresh", self.refresh)
        app.router.add_post(f"{BASE}/reports", self.create_report)
        app.router.add_post(f"{BASE}/reports/{{report}}/urls/{{ref}}/{{kind}}", self.update)
        app.router.add_get(f"{BASE}/workqueues/{{country}}/reports", self.queue)
        app.router.add_post(f"{BASE}/workqueues/{{country}}/reports/{{reference}}/ack", self.ack)
        return app

    def _tokens(self) -> web.Response:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self._access[access] = time.monotonic() + self.token_ttl_s
        self._refresh[refresh] = time.monotonic() + 10 * self.token_ttl_s
        return web.json_response({"accessToken": access, "refreshToken": refresh, "expiresIn": self.token_ttl_s})

    async def login(self, request: web.Request) -> web.Response:
        injected = self._injected("login")
        if injected is not None:
            return injected
        body = await request.json()
        ok = hmac.compare_digest(f"{body.get('username')}:{body.get('password')}", f"{self.username}:{self.password}")
        if not ok:
            return web.Response(status=401)
        self.logins += 1
        return self._tokens()

    async def refresh(self, request: web.Request) -> web.Response:
        injected = self._injected("refresh")
        if injected is not None:
            return injected
        token = str((await request.json()).get("refreshToken", ""))
        if self._refresh.pop(token, 0.0) < time.monotonic():
            return web.json_response({"error": "refresh_token_expired"}, status=401)
        self.refreshes += 1
        return self._tokens()

    def _authorised(self, request: web.Request, step: str) -> web.Response | None:
        injected = self._injected(step)
        if injected is not None:
            return injected
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or token not in self._access:
            return web.Response(status=401)
        if self._access[token] < time.monotonic():
            return web.json_response({"error": "token_expired"}, status=401)
        return None

    async def create_report(self, request: web.Request) -> web.Response:
        refused = self._authorised(request, "create")
        if refused is not None:
            return refused
        report = orjson.loads(await request.read())
        reference = str(report.get("hotlineReference", ""))
        if not reference or not report.get("urls"):
            return web.json_response({"error": "validation", "detail": "hotlineReference and urls needed"},
                                     status=422)
        if reference in self._by_reference:
            return web.json_response({"reportId": self._by_reference[reference]}, status=200)
        report_id = str(len(self.reports) + 1)
        self.reports[report_id] = report
        self._by_reference[reference] = report_id
        await self._stall_if_asked("create")
        return web.json_response({"reportId": report_id}, status=201)

    async def update(self, request: web.Request) -> web.Response:
        report_id, ref, kind = (request.match_info[k] for k in ("report", "ref", "kind"))
        refused = self._authorised(request, kind)
        if refused is not None:
            return refused
        if report_id not in self.reports or kind not in ("assessment", "actions"):
            return web.json_response({"error": "not_found"}, status=404)
        self.updates.append((report_id, ref, kind, orjson.loads(await request.read())))
        return web.json_response({"ok": True})

    async def queue(self, request: web.Request) -> web.Response:
        refused = self._authorised(request, "queue")
        if refused is not None:
            return refused
        reports = self.queues.get(request.match_info["country"], [])
        self.served.update(str(r.get("hotlineReference")) for r in reports)
        return web.json_response({"reports": reports})

    async def ack(self, request: web.Request) -> web.Response:
        refused = self._authorised(request, "ack")
        if refused is not None:
            return refused
        country, reference = request.match_info["country"], request.match_info["reference"]
        self.queues[country] = [r for r in self.queues.get(country, []) if r.get("hotlineReference") != reference]
        return web.Response(status=204)
