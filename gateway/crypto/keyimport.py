"""Fingerprints to read out of band, and importing a partner's published JWKS as the keys we trust for it.

Trust in a partner's keys rests on one human step: its operator reads the fingerprints of its keys to ours
over a channel an attacker does not control (a phone call, a signed letter), and ours compares them with
the file received. ``import_partner_keys`` refuses a file whose keys are not the ones read out, so a
swapped file in the mail is caught before it is trusted, not after.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path

from hotline_gateway.core.errors import BadInput, VerificationError
from hotline_gateway.crypto.jwks import thumbprint
from hotline_gateway.crypto.keydir import KEYRING, KeyDirectory, KeyEntry, format_time


class FingerprintMismatch(VerificationError):
    """A key in the file is not one whose fingerprint was read out of band: the file is not trusted."""

    code = "fingerprint_mismatch"


def fingerprint(entry: KeyEntry) -> str:
    """RFC 7638 thumbprint (SHA-256 of the canonical JWK, base64url): what ``keys list``/``generate`` show."""
    return thumbprint(entry.public_key)


def spoken(fp: str) -> str:
    """The same digest as upper-case hex in groups of four, unambiguous to read aloud over the phone."""
    raw = base64.urlsafe_b64decode(fp + "=" * (-len(fp) % 4))
    text = raw.hex().upper()
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


def _normal(fp: str) -> str:
    """Accept either form of a fingerprint (base64url, or hex with or without spaces) as hex."""
    compact = fp.replace(" ", "").replace(":", "")
    if len(compact) == 64 and all(c in "0123456789abcdefABCDEF" for c in compact):
        return compact.upper()
    try:
        return spoken(compact).replace(" ", "")
    except ValueError:  # not base64url either: it matches nothing
        return compact


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    owner: str | None
    not_before: str
    not_after: str
    fingerprint: str
    spoken: str

    @classmethod
    def of(cls, entry: KeyEntry) -> KeyInfo:
        fp = fingerprint(entry)
        return cls(entry.kid, entry.owner, format_time(entry.not_before), format_time(entry.not_after), fp, spoken(fp))


@dataclass
class ImportResult:
    target: Path
    keys: list[KeyInfo]
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def target_file(target: Path) -> Path:
    """A partner's keys live in a folder holding ``keyring.json`` or in a ``.json`` file named directly."""
    return target if target.suffix == ".json" else target / KEYRING


def import_partner_keys(source: Path, target: Path, *, expect: list[str], owner: str | None = None) -> ImportResult:
    """Check ``source`` (a JWKS) against the fingerprints read out of band, then make it the partner's key file.

    Every key in the file must be among ``expect`` or already held, unchanged (checked when it was first
    imported: after a rotation only the new key's fingerprint is read out). No fingerprint at all is a usage
    error: trusting a file unchecked is what this command exists to prevent. A key id we hold with another
    public key is refused: a partner never reuses a key id for a new key. ``owner`` refuses keys that name
    another party.
    """
    if not expect:
        raise BadInput("give the partner's key fingerprints as read out of band: --fingerprint FP (repeatable)")
    incoming = KeyDirectory.load(source)
    if not len(incoming):
        raise BadInput(f"{source}: holds no key")
    file = target_file(target)
    held = KeyDirectory.load(file) if file.exists() else KeyDirectory(file)
    wanted = {_normal(fp) for fp in expect}
    result = ImportResult(file, [KeyInfo.of(e) for e in incoming.entries()])
    for entry in incoming.entries():
        got = fingerprint(entry)
        if owner is not None and entry.owner not in (None, owner):
            raise FingerprintMismatch(f"{source}: key {entry.kid!r} belongs to {entry.owner!r}, not {owner!r}")
        if entry.kid in held and held.entry(entry.kid).public_key != entry.public_key:
            raise FingerprintMismatch(f"{source}: key id {entry.kid!r} is already held for this partner with another "
                                      "public key; a key id is never reused, so this file is not trusted")
        if entry.kid in held:
            result.unchanged.append(entry.kid)
        elif _normal(got) in wanted:
            result.added.append(entry.kid)
        else:
            raise FingerprintMismatch(
                f"{source}: key {entry.kid!r} has fingerprint {got} ({spoken(got)}), which is not one you were "
                "given out of band; do not trust this file, ask the partner again by phone")
    result.removed = [e.kid for e in held.entries() if e.kid not in incoming]
    file.parent.mkdir(parents=True, exist_ok=True)
    KeyDirectory(file, incoming.entries()).save()
    return result
