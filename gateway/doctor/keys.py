"""Keys: ours must sign now and for the next 30 days; each partner's must verify now and not all end soon."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hotline_gateway.config import Config
from hotline_gateway.core.errors import GatewayError
from hotline_gateway.crypto.keydir import KeyDirectory, format_time
from hotline_gateway.doctor.findings import Finding, must_fix, ok, warn

CHECK = "keys"
HORIZON = timedelta(days=30)


def _days(delta: timedelta) -> str:
    return f"{delta.days} day(s)"


def check_own_keys(config: Config, now: datetime | None = None) -> list[Finding]:
    now = now or datetime.now(UTC)
    try:
        keys = KeyDirectory.load(config.keys_dir)
        active = keys.active_signing_key(now)
    except GatewayError as exc:
        return [must_fix(CHECK, str(config.keys_dir), f"no usable signing key: {exc.message}",
                         f"hotline-gateway keys rotate --dir {config.keys_dir} --id NEW-KID")]
    entry = keys.entry(active.kid)
    # a key of ours that takes over later (rotation already done) carries the gateway past the horizon
    own_until = max(e.not_after for e in keys.entries() if keys.has_private(e.kid) and e.not_before <= now + HORIZON)
    left = entry.not_after - now
    if own_until - now < HORIZON:
        return [must_fix(CHECK, active.kid, f"our signing key ends {format_time(entry.not_after)}, in {_days(left)}, "
                         "and no later key of ours takes over",
                         f"hotline-gateway keys rotate --dir {config.keys_dir} --id NEW-KID, then send partners the "
                         "new JWKS (keys export) and read them its fingerprint")]
    return [ok(CHECK, active.kid, f"our signing key, valid until {format_time(entry.not_after)} ({_days(left)})")]


def check_partner_keys(config: Config, now: datetime | None = None) -> list[Finding]:
    now = now or datetime.now(UTC)
    found: list[Finding] = []
    for pid, path in config.partner_key_paths().items():
        try:
            keys = KeyDirectory.load(path)
        except GatewayError as exc:
            found.append(must_fix(CHECK, pid, f"its keys cannot be read: {exc.message}",
                                  f"hotline-gateway keys import THEIR.jwks --to {path} --fingerprint FP"))
            continue
        valid = [e for e in keys.entries() if e.valid_at(now)]
        if not valid:
            found.append(must_fix(CHECK, pid, f"no key of {pid} is valid now: every message from it is refused",
                                  f"ask {pid} for its current JWKS and import it (keys import)"))
        elif max(e.not_after for e in valid) - now < HORIZON:
            end = max(e.not_after for e in valid)
            found.append(warn(CHECK, pid, f"every key we hold for {pid} ends by {format_time(end)}",
                              f"ask {pid} for its next key before then"))
        else:
            found.append(ok(CHECK, pid, f"{len(valid)} valid key(s): {', '.join(e.kid for e in valid)}"))
    return found
