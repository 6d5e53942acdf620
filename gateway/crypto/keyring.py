"""Our own key directory as a running gateway holds it: reloaded when ``keys rotate`` changes it on disk,
so new messages are signed with the new key without a restart."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from hotline_gateway.crypto.keydir import KeyDirectory
from hotline_gateway.crypto.keys import SigningKey


class KeyRing:
    """Our own key directory, reloaded when its keyring file changes on disk."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._file = os.fspath(directory / "keyring.json")  # stat'ed before every signature: no Path per call
        self._lock = threading.Lock()
        self._mtime = -1.0
        self._keys: KeyDirectory | None = None
        self._signing: SigningKey | None = None
        self.reload()

    def _stamp(self) -> float:
        try:
            return os.stat(self._file).st_mtime  # noqa: PTH116 (a str path: no Path built per signature)
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
