"""Every partner's public keys, indexed by key id, as a running gateway holds them."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hotline_gateway.core.errors import ConfigError, KeyFileError, UnknownKey
from hotline_gateway.core.log import get_logger
from hotline_gateway.crypto.keydir import KeyDirectory

log = get_logger(__name__)


class PartnerKeys:
    """Every partner's public keys, indexed by key id; a key directory is reloaded when its file changes."""

    def __init__(self, paths: Mapping[str, Path]) -> None:
        self._paths = dict(paths)
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
        """Reload the keyrings whose files changed. A keyring may list only its own partner's keys: one
        that lists a key id another partner already holds is refused — at start-up as a configuration
        error naming the file, later by keeping the last good copy in force (and logging why), so one
        bad file never stops the other partners' traffic or leaks who our partners are."""
        with self._lock:
            for pid, path in self._paths.items():
                stamp = self._stamp(path)
                cached = self._dirs.get(pid)
                if cached is not None and cached[0] == stamp:
                    continue
                candidate = self._load(pid, path, cached)
                taken = sorted(e.kid for e in candidate.entries() if self._owner.get(e.kid, pid) != pid)
                if taken:
                    if cached is None:
                        raise ConfigError(f"{path}: key id {taken[0]!r} belongs to another partner; a partner's "
                                          f"keyring may list only that partner's own keys")
                    log.error("partner_keys.refused", partner=pid, reason="lists another partner's key id")
                    self._dirs[pid] = (stamp, cached[1])
                    continue
                self._dirs[pid] = (stamp, candidate)
                self._owner = {kid: owner for kid, owner in self._owner.items() if owner != pid}
                self._owner.update({e.kid: pid for e in candidate.entries()})

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
        path = self._paths.get(partner_id)
        if path is None:
            raise UnknownKey("no keys configured for this partner")
        stamp = self._stamp(path)
        cached = self._dirs[partner_id]
        if cached[0] != stamp:
            self.refresh()
        return self._dirs[partner_id][1]

    def resolve(self, kid: str) -> Ed25519PublicKey:
        return self.directory(self.partner_of(kid)).resolve(kid)
