"""What ``serve`` says when it starts: one block an operator can check at a glance, and why it cannot start.

The block names everything a first deployment gets wrong: where it listens (plain HTTP: TLS belongs in a
proxy in front), who we are, which key signs and until when, who we talk to in which format, and where the
store is. Failures that are the operator's to fix (port taken, key unreadable, bad config) are one line,
exit 2, never a traceback.
"""

from __future__ import annotations

import errno
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hotline_gateway import __version__
from hotline_gateway.core.errors import BadInput

if TYPE_CHECKING:
    from hotline_gateway.config import Config
    from hotline_gateway.service import RunningGateway

#: a signing key closer than this to its end is announced as a warning at start (and by ``doctor``)
EXPIRY_WARNING_DAYS = 30


def startup_info(gw: RunningGateway) -> dict[str, Any]:
    from hotline_gateway.api.state import SERVICES
    from hotline_gateway.crypto.keydir import format_time
    from hotline_gateway.store import store_label

    config = gw.config
    keyring = gw.app[SERVICES].keyring
    key = keyring.signing_key
    not_after = keyring.keys.entry(key.kid).not_after
    days_left = (not_after - datetime.now(UTC)).total_seconds() / 86400
    return {
        "version": __version__, "gateway": config.id, "country": config.country, "role": config.role,
        "listen": gw.url, "public_url": config.public_url, "key": key.kid, "key_not_after": format_time(not_after),
        "key_days_left": int(days_left), "store": store_label(config), "config": str(config.path),
        "routes": len(config.routes), "default_routes": "routes" not in config.raw,
        "partners": [{"id": p.id, "kind": p.kind, "country": p.country, "format": p.format, "transport": p.transport,
                      "endpoint": p.endpoint, "tlp_max": p.tlp_max.value} for p in config.partners.values()],
    }


def startup_text(info: dict[str, Any]) -> str:
    lines = [
        f"hotline-gateway {info['version']}: {info['gateway']} ({info['role']}, {info['country']}) is running",
        f"  listening    {info['listen']}  (plain HTTP: put TLS in front, see docs/deploy.md)",
        f"  public URL   {info['public_url'] or '(not set: partners must reach the address above)'}",
        f"  signing key  {info['key']}, valid until {info['key_not_after']} ({info['key_days_left']} days)",
        f"  store        {info['store']}",
        f"  routes       {info['routes']} rules" + (" (national-hotline defaults)" if info["default_routes"] else ""),
    ]
    partners = info["partners"]
    if not partners:
        lines.append("  partners     none: cases are stored but go nowhere (add [[partners]], see docs/deploy.md)")
    for i, p in enumerate(partners):
        where = f"{p['kind']} {p['country'] or ''}".strip()
        lines.append(f"  {'partners' if i == 0 else '':<12} {p['id']:<16} {where:<20} {p['format']} over "
                     f"{p['transport']}, TLP up to {p['tlp_max']}" + (f" -> {p['endpoint']}" if p["endpoint"] else ""))
    if info["key_days_left"] < EXPIRY_WARNING_DAYS:
        lines.append(f"  WARNING      the signing key ends in {info['key_days_left']} days: rotate it "
                     "(hotline-gateway keys rotate) and send partners the new JWKS")
    lines.append("  status       /status (operators), /metrics (Prometheus), /readyz; SIGTERM drains and stops")
    return "\n".join(lines)


def listen_error(config: Config, exc: OSError) -> BadInput:
    """The usual reasons a gateway cannot listen, as one line naming what to change."""
    where = f"{config.host}:{config.port}"
    if exc.errno == errno.EADDRINUSE:
        why = "address already in use: another program (or another gateway) listens there"
    elif exc.errno == errno.EACCES:
        why = "permission denied: ports below 1024 need privileges; use a higher port behind the TLS proxy"
    elif exc.errno == errno.EADDRNOTAVAIL:
        why = "no such address on this machine"
    else:
        why = exc.strerror or str(exc)
    return BadInput(f"cannot listen on {where}: {why} (set [gateway] host/port in {config.path})",
                    code="cannot_listen")
