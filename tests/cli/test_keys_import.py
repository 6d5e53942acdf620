"""``keys fingerprint`` and ``keys import``: a partner's JWKS is trusted only when every key in it is one whose
fingerprint was read to us out of band, and the fingerprint printed is the RFC 7638 thumbprint anyone can recompute."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from joserfc.jwk import OKPKey

from hotline_gateway.cli.main import main
from hotline_gateway.crypto.keydir import KeyDirectory


def ok(capsys: pytest.CaptureFixture[str], *argv: str) -> None:
    assert main(list(argv)) == 0, capsys.readouterr().err
    capsys.readouterr()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def partner_jwks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """DE-HOTLINE's key directory and the JWKS it exports to hand to us."""
    ok(capsys, "keys", "generate", "--dir", str(tmp_path / "de"), "--id", "DE-1", "--owner", "DE-HOTLINE")
    out = tmp_path / "de.jwks"
    assert run(capsys, "keys", "export", "--dir", str(tmp_path / "de"), "-o", str(out))[0] == 0
    return out


def fingerprints(capsys: pytest.CaptureFixture[str], source: Path) -> list[dict[str, str]]:
    code, out, _ = run(capsys, "keys", "fingerprint", "--json", str(source))
    assert code == 0
    keys: list[dict[str, str]] = json.loads(out)["keys"]
    return keys


def test_fingerprint_is_the_rfc7638_thumbprint_an_independent_jose_library_computes(
    partner_jwks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """joserfc, not our code, recomputes the thumbprint from the exported JWK; the spoken form is its hex."""
    (key,) = fingerprints(capsys, partner_jwks)
    jwk = json.loads(partner_jwks.read_text())["keys"][0]
    expected = OKPKey.import_key({k: jwk[k] for k in ("kty", "crv", "x")}).thumbprint()
    assert key["fingerprint"] == expected and key["kid"] == "DE-1" and key["owner"] == "DE-HOTLINE"
    assert len(key["spoken"].split()) == 16 and all(len(g) == 4 for g in key["spoken"].split())


@pytest.mark.parametrize("form", ["fingerprint", "spoken"])
def test_import_with_the_fingerprint_read_out_trusts_the_file(
    partner_jwks: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], form: str
) -> None:
    """Either form of the fingerprint is accepted; the partner's key folder then holds exactly that key."""
    (key,) = fingerprints(capsys, partner_jwks)
    target = tmp_path / "partners" / "DE-HOTLINE"
    code, out, _ = run(capsys, "keys", "import", str(partner_jwks), "--to", str(target), f"--fingerprint={key[form]}",
                       "--owner", "DE-HOTLINE")
    assert code == 0 and "new key DE-1" in out
    held = KeyDirectory.load(target)
    assert [e.kid for e in held.entries()] == ["DE-1"]


def test_a_swapped_file_is_refused_and_nothing_is_written(
    partner_jwks: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An attacker's JWKS (another key under the same kid) does not match the fingerprint read by phone: exit 1,
    one line naming the key and its real fingerprint, and no key file is created."""
    (key,) = fingerprints(capsys, partner_jwks)
    ok(capsys, "keys", "generate", "--dir", str(tmp_path / "evil"), "--id", "DE-1", "--owner", "DE-HOTLINE")
    evil = tmp_path / "evil.jwks"
    assert run(capsys, "keys", "export", "--dir", str(tmp_path / "evil"), "-o", str(evil))[0] == 0
    target = tmp_path / "partners" / "DE-HOTLINE"
    code, _, err = run(capsys, "keys", "import", str(evil), "--to", str(target), f"--fingerprint={key['fingerprint']}")
    assert code == 1 and "DE-1" in err and "out of band" in err and len(err.strip().splitlines()) == 1
    assert not target.exists()


def test_import_without_a_fingerprint_is_a_usage_error(
    partner_jwks: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Trusting a file unchecked is what the command exists to prevent: no --fingerprint, exit 2."""
    code, _, err = run(capsys, "keys", "import", str(partner_jwks), "--to", str(tmp_path / "p"))
    assert code == 2 and "--fingerprint" in err


def test_reimport_after_the_partner_rotates_reports_new_and_dropped_keys(
    partner_jwks: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After rotation with no overlap the partner publishes only its new key: we hold that one, and are told the
    old one is no longer held; a key id reused with another key is refused."""
    target = tmp_path / "partners" / "DE-HOTLINE.json"
    (old,) = fingerprints(capsys, partner_jwks)
    ok(capsys, "keys", "import", str(partner_jwks), "--to", str(target), f"--fingerprint={old['fingerprint']}")
    assert run(capsys, "keys", "rotate", "--dir", str(tmp_path / "de"), "--id", "DE-2", "--overlap-days", "0")[0] == 0
    rotated = tmp_path / "de2.jwks"
    assert run(capsys, "keys", "export", "--dir", str(tmp_path / "de"), "-o", str(rotated))[0] == 0
    new = [k for k in fingerprints(capsys, rotated) if k["kid"] == "DE-2"]
    code, out, _ = run(capsys, "keys", "import", "--json", str(rotated), "--to", str(target),
                       f"--fingerprint={new[0]['fingerprint']}")
    assert code == 0
    result = json.loads(out)
    assert result["added"] == ["DE-2"] and result["removed"] == ["DE-1"]
    assert [e.kid for e in KeyDirectory.load(target).entries()] == ["DE-2"]


def test_after_a_rotation_with_overlap_only_the_new_key_needs_its_fingerprint(
    partner_jwks: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The partner's new file holds its old key (still in its overlap, already trusted and unchanged) and the new
    one: the new key's fingerprint is enough; the old key's being swapped in the same file would not be."""
    target = tmp_path / "partners" / "DE-HOTLINE"
    (old,) = fingerprints(capsys, partner_jwks)
    ok(capsys, "keys", "import", str(partner_jwks), "--to", str(target), f"--fingerprint={old['fingerprint']}")
    ok(capsys, "keys", "rotate", "--dir", str(tmp_path / "de"), "--id", "DE-2")
    rotated = tmp_path / "de2.jwks"
    ok(capsys, "keys", "export", "--dir", str(tmp_path / "de"), "-o", str(rotated))
    new = next(k for k in fingerprints(capsys, rotated) if k["kid"] == "DE-2")
    code, out, _ = run(capsys, "keys", "import", "--json", str(rotated), "--to", str(target),
                       f"--fingerprint={new['spoken']}")
    assert code == 0 and json.loads(out)["unchanged"] == ["DE-1"] and json.loads(out)["added"] == ["DE-2"]
