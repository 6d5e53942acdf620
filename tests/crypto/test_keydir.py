"""The key directory: windows decide which keys verify, which key signs, and what we publish."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from hotline_gateway.core.errors import (
    BadInput,
    InsecureKeyFile,
    KeyExpired,
    KeyFileError,
    KeyNotYetValid,
    UnknownKey,
    VerificationError,
)
from hotline_gateway.crypto.keydir import KEYRING, KeyDirectory, KeyStatus, generate, rotate
from hotline_gateway.crypto.keys import SigningKey, generate_private_key

#: a fixed "now" so that windows and expiry are exact, not racing the wall clock
NOW = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def keydir(tmp_path: Path) -> Path:
    """A key directory holding one of our keys, ``FR-PDC-1``, valid from NOW for 365 days."""
    folder = tmp_path / "keys"
    generate(folder, "FR-PDC-1", owner="FR-PDC", now=NOW)
    return folder


@pytest.fixture
def own_key(keydir: Path) -> SigningKey:
    return KeyDirectory.load(keydir).active_signing_key(at=NOW)


def keyring(folder: Path) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads((folder / KEYRING).read_bytes())
    return doc


def test_generate_writes_a_0600_private_file_and_a_public_entry_with_window_and_owner(
    keydir: Path, now: datetime
) -> None:
    private = keydir / "FR-PDC-1.key"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    (jwk,) = keyring(keydir)["keys"]
    assert jwk["kid"] == "FR-PDC-1" and jwk["owner"] == "FR-PDC"
    assert jwk["not_before"] == "2026-11-24T10:00:00Z" and jwk["not_after"] == "2027-11-24T10:00:00Z"
    assert "d" not in jwk
    assert KeyDirectory.load(keydir).resolve("FR-PDC-1", now) is not None


def test_generate_refuses_a_key_id_that_already_exists_and_keeps_the_old_key(keydir: Path, now: datetime) -> None:
    before = (keydir / "FR-PDC-1.key").read_bytes()
    with pytest.raises(BadInput, match="'FR-PDC-1' already exists") as info:
        generate(keydir, "FR-PDC-1", now=now)
    assert info.value.code == "key_exists"
    assert (keydir / "FR-PDC-1.key").read_bytes() == before
    assert len(keyring(keydir)["keys"]) == 1


@pytest.mark.parametrize("kid", ["../escape", "a/b", "", ".hidden", "x" * 129, "sp ace"])
def test_generate_refuses_a_key_id_that_is_not_a_safe_file_name(tmp_path: Path, kid: str) -> None:
    with pytest.raises(BadInput, match="bad key id") as info:
        generate(tmp_path / "keys", kid)
    assert info.value.code == "bad_key_id"
    assert not (tmp_path / "escape.key").exists()


def test_load_accepts_the_folder_or_a_keyring_file_given_directly_under_any_name(keydir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "FR-PDC.json"
    copy.write_bytes((keydir / KEYRING).read_bytes())
    assert [e.kid for e in KeyDirectory.load(keydir).entries()] == ["FR-PDC-1"]
    assert [e.kid for e in KeyDirectory.load(copy).entries()] == ["FR-PDC-1"]
    assert KeyDirectory.load(copy).file == copy


def test_load_of_a_missing_directory_or_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="nowhere"):
        KeyDirectory.load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(KeyFileError, match=r"empty/keyring\.json: no keyring"):
        KeyDirectory.load(tmp_path / "empty")


def test_load_of_invalid_json_names_the_file(tmp_path: Path) -> None:
    (tmp_path / KEYRING).write_text("{not json", encoding="utf-8")
    with pytest.raises(KeyFileError, match=r"keyring\.json: not valid JSON"):
        KeyDirectory.load(tmp_path)


def _good_jwk(keydir: Path) -> dict[str, Any]:
    jwk: dict[str, Any] = keyring(keydir)["keys"][0]
    return jwk


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"not_after": "2027-11-24"}, "$.keys[0].not_after"),
        ({"not_after": "2027-11-24T10:00:00"}, "$.keys[0].not_after"),
        ({"not_before": None}, "$.keys[0].not_before"),
        ({"not_before": 12}, "$.keys[0].not_before"),
        ({"not_after": "2020-01-01T00:00:00Z"}, "$.keys[0].not_after"),
        ({"kid": ""}, "$.keys[0].kid"),
        ({"kid": None}, "$.keys[0].kid"),
        ({"kty": "EC"}, "$.keys[0].kty"),
        ({"crv": "X25519"}, "$.keys[0].crv"),
        ({"x": "AAAA"}, "$.keys[0].x"),
        ({"x": "!!!"}, "$.keys[0].x"),
        ({"x": None}, "$.keys[0].x"),
        ({"alg": "RS256"}, "$.keys[0].alg"),
        ({"use": "enc"}, "$.keys[0].use"),
        ({"owner": ""}, "$.keys[0].owner"),
        ({"d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}, "$.keys[0].d"),
    ],
)
def test_bad_keyring_content_is_a_key_file_error_naming_the_file_and_the_json_field(
    keydir: Path, tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    bad = tmp_path / "partner.json"
    bad.write_bytes(orjson.dumps({"keys": [{**_good_jwk(keydir), **change}]}))
    with pytest.raises(KeyFileError) as info:
        KeyDirectory.load(bad)
    assert str(bad) in info.value.message
    assert field in info.value.message


@pytest.mark.parametrize("doc", [[], {"keys": {}}, {"nokeys": []}, "text"])
def test_a_document_that_is_not_a_jwks_is_refused_naming_keys(tmp_path: Path, doc: Any) -> None:
    (tmp_path / KEYRING).write_bytes(orjson.dumps(doc))
    with pytest.raises(KeyFileError, match=r"keyring\.json: \$\.keys"):
        KeyDirectory.load(tmp_path)


def test_duplicate_key_ids_in_a_keyring_are_refused(keydir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "dup.json"
    bad.write_bytes(orjson.dumps({"keys": [_good_jwk(keydir), _good_jwk(keydir)]}))
    with pytest.raises(KeyFileError, match=r"\$\.keys\[1\]\.kid: duplicate key id 'FR-PDC-1'"):
        KeyDirectory.load(bad)


def test_resolve_returns_the_key_inside_its_window_including_the_not_before_instant(
    keydir: Path, now: datetime
) -> None:
    keys = KeyDirectory.load(keydir)
    assert keys.resolve("FR-PDC-1", now) == keys.entry("FR-PDC-1").public_key
    assert keys.resolve("FR-PDC-1", now + timedelta(days=364)) is not None


def test_resolve_of_an_unknown_key_id_raises_unknown_key(keydir: Path, now: datetime) -> None:
    with pytest.raises(UnknownKey, match="'nobody-1'") as info:
        KeyDirectory.load(keydir).resolve("nobody-1", now)
    assert info.value.code == "unknown_key"


def test_resolve_at_or_after_not_after_raises_key_expired_naming_kid_and_window(keydir: Path, now: datetime) -> None:
    keys = KeyDirectory.load(keydir)
    with pytest.raises(KeyExpired) as info:
        keys.resolve("FR-PDC-1", now + timedelta(days=365))  # not_after itself is outside the window
    assert info.value.code == "key_expired"
    assert "'FR-PDC-1'" in info.value.message
    assert "2026-11-24T10:00:00Z to 2027-11-24T10:00:00Z" in info.value.message


def test_resolve_before_not_before_raises_key_not_yet_valid_naming_kid_and_window(
    keydir: Path, now: datetime
) -> None:
    with pytest.raises(KeyNotYetValid) as info:
        KeyDirectory.load(keydir).resolve("FR-PDC-1", now - timedelta(seconds=1))
    assert info.value.code == "key_not_yet_valid"
    assert "'FR-PDC-1'" in info.value.message and "2026-11-24T10:00:00Z" in info.value.message


def test_the_three_key_refusals_are_distinct_verification_errors() -> None:
    classes = [UnknownKey, KeyNotYetValid, KeyExpired]
    assert len({c.code for c in classes}) == 3
    for c in classes:
        assert issubclass(c, VerificationError)
        assert [other for other in classes if issubclass(c, other)] == [c]


def test_a_naive_time_is_refused_rather_than_guessed(keydir: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        KeyDirectory.load(keydir).resolve("FR-PDC-1", datetime(2026, 12, 1))


def test_active_signing_key_is_the_valid_own_key_with_the_latest_not_before(keydir: Path, now: datetime) -> None:
    generate(keydir, "FR-PDC-2", now=now + timedelta(days=10))
    keys = KeyDirectory.load(keydir)
    keys.add_public("DE-1", generate_private_key().public_key(), now + timedelta(days=20), now + timedelta(days=99))
    keys.save()  # a partner's newer key, without a private file, never signs for us
    keys = KeyDirectory.load(keydir)
    assert keys.active_signing_key(now).kid == "FR-PDC-1"
    assert keys.active_signing_key(now + timedelta(days=30)).kid == "FR-PDC-2"
    assert keys.status("FR-PDC-2", now) is KeyStatus.NOT_YET_VALID
    assert keys.status("FR-PDC-1", now) is KeyStatus.ACTIVE
    assert keys.status("FR-PDC-1", now + timedelta(days=30)) is KeyStatus.VALID
    assert keys.status("FR-PDC-1", now + timedelta(days=400)) is KeyStatus.EXPIRED
    assert keys.has_private("FR-PDC-1") and not keys.has_private("DE-1")


def test_active_signing_key_without_any_usable_private_key_is_a_key_file_error(keydir: Path, now: datetime) -> None:
    keys = KeyDirectory.load(keydir)
    with pytest.raises(KeyFileError, match="no key valid at 2030-01-01T00:00:00Z"):
        keys.active_signing_key(now.replace(year=2030, month=1, day=1, hour=0))
    (keydir / "FR-PDC-1.key").unlink()
    with pytest.raises(KeyFileError, match="no key valid"):
        keys.active_signing_key(now)


def test_active_signing_key_refuses_a_world_readable_private_file(keydir: Path, now: datetime) -> None:
    (keydir / "FR-PDC-1.key").chmod(0o644)
    with pytest.raises(InsecureKeyFile, match=r"FR-PDC-1\.key"):
        KeyDirectory.load(keydir).active_signing_key(now)


def test_active_signing_key_refuses_a_private_file_that_does_not_match_the_published_key(
    keydir: Path, tmp_path: Path, now: datetime
) -> None:
    generate(tmp_path / "other", "FR-PDC-1", now=now)
    (keydir / "FR-PDC-1.key").unlink()
    (tmp_path / "other" / "FR-PDC-1.key").rename(keydir / "FR-PDC-1.key")
    with pytest.raises(KeyFileError, match="does not match the public key"):
        KeyDirectory.load(keydir).active_signing_key(now)


def test_jwks_has_public_members_only_and_leaves_expired_keys_out_unless_asked(keydir: Path, now: datetime) -> None:
    keys = KeyDirectory.load(keydir)
    keys.add_public("old", generate_private_key().public_key(), now - timedelta(days=9), now - timedelta(days=1))
    published = keys.to_jwks(at=now)
    assert [k["kid"] for k in published["keys"]] == ["FR-PDC-1"]
    assert [k["kid"] for k in keys.to_jwks(include_expired=True, at=now)["keys"]] == ["FR-PDC-1", "old"]
    for jwk in keys.to_jwks(include_expired=True, at=now)["keys"]:
        assert set(jwk) <= {"kty", "crv", "x", "kid", "use", "alg", "not_before", "not_after", "owner"}
        assert "d" not in jwk


def test_published_jwks_loads_back_as_an_equivalent_directory(keydir: Path, now: datetime) -> None:
    keys = KeyDirectory.load(keydir)
    again = KeyDirectory.from_jwks(orjson.loads(orjson.dumps(keys.to_jwks(at=now))), source="partner")
    assert again.entries() == keys.entries()
    with pytest.raises(KeyFileError, match="no file to save to"):
        again.save()


def test_save_then_load_keeps_partner_keys_and_add_public_refuses_a_duplicate(keydir: Path, now: datetime) -> None:
    keys = KeyDirectory.load(keydir)
    public = generate_private_key().public_key()
    keys.add_public("DE-ECO-1", public, now, now + timedelta(days=30), owner="DE-ECO")
    keys.save()
    loaded = KeyDirectory.load(keydir)
    assert loaded.entry("DE-ECO-1").owner == "DE-ECO"
    assert loaded.resolve("DE-ECO-1", now) == public
    with pytest.raises(BadInput, match="already exists"):
        loaded.add_public("DE-ECO-1", public, now, now + timedelta(days=1))
    assert not list(keydir.glob(".*tmp"))  # the atomic write left no temporary file


def test_rotate_makes_the_new_key_active_and_cuts_old_keys_to_now_plus_overlap(keydir: Path, now: datetime) -> None:
    later = now + timedelta(days=100)
    new = rotate(keydir, "FR-PDC-2", overlap_days=7, now=later)
    keys = KeyDirectory.load(keydir)
    assert new.kid == "FR-PDC-2"
    assert keys.active_signing_key(later).kid == "FR-PDC-2"
    assert keys.entry("FR-PDC-1").not_after == later + timedelta(days=7)
    assert keys.entry("FR-PDC-2").owner == "FR-PDC"  # the owner carries over
    assert stat.S_IMODE((keydir / "FR-PDC-2.key").stat().st_mode) == 0o600


def test_rotate_never_extends_an_old_key_and_leaves_partner_keys_alone(keydir: Path, now: datetime) -> None:
    keys = KeyDirectory.load(keydir)
    partner_end = now + timedelta(days=2)
    keys.add_public("DE-1", generate_private_key().public_key(), now, partner_end)
    keys.save()
    near_end = now + timedelta(days=362)  # FR-PDC-1 ends in 3 days, less than the 7-day overlap
    rotate(keydir, "FR-PDC-2", overlap_days=7, now=near_end)
    keys = KeyDirectory.load(keydir)
    assert keys.entry("FR-PDC-1").not_after == now + timedelta(days=365)
    assert keys.entry("DE-1").not_after == partner_end


def test_rotate_retires_a_pre_generated_future_key_so_it_cannot_take_over_later(keydir: Path, now: datetime) -> None:
    generate(keydir, "FR-PDC-future", now=now + timedelta(days=60))
    rotate(keydir, "FR-PDC-2", overlap_days=7, now=now + timedelta(days=1))
    keys = KeyDirectory.load(keydir)
    assert keys.active_signing_key(now + timedelta(days=90)).kid == "FR-PDC-2"


def test_rotate_refuses_a_negative_overlap_and_an_existing_key_id(keydir: Path, now: datetime) -> None:
    with pytest.raises(BadInput, match="overlap"):
        rotate(keydir, "FR-PDC-2", overlap_days=-1, now=now)
    with pytest.raises(BadInput, match="already exists"):
        rotate(keydir, "FR-PDC-1", now=now)
    assert KeyDirectory.load(keydir).entry("FR-PDC-1").not_after == now + timedelta(days=365)


def test_generate_into_a_path_that_is_a_file_is_a_key_file_error(tmp_path: Path) -> None:
    blocker = tmp_path / "keys"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(KeyFileError, match="not a directory"):
        generate(blocker, "k1")


def test_a_rotation_within_the_same_second_still_makes_the_new_key_active_whatever_its_name(
    tmp_path: Path, now: datetime
) -> None:
    folder = tmp_path / "keys"
    generate(folder, "Z-old", now=now)
    rotate(folder, "A-new", now=now)  # same not_before, and "A-new" sorts before "Z-old"
    assert KeyDirectory.load(folder).active_signing_key(now).kid == "A-new"
