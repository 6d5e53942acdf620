"""The key directory: public keys with validity windows (``keyring.json``) and our private keys beside them.

``keyring.json`` is a JWKS document (RFC 7517) whose Ed25519 keys carry three extra members:
``not_before`` and ``not_after`` (RFC 3339 UTC, e.g. ``2026-11-24T10:00:00Z``; a key is valid for
``not_before <= t < not_after``) and an optional ``owner`` (a party id such as ``DE-ECO``). The same
document, minus expired keys, is what we publish and what partners hand us, so one loader serves our
own directory and every partner's copy. Our private keys are ``<kid>.key`` files (PKCS8 PEM, mode
0600) in the same folder; a key id is usable for signing only when its private file is there.

Rotation relies on overlapping windows: ``rotate`` adds a new key and shortens (never extends) the
``not_after`` of our other keys to now + overlap, so partners keep accepting messages signed before
the switch until then, and reject them afterwards with ``KeyExpired``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hotline_gateway.core.errors import BadInput, KeyExpired, KeyFileError, KeyNotYetValid, UnknownKey
from hotline_gateway.crypto.jwks import public_jwk, public_key_from_jwk
from hotline_gateway.crypto.keys import SigningKey, generate_private_key, load_private_key, write_private_key

KEYRING = "keyring.json"
PRIVATE_SUFFIX = ".key"
#: key ids name private key files, so they are restricted to characters that are safe in a file name
KID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_EXAMPLE_TIME = "2026-11-24T10:00:00Z"


def utcnow() -> datetime:
    """Now in UTC, to the second: windows are written to the second, so a new key is valid at once."""
    return datetime.now(UTC).replace(microsecond=0)


def format_time(when: datetime) -> str:
    """RFC 3339 UTC with ``Z``, the only form we write."""
    return _utc(when).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """An RFC 3339 date-time with an explicit offset, as an aware UTC datetime; ``ValueError`` otherwise."""
    if not _RFC3339.fullmatch(text):
        raise ValueError(f"must be an RFC 3339 UTC time such as {_EXAMPLE_TIME}, not {text!r}")
    return datetime.fromisoformat(text.upper()).astimezone(UTC)


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware time (UTC)")
    return when.astimezone(UTC)


def _at(at: datetime | None) -> datetime:
    return datetime.now(UTC) if at is None else _utc(at)


def check_kid(kid: str) -> str:
    """Refuse a key id that could not be a private key file name (``BadInput``, exit 2)."""
    if not KID_PATTERN.fullmatch(kid):
        raise BadInput(
            f"bad key id {kid!r}: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit",
            code="bad_key_id",
        )
    return kid


class KeyStatus(StrEnum):
    ACTIVE = "active"  # valid, has a private key, and is the one we sign with
    VALID = "valid"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"


@dataclass(frozen=True)
class KeyEntry:
    """One public key and the window in which signatures by it are accepted."""

    kid: str
    public_key: Ed25519PublicKey
    not_before: datetime
    not_after: datetime
    owner: str | None = None

    @property
    def window(self) -> str:
        return f"{format_time(self.not_before)} to {format_time(self.not_after)}"

    def valid_at(self, at: datetime) -> bool:
        return self.not_before <= at < self.not_after

    def to_jwk(self) -> dict[str, str]:
        """Public JWK plus the window and owner; never any private member."""
        jwk = public_jwk(self.public_key, self.kid)
        jwk["not_before"] = format_time(self.not_before)
        jwk["not_after"] = format_time(self.not_after)
        if self.owner is not None:
            jwk["owner"] = self.owner
        return jwk


def _entry_from_jwk(obj: Any, where: str) -> KeyEntry:
    """Parse one member of ``keys``; every problem names its JSON path."""
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: must be a JSON object")
    if "d" in obj:
        raise ValueError(f"{where}.d: private key material must never be in a keyring (it is published)")
    kid = obj.get("kid")
    if not isinstance(kid, str) or not kid:
        raise ValueError(f"{where}.kid: must be a non-empty string")
    for name, expected in (("use", "sig"), ("alg", "EdDSA")):
        if name in obj and obj[name] != expected:
            raise ValueError(f"{where}.{name}: must be {expected!r}, not {obj[name]!r}")
    try:
        public = public_key_from_jwk(obj)
    except ValueError as exc:
        field = next((n for n in ("kty", "crv", "x") if str(exc).startswith(n)), "x")
        raise ValueError(f"{where}.{field}: {exc}") from None
    window: dict[str, datetime] = {}
    for name in ("not_before", "not_after"):
        value = obj.get(name)
        if not isinstance(value, str):
            raise ValueError(f"{where}.{name}: required, an RFC 3339 UTC time such as {_EXAMPLE_TIME}")
        try:
            window[name] = parse_time(value)
        except ValueError as exc:
            raise ValueError(f"{where}.{name}: {exc}") from None
    if window["not_after"] < window["not_before"]:
        raise ValueError(f"{where}.not_after: is before not_before")
    owner = obj.get("owner")
    if owner is not None and (not isinstance(owner, str) or not owner):
        raise ValueError(f"{where}.owner: must be a non-empty string (a party id such as DE-ECO)")
    return KeyEntry(kid, public, window["not_before"], window["not_after"], owner)


class KeyDirectory:
    """Public keys by key id with validity windows; optionally backed by a ``keyring.json`` file."""

    def __init__(self, file: Path | None = None, entries: Iterable[KeyEntry] = ()) -> None:
        self.file = file
        self._entries: dict[str, KeyEntry] = {}
        for entry in entries:
            self._entries[entry.kid] = entry

    # -- loading and saving -------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> KeyDirectory:
        """Load a key directory (a folder holding ``keyring.json``) or a JWKS file given directly."""
        given = Path(path)
        file = given / KEYRING if given.is_dir() else given
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            if given.is_dir():
                raise KeyFileError(f"{file}: no keyring in this key directory (create one: `keys generate`)") from None
            raise KeyFileError(f"{file}: no such key directory or keyring file") from None
        except OSError as exc:
            raise KeyFileError(f"{file}: cannot read keyring ({exc.strerror})") from None
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise KeyFileError(f"{file}: not valid JSON ({exc})") from None
        return cls.from_jwks(doc, source=str(file), file=file)

    @classmethod
    def from_jwks(cls, doc: Any, *, source: str = "JWKS", file: Path | None = None) -> KeyDirectory:
        """Build from a parsed JWKS document (e.g. fetched from a partner); ``KeyFileError`` names the field."""
        if not isinstance(doc, Mapping) or not isinstance(doc.get("keys"), list):
            raise KeyFileError(f"{source}: $.keys: must be a JWKS document, an object with a \"keys\" array")
        directory = cls(file)
        for i, obj in enumerate(doc["keys"]):
            where = f"$.keys[{i}]"
            try:
                entry = _entry_from_jwk(obj, where)
            except ValueError as exc:
                raise KeyFileError(f"{source}: {exc}") from None
            if entry.kid in directory._entries:
                raise KeyFileError(f"{source}: {where}.kid: duplicate key id {entry.kid!r}")
            directory._entries[entry.kid] = entry
        return directory

    @property
    def folder(self) -> Path | None:
        return None if self.file is None else self.file.parent

    def save(self) -> None:
        """Write ``keyring.json`` atomically (readers such as a running gateway never see half a file)."""
        if self.file is None:
            raise KeyFileError("this key directory was built from a JWKS document and has no file to save to")
        data = orjson.dumps(self.to_jwks(include_expired=True), option=orjson.OPT_INDENT_2) + b"\n"
        tmp = self.file.with_name(f".{self.file.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(self.file)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise KeyFileError(f"{self.file}: cannot write keyring ({exc.strerror})") from None

    # -- contents --------------------------------------------------------------------------------

    def add_public(
        self,
        kid: str,
        public_key: Ed25519PublicKey,
        not_before: datetime,
        not_after: datetime,
        owner: str | None = None,
    ) -> KeyEntry:
        """Add a public key; a key id already present is refused, never replaced."""
        if kid in self._entries:
            raise BadInput(f"key id {kid!r} already exists in {self.file or 'this key directory'}", code="key_exists")
        if not kid:
            raise BadInput("key id must not be empty", code="bad_key_id")
        nb, na = _utc(not_before), _utc(not_after)
        if na < nb:
            raise BadInput(f"key {kid!r}: not_after {format_time(na)} is before not_before {format_time(nb)}")
        entry = KeyEntry(kid, public_key, nb, na, owner)
        self._entries[kid] = entry
        return entry

    def entries(self) -> list[KeyEntry]:
        return list(self._entries.values())

    def __contains__(self, kid: object) -> bool:
        return kid in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, kid: str) -> KeyEntry:
        try:
            return self._entries[kid]
        except KeyError:
            raise UnknownKey(f"unknown key id {kid!r}") from None

    def cut_not_after(self, kid: str, not_after: datetime) -> KeyEntry:
        """Shorten a key's window to end at ``not_after`` (clamped to its not_before); never extends it."""
        entry = self.entry(kid)
        end = min(entry.not_after, max(entry.not_before, _utc(not_after)))
        self._entries[kid] = replace(entry, not_after=end)
        return self._entries[kid]

    def resolve(self, kid: str, at: datetime | None = None) -> Ed25519PublicKey:
        """The public key for ``kid`` if it is valid at ``at`` (default now); raises otherwise."""
        entry = self.entry(kid)
        when = _at(at)
        if when < entry.not_before:
            raise KeyNotYetValid(
                f"key {kid!r} is not valid before {format_time(entry.not_before)} (valid {entry.window})"
            )
        if when >= entry.not_after:
            raise KeyExpired(f"key {kid!r} expired at {format_time(entry.not_after)} (valid {entry.window})")
        return entry.public_key

    # -- our own keys ------------------------------------------------------------------------------

    def private_key_path(self, kid: str) -> Path | None:
        """Where ``kid``'s private key would be; ``None`` if this directory has no folder or the id is unsafe."""
        if self.folder is None or not KID_PATTERN.fullmatch(kid):
            return None
        return self.folder / f"{kid}{PRIVATE_SUFFIX}"

    def has_private(self, kid: str) -> bool:
        path = self.private_key_path(kid)
        return path is not None and path.is_file()

    def _active_entry(self, at: datetime) -> KeyEntry | None:
        """Latest not_before wins; on a tie (a rotation within the same second) the key added last wins."""
        best: tuple[datetime, int, KeyEntry] | None = None
        for i, e in enumerate(self._entries.values()):
            if e.valid_at(at) and self.has_private(e.kid) and (best is None or (e.not_before, i) >= best[:2]):
                best = (e.not_before, i, e)
        return None if best is None else best[2]

    def status(self, kid: str, at: datetime | None = None) -> KeyStatus:
        entry, when = self.entry(kid), _at(at)
        if when < entry.not_before:
            return KeyStatus.NOT_YET_VALID
        if when >= entry.not_after:
            return KeyStatus.EXPIRED
        active = self._active_entry(when)
        return KeyStatus.ACTIVE if active is not None and active.kid == kid else KeyStatus.VALID

    def active_signing_key(self, at: datetime | None = None) -> SigningKey:
        """The key to sign with: valid now, private file present, latest not_before; ``KeyFileError`` if none."""
        when = _at(at)
        entry = self._active_entry(when)
        if entry is None:
            where = self.folder or "this key directory"
            raise KeyFileError(
                f"{where}: no key valid at {format_time(when)} with a private key file <kid>{PRIVATE_SUFFIX}; "
                "create one with `keys generate` or `keys rotate`"
            )
        path = self.private_key_path(entry.kid)
        assert path is not None
        private = load_private_key(path)
        if private.public_key() != entry.public_key:
            raise KeyFileError(f"{path}: private key does not match the public key of {entry.kid!r} in {self.file}")
        return SigningKey(entry.kid, private)

    def to_jwks(self, include_expired: bool = False, at: datetime | None = None) -> dict[str, list[dict[str, str]]]:
        """The JWKS to publish: public members, windows and owners only; expired keys left out unless asked."""
        when = _at(at)
        return {"keys": [e.to_jwk() for e in self._entries.values() if include_expired or when < e.not_after]}


def _open_or_create(directory: str | os.PathLike[str]) -> KeyDirectory:
    folder = Path(directory)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError:
        raise KeyFileError(f"{folder}: not a directory") from None
    except OSError as exc:
        raise KeyFileError(f"{folder}: cannot create key directory ({exc.strerror})") from None
    if (folder / KEYRING).exists():
        return KeyDirectory.load(folder)
    return KeyDirectory(folder / KEYRING)


def _new_own_key(keys: KeyDirectory, kid: str, now: datetime, valid_days: int, owner: str | None) -> SigningKey:
    """Write a fresh private key (0600) and add its public entry; the caller saves the keyring."""
    check_kid(kid)
    if valid_days < 1:
        raise BadInput(f"--valid-days must be at least 1, not {valid_days}")
    path = keys.private_key_path(kid)
    assert path is not None
    if kid in keys or path.exists():
        raise BadInput(f"key id {kid!r} already exists in {keys.folder}; choose a new key id", code="key_exists")
    private = generate_private_key()
    write_private_key(path, private)
    keys.add_public(kid, private.public_key(), now, now + timedelta(days=valid_days), owner)
    return SigningKey(kid, private)


def _save_or_forget(keys: KeyDirectory, key: SigningKey) -> None:
    """Save the keyring; if that fails, remove the new private file so no orphan key is left behind."""
    try:
        keys.save()
    except KeyFileError:
        path = keys.private_key_path(key.kid)
        if path is not None:
            path.unlink(missing_ok=True)
        raise


def generate(
    directory: str | os.PathLike[str],
    kid: str,
    valid_days: int = 365,
    owner: str | None = None,
    *,
    now: datetime | None = None,
) -> SigningKey:
    """Create a signing key in ``directory`` (made if missing), valid from now for ``valid_days``."""
    keys = _open_or_create(directory)
    start = utcnow() if now is None else _utc(now)
    key = _new_own_key(keys, kid, start, valid_days, owner)
    _save_or_forget(keys, key)
    return key


def rotate(
    directory: str | os.PathLike[str],
    new_kid: str,
    overlap_days: int = 7,
    *,
    valid_days: int = 365,
    owner: str | None = None,
    now: datetime | None = None,
) -> SigningKey:
    """Generate ``new_kid`` (it becomes the active key) and end our other keys at now + overlap at the latest.

    The owner defaults to that of our newest existing key, so a rotated key keeps its party id.
    """
    if overlap_days < 0:
        raise BadInput(f"--overlap-days must not be negative, not {overlap_days}")
    keys = KeyDirectory.load(directory)
    start = utcnow() if now is None else _utc(now)
    own = [e for e in keys.entries() if keys.has_private(e.kid)]
    if owner is None and own:
        owner = max(enumerate(own), key=lambda c: (c[1].not_before, c[0]))[1].owner
    key = _new_own_key(keys, new_kid, start, valid_days, owner)
    cutoff = start + timedelta(days=overlap_days)
    for entry in own:
        keys.cut_not_after(entry.kid, cutoff)
    _save_or_forget(keys, key)
    return key
