"""The operator status page: partners and circuits, queues, dead letters with their reasons and a
requeue action, recent audit entries, key expiry dates. Server-rendered, read-only but for requeue.

Authentication (``operator_auth``): the operator signs in with the operator credential (not the
intake token) and gets a session cookie; sessions live in the store, end on sign-out or after eight
hours. The requeue and sign-out forms carry a per-session CSRF token, and a POST whose Sec-Fetch-Site
says cross-site, or whose Origin is not this gateway's, is refused with 403.
"""

from __future__ import annotations

import hmac
import time
from datetime import UTC, datetime
from html import escape

from aiohttp import web

from hotline_gateway.api import operator_auth
from hotline_gateway.api.state import WORKER, services
from hotline_gateway.core.errors import (
    FieldProblem,
    GatewayError,
    UnsupportedMediaType,
    ValidationError,
    VerificationError,
)
from hotline_gateway.core.timefmt import format_timestamp

STYLE = """body{font:15px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:72em;color:#1d2733}
table{border-collapse:collapse;margin:.4em 0 1.4em}td,th{border:1px solid #ccd;padding:.25em .6em;text-align:left}
.open{color:#b00;font-weight:bold}.closed{color:#060}.msg{background:#eef6ee;padding:.5em}button{cursor:pointer}"""


class CrossSite(GatewayError):
    code = "cross_site_refused"
    http_status = 403


def _page(title: str, body: str) -> web.Response:
    html = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{STYLE}</style></head><body>{body}</body></html>")
    return web.Response(text=html, content_type="text/html",
                        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                 "form-action 'self'; frame-ancestors 'none'", "X-Frame-Options": "DENY",
                                 "Cache-Control": "no-store"})


async def login_form(_request: web.Request) -> web.Response:
    return _page("Sign in", '<h1>hotline-gateway operator sign-in</h1><form method="post" action="/status/login">'
                 '<label>Operator password <input type="password" name="password" autocomplete="current-password">'
                 '</label> <button type="submit">Sign in</button></form>')


async def _form(request: web.Request) -> dict[str, str]:
    """The posted form; only what a browser's plain form sends is read (no multipart parsing)."""
    if request.content_type != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType(f"send application/x-www-form-urlencoded, not {request.content_type}")
    return {k: str(v) for k, v in (await request.post()).items()}


async def login(request: web.Request) -> web.StreamResponse:
    _same_site(request)  # no signing a victim's browser into our session from another site
    form = await _form(request)
    return await operator_auth.sign_in(request, services(request), str(form.get("password", "")))


async def logout(request: web.Request) -> web.StreamResponse:
    _same_site(request)
    svc = services(request)
    csrf = await operator_auth.csrf_of(request, svc)
    form = await _form(request)
    if csrf is not None and not hmac.compare_digest(str(form.get("csrf", "")).encode(), csrf.encode()):
        raise CrossSite("missing or wrong CSRF token")
    return await operator_auth.sign_out(request, svc)


def _when(epoch: float | None) -> str:
    return "" if epoch is None else format_timestamp(datetime.fromtimestamp(epoch, UTC))


async def status(request: web.Request) -> web.StreamResponse:
    svc = services(request)
    csrf = await operator_auth.csrf_of(request, svc)
    if csrf is None:
        raise web.HTTPSeeOther("/status/login")
    stats, circuits = await svc.store.partner_status(), await svc.store.circuits()
    rows = []
    for pid in sorted(set(svc.config.partners) | set(stats)):
        st = stats.get(pid)
        circuit = circuits.get(pid, ("closed", 0))[0]
        rows.append(f"<tr><td>{escape(pid)}</td><td class='{escape(circuit)}'>{escape(circuit)}</td>"
                    f"<td>{st.queued if st else 0}</td><td>{st.in_flight if st else 0}</td>"
                    f"<td>{st.delivered if st else 0}</td><td>{st.dead if st else 0}</td>"
                    f"<td>{escape((st.last_error or '') if st else '')}</td></tr>")
    dead = await svc.store.dead_letters(100)
    dead_rows = "".join(
        f"<tr><td>{escape(d.partner)}</td><td>{escape(d.message_id)}</td><td>{escape(d.case_id)}</td>"
        f"<td>{d.attempts}</td><td class='reason'>{escape(d.last_error or '')}</td><td>"
        f"<form method='post' action='/status/requeue'><input type='hidden' name='csrf' value='{escape(csrf)}'>"
        f"<input type='hidden' name='message_id' value='{escape(d.message_id)}'>"
        f"<button type='submit'>Requeue</button></form></td></tr>" for d in dead)
    late = await svc.store.lifecycle_unacknowledged(time.time() - svc.config.delivery.retraction_ack_s)
    late_rows = "".join(
        f"<tr><td>{escape(d.partner)}</td><td>{escape(d.case_id)}</td><td>{escape(d.message_type)}</td>"
        f"<td>{escape(d.state.value)}</td><td>{escape(_when(d.created_at))}</td>"
        f"<td class='reason'>{escape(d.last_error or '')}</td></tr>" for d in late)
    audit = "".join(f"<tr><td>{a['seq']}</td><td>{escape(a['at'])}</td><td>{escape(a['kind'])}</td>"
                    f"<td>{escape(a['partner'] or '')}</td><td>{escape(a['message_id'] or '')}</td>"
                    f"<td>{escape(a['case_id'] or '')}</td></tr>"
                    for a in await svc.store.recent_audit(20))
    keys = [("ours", e) for e in svc.keyring.keys.entries()]
    for pid in sorted(svc.config.partners):
        try:
            keys += [(pid, e) for e in svc.partner_keys.directory(pid).entries()]
        except GatewayError:
            continue
    key_rows = "".join(f"<tr><td>{escape(owner)}</td><td>{escape(e.kid)}</td>"
                       f"<td>{escape(format_timestamp(e.not_after))}</td></tr>" for owner, e in keys)
    notice = request.query.get("requeued")
    body = (f"<h1>{escape(svc.config.id)} — gateway status</h1>"
            f"<form method='post' action='/status/logout'><input type='hidden' name='csrf' value='{escape(csrf)}'>"
            "<button type='submit' id='logout'>Sign out</button></form>"
            + (f"<p class='msg' id='notice'>Requeued {escape(notice)} dead letter(s).</p>" if notice else "")
            + "<h2>Partners</h2><table id='partners'><tr><th>partner</th><th>circuit</th><th>queued</th>"
            "<th>in flight</th><th>delivered</th><th>dead</th><th>last error</th></tr>" + "".join(rows) + "</table>"
            + f"<h2>Dead letters ({len(dead)})</h2><table id='dead'><tr><th>partner</th><th>message</th><th>case</th>"
            "<th>attempts</th><th>reason</th><th></th></tr>" + dead_rows + "</table>"
            + f"<h2>Retractions and corrections overdue ({len(late)})</h2><table id='overdue'><tr><th>partner</th>"
            "<th>case</th><th>type</th><th>state</th><th>queued at</th><th>last error</th></tr>" + late_rows
            + "</table>"
            + "<h2>Recent audit entries</h2><table id='audit'><tr><th>#</th><th>at</th><th>event</th><th>partner</th>"
            "<th>message</th><th>case</th></tr>" + audit + "</table>"
            + "<h2>Keys</h2><table id='keys'><tr><th>owner</th><th>key id</th><th>valid until</th></tr>"
            + key_rows + "</table>")
    return _page(f"{svc.config.id} status", body)


def _same_site(request: web.Request) -> None:
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        raise CrossSite(f"refused a {fetch_site} request")
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        raise CrossSite(f"refused a request from origin {origin}")


async def requeue(request: web.Request) -> web.StreamResponse:
    _same_site(request)
    svc = services(request)
    csrf = await operator_auth.csrf_of(request, svc)
    if csrf is None:
        raise VerificationError("sign in first", code="not_signed_in")
    form = await _form(request)
    if not hmac.compare_digest(str(form.get("csrf", "")).encode(), csrf.encode()):
        raise CrossSite("missing or wrong CSRF token")
    message_id = str(form.get("message_id", ""))
    if not message_id:  # an empty id would mean "every dead letter" to the store
        raise ValidationError([FieldProblem("message_id", "required: the dead letter to requeue")])
    count = await svc.store.requeue_dead(message_id=message_id, deadline_s=svc.config.delivery.deadline_s)
    for pid in svc.config.partners:
        request.app[WORKER].wake(pid)
    raise web.HTTPSeeOther(f"/status?requeued={count}")


def add_routes(app: web.Application) -> None:
    app[operator_auth.THROTTLE] = operator_auth.Throttle()
    app.router.add_get("/status/login", login_form)
    app.router.add_post("/status/login", login)
    app.router.add_post("/status/logout", logout)
    app.router.add_get("/status", status)
    app.router.add_post("/status/requeue", requeue)
