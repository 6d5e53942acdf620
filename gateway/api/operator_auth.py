"""Operators' sign-in to the status page: a credential of their own, sessions that survive restarts and
end on sign-out or after eight hours, and a brake on guessing.

- The credential is not the intake token (that one belongs to the case system): a scrypt hash written
  by ``hotline-gateway operator set-password`` to ``[gateway] operator_password_file``; no file, no
  sign-in. Checking it runs in the CPU pool, off the event loop.
- Guessing is throttled: after 5 failures in a minute from one address, or 30 from everywhere, sign-in
  answers 429 with ``Retry-After`` without checking anything.
- Sessions live in the store (by the digest of the cookie's value) and belong to one gateway; the
  cookie is HttpOnly, SameSite=Strict, scoped to ``/status`` and Secure whenever the gateway is reached
  over TLS (directly, or through a proxy: the public URL says https).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from hotline_gateway.api.state import Services
from hotline_gateway.core.errors import GatewayError, KeyFileError, VerificationError
from hotline_gateway.crypto.passwords import verify_password

COOKIE = "hg_operator"
SESSION_S = 8 * 3600
WINDOW_S = 60.0
PER_ADDRESS = 5
OVERALL = 30


class TooManyAttempts(GatewayError):
    code = "too_many_attempts"
    http_status = 429

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many failed sign-ins; try again in {retry_after} s")


@dataclass(slots=True)
class Throttle:
    """Failed sign-ins in the last minute, per address and overall."""

    failures: dict[str, deque[float]] = field(default_factory=dict)
    overall: deque[float] = field(default_factory=deque)

    def _trim(self, now: float) -> None:
        while self.overall and self.overall[0] < now - WINDOW_S:
            self.overall.popleft()
        for addr in [a for a, q in self.failures.items() if not q or q[-1] < now - WINDOW_S]:
            del self.failures[addr]

    def check(self, address: str) -> None:
        now = time.monotonic()
        self._trim(now)
        mine = self.failures.get(address, deque())
        while mine and mine[0] < now - WINDOW_S:
            mine.popleft()
        if len(mine) >= PER_ADDRESS or len(self.overall) >= OVERALL:
            oldest = min([*mine, *self.overall][:1] or [now])
            raise TooManyAttempts(max(1, int(WINDOW_S - (now - oldest)) + 1))

    def failed(self, address: str) -> None:
        now = time.monotonic()
        self.failures.setdefault(address, deque()).append(now)
        self.overall.append(now)


THROTTLE = web.AppKey("operator_throttle", Throttle)


def _digest(session: str) -> str:
    return hashlib.sha256(session.encode()).hexdigest()


def _stored_credential(path: Path | None) -> str:
    if path is None:
        raise VerificationError("operator sign-in is disabled: set [gateway] operator_password_file and run "
                                "`hotline-gateway operator set-password`", code="operator_disabled")
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VerificationError(f"operator sign-in is disabled: {path} does not exist yet (run "
                                "`hotline-gateway operator set-password`)", code="operator_disabled") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the operator credential ({exc.strerror})") from None


async def sign_in(request: web.Request, svc: Services, password: str) -> web.Response:
    """Check the credential (throttled, off the loop) and open a session; 303 to the page."""
    throttle = request.app[THROTTLE]
    address = request.remote or "unknown"
    throttle.check(address)
    stored = _stored_credential(svc.config.operator_password_file)
    try:
        await svc.cpu.run(verify_password, stored, password)
    except VerificationError:
        throttle.failed(address)
        raise
    session, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    await svc.store.add_session(_digest(session), csrf, time.time() + SESSION_S)
    response = web.Response(status=303, headers={"Location": "/status"})
    secure = request.secure or svc.config.public_url.startswith("https://")
    response.set_cookie(COOKIE, session, httponly=True, samesite="Strict", secure=secure, max_age=SESSION_S,
                        path="/status")
    return response


async def csrf_of(request: web.Request, svc: Services) -> str | None:
    """The CSRF token of the request's live session, or None when not signed in."""
    session = request.cookies.get(COOKIE)
    return await svc.store.session(_digest(session)) if session else None


async def sign_out(request: web.Request, svc: Services) -> web.Response:
    session = request.cookies.get(COOKIE)
    if session:
        await svc.store.end_session(_digest(session))
    response = web.Response(status=303, headers={"Location": "/status/login"})
    response.del_cookie(COOKIE, path="/status")
    return response
