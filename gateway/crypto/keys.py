"""Ed25519 key files: PKCS8 PEM private keys that only their owner can read, and PEM public keys.

A private key is created with mode 0600 in the same system call that creates the file, so it is never
readable by others, not even for an instant; loading refuses a key that group or others may read or
write, because such a key must be presumed leaked.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hotline_gateway.core.errors import InsecureKeyFile, KeyFileError
from hotline_gateway.crypto.jwks import public_jwk, thumbprint

PRIVATE_MODE = 0o600
#: permission bits that must be clear on a private key file: anything for group or others
INSECURE_BITS = 0o077
#: an Ed25519 PEM is a few hundred bytes; reading more than this means it is not a key file
MAX_KEY_FILE_BYTES = 64 * 1024


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(encoding=serialization.Encoding.PEM, format=serialization.PublicFormat.SubjectPublicKeyInfo)


def write_private_key(path: str | os.PathLike[str], key: Ed25519PrivateKey) -> None:
    """Write ``key`` as PKCS8 PEM to a new file created with mode 0600; an existing file is never overwritten."""
    target = Path(path)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    except FileExistsError:
        raise KeyFileError(f"{target}: already exists; not overwriting a key file") from None
    except OSError as exc:
        raise KeyFileError(f"{target}: cannot create key file ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(private_key_pem(key))
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        target.unlink(missing_ok=True)
        raise KeyFileError(f"{target}: cannot write key file ({exc.strerror})") from None


def _read_key_file(path: Path, *, private: bool) -> bytes:
    """Read a key file; for a private key, check its mode on the open descriptor (no check-then-open race)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise KeyFileError(f"{path}: no such key file") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read key file ({exc.strerror})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise KeyFileError(f"{path}: not a regular file")
    mode = stat.S_IMODE(info.st_mode)
    if private and mode & INSECURE_BITS:
        os.close(fd)
        raise InsecureKeyFile(
            f"{path}: private key file has mode {mode:04o}, readable or writable by group or others; "
            f"refusing it (run: chmod 600 {path}, and consider the key compromised)"
        )
    with os.fdopen(fd, "rb") as fh:
        try:
            data = fh.read(MAX_KEY_FILE_BYTES + 1)
        except OSError as exc:
            raise KeyFileError(f"{path}: cannot read key file ({exc.strerror})") from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KeyFileError(f"{path}: too large to be a key file")
    return data


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM file that only its owner can read; raises ``KeyFileError`` naming it."""
    target = Path(path)
    data = _read_key_file(target, private=True)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise KeyFileError(f"{target}: private key is encrypted; an unencrypted PKCS8 PEM is expected") from None
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFileError(f"{target}: not a PEM private key (malformed or unsupported)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{target}: not an Ed25519 private key ({type(key).__name__.lstrip('_')})")
    return key


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM (SubjectPublicKeyInfo) file; raises ``KeyFileError`` naming it."""
    target = Path(path)
    data = _read_key_file(target, private=False)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFileError(f"{target}: not a PEM public key (malformed or unsupported)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{target}: not an Ed25519 public key ({type(key).__name__.lstrip('_')})")
    return key


@dataclass(frozen=True)
class SigningKey:
    """One of our private keys with the key id under which partners know its public half."""

    kid: str
    private: Ed25519PrivateKey = field(repr=False)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def public_jwk(self) -> dict[str, str]:
        """What partners need to verify us: OKP, crv Ed25519, x, kid, use sig, alg EdDSA (never ``d``)."""
        return public_jwk(self.public_key, self.kid)

    def thumbprint(self) -> str:
        """RFC 7638 thumbprint of the public key, to compare keys out of band."""
        return thumbprint(self.public_key)

    def sign(self, data: bytes) -> bytes:
        """Raw 64-byte Ed25519 signature over ``data``."""
        return self.private.sign(data)
