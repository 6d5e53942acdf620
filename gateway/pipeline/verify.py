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

from hotline_gateway.config import Config, Partner
from hotline_gateway.core.log import get_logger
from hotline_gateway.crypto.digest import verify_content_digest
from hotline_gateway.crypto.httpsig import VerifiedSignature, verify_request
from hotline_gateway.crypto.partner_keys import PartnerKeys

log = get_logger(__name__)


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
