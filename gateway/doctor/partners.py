"""Partners over the network: each reachable, and the keys it publishes the ones we hold for it.

A gateway partner publishes its keys at ``/.well-known/hotline-gateway/keys``. A key it signs with that we
do not hold means its messages will be refused; a key id we hold with another public key means one of the
two copies is not the partner's (or it re-keyed without telling us): never import it blindly, read its
fingerprint with the partner by phone first. APIs that publish no keys (ICCAM, CyberTipline) are checked for
reachability only.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp
import orjson

from hotline_gateway.config import Config, Partner
from hotline_gateway.core.errors import GatewayError
from hotline_gateway.crypto.keydir import KeyDirectory
from hotline_gateway.crypto.keyimport import fingerprint
from hotline_gateway.doctor.findings import Finding, must_fix, ok, warn

CHECK = "partners"
WELL_KNOWN = "/.well-known/hotline-gateway/keys"
#: transports whose far end runs hotline-gateway or at least signs, so publishes a JWKS worth comparing
SIGNING_TRANSPORTS = frozenset({"native-http", "https"})
MAX_JWKS_BYTES = 256 * 1024


def _origin(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def compare_keys(partner: Partner, published: KeyDirectory, held: KeyDirectory,
                 now: datetime | None = None) -> list[Finding]:
    """What differs between the keys a partner publishes (valid now) and the keys we trust for it."""
    now = now or datetime.now(UTC)
    found: list[Finding] = []
    pid = partner.id
    for entry in published.entries():
        if not entry.valid_at(now):
            continue
        if entry.kid not in held:
            found.append(must_fix(CHECK, pid, f"signs with key {entry.kid!r} (fingerprint {fingerprint(entry)}), "
                                  "which we do not hold: its messages will be refused",
                                  f"read the fingerprint with {pid} by phone, then: hotline-gateway keys import "
                                  f"THEIR.jwks --to {partner.keys} --fingerprint FP"))
        elif held.entry(entry.kid).public_key != entry.public_key:
            found.append(must_fix(CHECK, pid, f"key MISMATCH for {entry.kid!r}: it publishes fingerprint "
                                  f"{fingerprint(entry)}, we hold {fingerprint(held.entry(entry.kid))}; one of the "
                                  "two is not the partner's key",
                                  f"call {pid} and compare fingerprints before trusting either"))
    for entry in held.entries():
        if entry.valid_at(now) and entry.kid not in published:
            found.append(warn(CHECK, pid, f"we hold key {entry.kid!r}, which {pid} no longer publishes",
                              "re-import its current JWKS once you have checked its fingerprints"))
    if not found:
        found.append(ok(CHECK, pid, "reachable; the keys it publishes are the keys we hold"))
    return found


async def _tcp(partner: Partner, timeout: float) -> Finding:
    parts = urlsplit(partner.endpoint or "")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, port), timeout)
    except (OSError, TimeoutError) as exc:
        return must_fix(CHECK, partner.id, f"unreachable at {parts.hostname}:{port}: {exc or 'timed out'}",
                        "check the endpoint, DNS and the firewall between us")
    writer.close()
    return ok(CHECK, partner.id, f"reachable at {parts.hostname}:{port} ({partner.transport}; publishes no keys)")


async def check_partner(session: aiohttp.ClientSession, partner: Partner, timeout: float) -> list[Finding]:
    if partner.endpoint is None:
        return [ok(CHECK, partner.id, f"{partner.transport}: no endpoint to reach from here")]
    if partner.transport not in SIGNING_TRANSPORTS or partner.keys is None:
        return [await _tcp(partner, timeout)]
    url = _origin(partner.endpoint) + WELL_KNOWN
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout)) as r:
            body = await r.content.read(MAX_JWKS_BYTES + 1)
            status = r.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return [must_fix(CHECK, partner.id, f"unreachable at {url}: {exc or type(exc).__name__}",
                         "check the endpoint, DNS, TLS and the firewall between us")]
    if status != 200 or len(body) > MAX_JWKS_BYTES:
        level = must_fix if partner.transport == "native-http" else warn
        return [level(CHECK, partner.id, f"reachable, but {url} answered {status} instead of its keys",
                      "compare key fingerprints with the partner by phone")]
    try:
        published = KeyDirectory.from_jwks(orjson.loads(body), source=url)
    except (GatewayError, orjson.JSONDecodeError) as exc:
        return [must_fix(CHECK, partner.id, f"{url} is not a valid JWKS: {exc}")]
    try:
        held = KeyDirectory.load(partner.keys)
    except GatewayError:
        return []  # the keys check already says the file is unreadable
    return compare_keys(partner, published, held)


async def check_partners(config: Config, timeout: float = 5.0) -> list[Finding]:
    async with aiohttp.ClientSession() as session:
        results = await asyncio.gather(*(check_partner(session, p, timeout) for p in config.partners.values()))
    return [f for found in results for f in found]
