"""``keys`` and ``sign``/``verify`` from the command line: outputs, files and the 0/1/2 exit codes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from hotline_gateway.cli.main import main

CLI = Path(sys.executable).parent / "hotline-gateway"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def as_json(text: str) -> Any:
    return orjson.loads(text)


@pytest.fixture
def keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A key directory made through the CLI, with one key FR-PDC-1 owned by FR-PDC."""
    folder = tmp_path / "keys"
    code, _, _ = run(capsys, "keys", "generate", "--dir", str(folder), "--id", "FR-PDC-1", "--owner", "FR-PDC")
    assert code == 0
    return folder


def shell(*argv: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(CLI), *argv], input=stdin, capture_output=True, timeout=60, check=False)


@pytest.mark.parametrize(
    "argv",
    [["keys"], ["keys", "generate"], ["keys", "list"], ["keys", "rotate"], ["keys", "export"], ["sign"], ["verify"]],
)
def test_every_key_and_signature_command_has_help(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    assert "usage: hotline-gateway" in capsys.readouterr().out


def test_keys_generate_writes_a_0600_private_key_and_reports_it_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "k"
    code, out, _ = run(capsys, "keys", "generate", "--dir", str(folder), "--id", "DE-1", "--valid-days", "30", "--json")
    assert code == 0
    info = as_json(out)
    assert info["kid"] == "DE-1" and info["owner"] is None and len(info["thumbprint"]) == 43
    assert stat.S_IMODE((folder / "DE-1.key").stat().st_mode) == 0o600
    assert (folder / "keyring.json").is_file()


def test_keys_generate_with_an_existing_id_exits_2_with_one_line(
    keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "keys", "generate", "--dir", str(keys), "--id", "FR-PDC-1")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "'FR-PDC-1' already exists" in err


def test_keys_list_shows_window_status_owner_and_private_key_presence(
    keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "keys", "list", "--dir", str(keys), "--json")
    assert code == 0
    (row,) = as_json(out)["keys"]
    assert row["kid"] == "FR-PDC-1" and row["owner"] == "FR-PDC"
    assert row["status"] == "active" and row["private_key"] is True
    assert row["not_before"].endswith("Z") and row["not_after"].endswith("Z")
    code, out, _ = run(capsys, "keys", "list", "--dir", str(keys), "--at", "2001-01-01T00:00:00Z")
    assert code == 0
    assert "not-yet-valid" in out and "FR-PDC" in out and "yes" in out


def test_keys_export_writes_a_jwks_without_private_members(
    keys: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "keys", "export", "--dir", str(keys))
    assert code == 0
    (jwk,) = as_json(out)["keys"]
    assert jwk["kid"] == "FR-PDC-1" and jwk["kty"] == "OKP" and "d" not in jwk
    target = tmp_path / "published.json"
    code, out, _ = run(capsys, "keys", "export", "--dir", str(keys), "-o", str(target))
    assert code == 0 and str(target) in out
    assert as_json(target.read_text(encoding="utf-8")) == as_json(run(capsys, "keys", "export", "--dir", str(keys))[1])


def test_keys_rotate_makes_the_new_key_active_and_shortens_the_old_one(
    keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "keys", "rotate", "--dir", str(keys), "--id", "FR-PDC-2", "--overlap-days", "3",
                       "--json")
    assert code == 0
    info = as_json(out)
    assert info["kid"] == "FR-PDC-2" and info["owner"] == "FR-PDC"
    assert [c["kid"] for c in info["shortened"]] == ["FR-PDC-1"]
    code, out, _ = run(capsys, "keys", "list", "--dir", str(keys), "--json")
    status = {r["kid"]: r["status"] for r in as_json(out)["keys"]}
    assert status == {"FR-PDC-1": "valid", "FR-PDC-2": "active"}


def test_keys_rotate_on_a_missing_directory_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "keys", "rotate", "--dir", str(tmp_path / "none"), "--id", "x")
    assert code == 2 and "none" in err


def test_sign_then_verify_exits_0_and_prints_the_kid(
    keys: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "case.json"
    doc.write_bytes(b'{"case_id": "1b4e28ba-2fa1-41d2-883f-0016d3cca427"}')
    sig = tmp_path / "case.json.jws"
    code, _, _ = run(capsys, "sign", "--key", str(keys / "FR-PDC-1.key"), str(doc), "-o", str(sig))
    assert code == 0
    assert sig.read_text(encoding="ascii").split(".")[1] == ""
    code, out, err = run(capsys, "verify", "--keys", str(keys), str(doc), str(sig))
    assert (code, out, err) == (0, "FR-PDC-1\n", "")


def test_sign_prints_the_detached_jws_and_json_mode_gives_one_document(
    keys: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "a.txt"
    doc.write_bytes(b"hello")
    code, out, _ = run(capsys, "sign", "--key", str(keys / "FR-PDC-1.key"), "--id", "other-id", str(doc))
    assert code == 0 and out.count(".") == 2 and out.endswith("\n")
    code, out, _ = run(capsys, "sign", "--key", str(keys / "FR-PDC-1.key"), str(doc), "--json")
    info = as_json(out)
    assert info["kid"] == "FR-PDC-1" and info["jws"].count(".") == 2


def test_verify_of_a_tampered_file_exits_1_naming_the_reason_code(
    keys: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc, sig = tmp_path / "a.txt", tmp_path / "a.jws"
    doc.write_bytes(b"original")
    assert run(capsys, "sign", "--key", str(keys / "FR-PDC-1.key"), str(doc), "-o", str(sig))[0] == 0
    doc.write_bytes(b"Original")
    code, out, err = run(capsys, "verify", "--keys", str(keys), str(doc), str(sig))
    assert code == 1 and out == ""
    assert "bad_signature" in err and err.count("\n") == 1
    code, out, _ = run(capsys, "verify", "--keys", str(keys), str(doc), str(sig), "--json")
    assert code == 1 and as_json(out) == {"valid": False, "code": "bad_signature", "message": as_json(out)["message"]}


def test_verify_after_the_key_window_exits_1_with_key_expired(
    keys: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc, sig = tmp_path / "a.txt", tmp_path / "a.jws"
    doc.write_bytes(b"data")
    run(capsys, "sign", "--key", str(keys / "FR-PDC-1.key"), str(doc), "-o", str(sig))
    code, _, err = run(capsys, "verify", "--keys", str(keys), "--at", "2099-01-01T00:00:00Z", str(doc), str(sig))
    assert code == 1 and "key_expired" in err


def test_verify_of_a_garbage_signature_file_exits_1_as_malformed(
    keys: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc, sig = tmp_path / "a.txt", tmp_path / "a.jws"
    doc.write_bytes(b"data")
    sig.write_bytes(b"\xff\xfe not a jws")
    code, _, err = run(capsys, "verify", "--keys", str(keys), str(doc), str(sig))
    assert code == 1 and "malformed_signature" in err


def test_verify_with_unreadable_inputs_exits_2(keys: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "a.txt"
    doc.write_bytes(b"data")
    assert run(capsys, "verify", "--keys", str(keys), str(tmp_path / "missing"), str(doc))[0] == 2
    assert run(capsys, "verify", "--keys", str(keys), str(doc), str(tmp_path / "missing.jws"))[0] == 2
    assert run(capsys, "verify", "--keys", str(tmp_path / "nokeys"), str(doc), str(doc))[0] == 2


def test_sign_with_a_world_readable_key_exits_2_naming_the_file(
    keys: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = keys / "FR-PDC-1.key"
    key.chmod(0o644)
    doc = tmp_path / "a.txt"
    doc.write_bytes(b"data")
    code, out, err = run(capsys, "sign", "--key", str(key), str(doc))
    assert code == 2 and out == ""
    assert str(key) in err and "0644" in err and err.count("\n") == 1


def test_the_installed_command_signs_from_stdin_and_verify_exit_codes_are_0_then_1(keys: Path, tmp_path: Path) -> None:
    signed = shell("sign", "--key", str(keys / "FR-PDC-1.key"), "-", stdin=b"payload bytes")
    assert signed.returncode == 0, signed.stderr
    sig = tmp_path / "p.jws"
    sig.write_bytes(signed.stdout)
    doc = tmp_path / "p.bin"
    doc.write_bytes(b"payload bytes")
    ok = shell("verify", "--keys", str(keys), str(doc), str(sig))
    assert (ok.returncode, ok.stdout) == (0, b"FR-PDC-1\n")
    doc.write_bytes(b"payload byteS")
    bad = shell("verify", "--keys", str(keys), str(doc), str(sig))
    assert bad.returncode == 1 and b"bad_signature" in bad.stderr


def test_the_installed_command_with_a_malformed_key_file_exits_2_with_one_line_and_no_traceback(
    tmp_path: Path,
) -> None:
    key = tmp_path / "broken.key"
    fd = os.open(key, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n")
    os.close(fd)
    doc = tmp_path / "a.txt"
    doc.write_bytes(b"data")
    result = shell("sign", "--key", str(key), str(doc))
    stderr = result.stderr.decode()
    assert result.returncode == 2
    assert result.stdout == b""
    assert stderr.count("\n") == 1 and str(key) in stderr
    assert "Traceback" not in stderr


def test_the_installed_command_keys_generate_list_export_rotate_exit_0(tmp_path: Path) -> None:
    folder = str(tmp_path / "keys")
    assert shell("keys", "generate", "--dir", folder, "--id", "A-1").returncode == 0
    assert shell("keys", "rotate", "--dir", folder, "--id", "A-2").returncode == 0
    listed = shell("keys", "list", "--dir", folder, "--json")
    assert listed.returncode == 0
    assert [r["status"] for r in orjson.loads(listed.stdout)["keys"]] == ["valid", "active"]
    exported = shell("keys", "export", "--dir", folder)
    assert exported.returncode == 0 and len(orjson.loads(exported.stdout)["keys"]) == 2
    assert shell("keys", "generate", "--dir", folder, "--id", "A-2").returncode == 2
