"""Sign: a detached JWS (EdDSA) over the exact payload bytes, so provenance survives re-forwarding.

The signing key is re-read when ``keys rotate`` changes the key directory, so a running gateway signs
new messages with the new key without a restart.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from gateway.crypto.jws import sign_detached
from gateway.crypto.keydir import KeyDirectory
from gateway.crypto.keys import SigningKey


class KeyRing:
    """Our own key directory, reloaded when its keyring file changes on disk."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._mtime = -1.0
        self._keys: KeyDirectory | None = None
        self._signing: SigningKey | None = None
        self.reload()

    def _stamp(self) -> float:
        try:
            return (self.directory / "keyring.json").stat().st_mtime
        except OSError:
            return -1.0

    def reload(self) -> None:
        with self._lock:
            stamp = self._stamp()
            if stamp == self._mtime and self._keys is not None:
                return
            keys = KeyDirectory.load(self.directory)
            self._signing = keys.active_signing_key()
            self._keys, self._mtime = keys, stamp

    @property
    def keys(self) -> KeyDirectory:
        self.reload()
        assert self._keys is not None
        return self._keys

    @property
    def signing_key(self) -> SigningKey:
        self.reload()
        assert self._signing is not None
        return self._signing


def payload_digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def sign_payload(payload: bytes, key: SigningKey) -> str:
    return sign_detached(payload, key)
