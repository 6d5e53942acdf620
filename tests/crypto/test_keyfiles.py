"""Key files: private keys are born 0600, loading refuses exposed or broken files and names them."""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hotline_gateway.core.errors import BadInput, InsecureKeyFile, KeyFileError
from hotline_gateway.crypto.keys import (
    SigningKey,
    generate_private_key,
    load_private_key,
    load_public_key,
    public_key_pem,
    write_private_key,
)

#: RFC 8037 Appendix A.1
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask, so a 0600 result proves the mode was set at creation, not by the umask."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_written_private_key_has_mode_0600_even_with_umask_0(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "k.key"
    write_private_key(path, generate_private_key())
    assert mode_of(path) == 0o600


def test_written_private_key_is_unencrypted_pkcs8_pem_that_loads_back_as_the_same_key(tmp_path: Path) -> None:
    key = generate_private_key()
    path = tmp_path / "k.key"
    write_private_key(path, key)
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert load_private_key(path).public_key() == key.public_key()


def test_write_private_key_never_overwrites_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    path.write_bytes(b"precious")
    with pytest.raises(KeyFileError, match="already exists"):
        write_private_key(path, generate_private_key())
    assert path.read_bytes() == b"precious"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602, 0o660, 0o666])
def test_private_key_readable_or_writable_by_group_or_world_is_refused_naming_file_and_mode(
    tmp_path: Path, mode: int
) -> None:
    path = tmp_path / "k.key"
    write_private_key(path, generate_private_key())
    path.chmod(mode)
    with pytest.raises(InsecureKeyFile) as info:
        load_private_key(path)
    assert str(path) in info.value.message
    assert f"{mode:04o}" in info.value.message
    assert info.value.code == "insecure_key_file" and info.value.exit_code == 2


def test_owner_only_read_only_private_key_0400_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    write_private_key(path, generate_private_key())
    path.chmod(0o400)
    assert isinstance(load_private_key(path), Ed25519PrivateKey)


def test_missing_private_key_is_a_key_file_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.key"
    with pytest.raises(KeyFileError, match=r"absent\.key: no such key file") as info:
        load_private_key(path)
    assert not isinstance(info.value, InsecureKeyFile)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a key at all\n", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", b"\xff" * 100],
    ids=["empty", "text", "truncated-pem", "binary"],
)
def test_malformed_private_key_is_a_key_file_error_naming_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, content)
    os.close(fd)
    with pytest.raises(KeyFileError, match=r"broken\.key: not a PEM private key"):
        load_private_key(path)


def test_encrypted_private_key_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "enc.key"
    pem = generate_private_key().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, pem)
    os.close(fd)
    with pytest.raises(KeyFileError, match=r"enc\.key: private key is encrypted"):
        load_private_key(path)


def test_non_ed25519_private_key_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ec.key"
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, pem)
    os.close(fd)
    with pytest.raises(KeyFileError, match=r"ec\.key: not an Ed25519 private key"):
        load_private_key(path)


def test_a_directory_given_as_key_file_is_a_key_file_error(tmp_path: Path) -> None:
    folder = tmp_path / "dir.key"
    folder.mkdir(mode=0o700)
    with pytest.raises(KeyFileError, match=r"dir\.key"):
        load_private_key(folder)


def test_public_key_loads_from_pem_and_malformed_or_foreign_pem_is_refused_naming_the_file(tmp_path: Path) -> None:
    key = generate_private_key()
    good = tmp_path / "pub.pem"
    good.write_bytes(public_key_pem(key.public_key()))
    assert load_public_key(good) == key.public_key()
    bad = tmp_path / "bad.pem"
    bad.write_bytes(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(KeyFileError, match=r"bad\.pem: not a PEM public key"):
        load_public_key(bad)
    foreign = tmp_path / "ec.pem"
    foreign.write_bytes(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(KeyFileError, match=r"ec\.pem: not an Ed25519 public key"):
        load_public_key(foreign)
    with pytest.raises(KeyFileError, match=r"none\.pem: no such key file"):
        load_public_key(tmp_path / "none.pem")


def test_public_jwk_has_exactly_the_public_members_of_rfc8037_and_no_private_d() -> None:
    key = SigningKey("k-1", Ed25519PrivateKey.from_private_bytes(b64url(RFC8037_D)))
    assert key.public_jwk() == {
        "kty": "OKP", "crv": "Ed25519", "x": RFC8037_X, "kid": "k-1", "use": "sig", "alg": "EdDSA",
    }


def test_thumbprint_matches_rfc8037_appendix_a3() -> None:
    key = SigningKey("any", Ed25519PrivateKey.from_private_bytes(b64url(RFC8037_D)))
    assert key.thumbprint() == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_signing_key_signs_raw_ed25519_and_its_repr_never_shows_the_private_key() -> None:
    key = SigningKey("k-1", generate_private_key())
    key.public_key.verify(key.sign(b"data"), b"data")  # raises if wrong
    assert "private" not in repr(key) and "k-1" in repr(key)


def test_key_file_errors_are_bad_input_so_the_cli_exits_2() -> None:
    assert issubclass(KeyFileError, BadInput) and KeyFileError("x").exit_code == 2
