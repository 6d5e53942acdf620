"""Verify: prove who sent a request, on the exact bytes received, before the body is parsed.

Order matters: size and media type are checked from the headers, then the HTTP message signature
(RFC 9421) over method, target, content type and Content-Digest, then the digest against the body,
then replay (created within the allowed skew, nonce not seen). Every failure raises a typed error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.config import Config, Partner
from gateway.crypto.digest import verify_content_digest
from gateway.crypto.httpsig import VerifiedSignature, verify_request
from gateway.crypto.keydir import KeyDirectory
from gateway.errors import ConfigError, KeyFileError, UnknownKey
from gateway.log import get_logger

log = get_logger(__name__)


class PartnerKeys:
    """Every partner's public keys, indexed by key id; a key directory is reloaded when its file changes."""

    def __init__(self, partners: Mapping[str, Partner]) -> None:
        self._partners = {p.id: p for p in partners.values() if p.keys is not None}
        self._lock = threading.Lock()
        self._dirs: dict[str, tuple[float, KeyDirectory]] = {}
        self._owner: dict[str, str] = {}
        self.refresh()

    @staticmethod
    def _stamp(path: Path) -> float:
        target = path / "keyring.json" if path.is_dir() else path
        try:
            return target.stat().st_mtime
        except OSError:
            return -1.0

    def refresh(self) -> None:
        with self._lock:
            owner: dict[str, str] = {}
            for pid, partner in self._partners.items():
                assert partner.keys is not None
                stamp = self._stamp(partner.keys)
                cached = self._dirs.get(pid)
                if cached is None or cached[0] != stamp:
                    self._dirs[pid] = (stamp, self._load(pid, partner.keys, cached))
                for entry in self._dirs[pid][1].entries():
                    if owner.setdefault(entry.kid, pid) != pid:
                        raise ConfigError(f"key id {entry.kid!r} belongs to both {owner[entry.kid]} and {pid}")
            self._owner = owner

    @staticmethod
    def _load(pid: str, path: Path, cached: tuple[float, KeyDirectory] | None) -> KeyDirectory:
        """A broken copy of a partner's keyring keeps the last good one in force (and says so) rather
        than refusing all of that partner's traffic; at start-up there is no good copy, so it is fatal."""
        try:
            return KeyDirectory.load(path)
        except KeyFileError as exc:
            if cached is None:
                raise
            log.error("partner_keys.unreadable", partner=pid, error=exc.message)
            return cached[1]

    def partner_of(self, kid: str) -> str:
        pid = self._owner.get(kid)
        if pid is None:
            self.refresh()
            pid = self._owner.get(kid)
        if pid is None:
            raise UnknownKey(f"unknown key id {kid!r}")
        return pid

    def directory(self, partner_id: str) -> KeyDirectory:
        """The partner's keys as its file says now: one stat per call, a reload only when the file changed."""
        partner = self._partners.get(partner_id)
        if partner is None or partner.keys is None:
            raise UnknownKey(f"no keys configured for partner {partner_id!r}")
        stamp = self._stamp(partner.keys)
        cached = self._dirs[partner_id]
        if cached[0] != stamp:
            self.refresh()
        return self._dirs[partner_id][1]

    def resolve(self, kid: str) -> Ed25519PublicKey:
        return self.directory(self.partner_of(kid)).resolve(kid)


class NonceCache:
    """Nonces seen inside the replay window (persisted with accepted messages, reloaded at start)."""

    def __init__(self, window_s: int) -> None:
        self.window_s = window_s
        self._seen: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._last_prune = 0.0

    def load(self, entries: list[tuple[str, str, int]]) -> None:
        with self._lock:
            for kid, nonce, created in entries:
                self._seen[(kid, nonce)] = created

    def seen(self, kid: str, nonce: str) -> bool:
        """Check and record in one step: True when this nonce was already used with this key."""
        now = time.time()
        with self._lock:
            if now - self._last_prune > self.window_s:
                cutoff = int(now) - 2 * self.window_s
                self._seen = {k: v for k, v in self._seen.items() if v >= cutoff}
                self._last_prune = now
            if (kid, nonce) in self._seen:
                return True
            self._seen[(kid, nonce)] = int(now)
            return False


@dataclass(frozen=True, slots=True)
class Sender:
    partner: Partner
    signature: VerifiedSignature


class InboundVerifier:
    def __init__(self, config: Config, keys: PartnerKeys, nonces: NonceCache) -> None:
        self.config = config
        self.keys = keys
        self.nonces = nonces

    def verify(self, *, method: str, target_uri: str, headers: Mapping[str, str], body: bytes) -> Sender:
        sig = verify_request(
            method=method, target_uri=target_uri, headers=headers, resolve=self.keys.resolve,
            max_skew=self.config.clock_skew_s, nonce_seen=self.nonces.seen,
        )
        verify_content_digest(headers.get("Content-Digest"), body)
        partner = self.config.partner(self.keys.partner_of(sig.kid))
        return Sender(partner, sig)
