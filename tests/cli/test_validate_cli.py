"""``validate`` on bad input: one line naming the file and the field, exit 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from hotline_gateway.cli.main import main
from hotline_gateway.core.model import dump_case
from hotline_gateway.sim.samples import generate_cases

CLI = Path(sys.executable).parent / "hotline-gateway"


@pytest.fixture
def good(tmp_path: Path) -> dict[str, Any]:
    return dump_case(next(iter(generate_cases(1, seed=11))))


def write(tmp_path: Path, doc: Any, name: str = "case.json") -> Path:
    path = tmp_path / name
    path.write_bytes(doc if isinstance(doc, bytes) else orjson.dumps(doc))
    return path


def validate(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, str]:
    code = main(["validate", "--format", "native", str(path)])
    _, err = capsys.readouterr()
    return code, err


def test_valid_case_exits_0(tmp_path: Path, good: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--format", "native", str(write(tmp_path, good))]) == 0
    assert "valid native, 1 case(s)" in capsys.readouterr().out


def _retype(d: dict[str, Any]) -> None:
    d["items"][0]["is_source_url"] = "yes"


def _bad_enum(d: dict[str, Any]) -> None:
    d["category"] = "spam"


def _missing(d: dict[str, Any]) -> None:
    del d["items"][0]["legal_class"]


@pytest.mark.parametrize(
    "spoil,path",
    [(_retype, "$.items[0].is_source_url"), (_bad_enum, "$.category"), (_missing, "$.items[0]")],
    ids=["wrong-typed-field", "unknown-enum-value", "missing-required-field"],
)
def test_bad_field_exits_2_with_one_line_naming_file_and_path(
    tmp_path: Path, good: dict[str, Any], capsys: pytest.CaptureFixture[str],
    spoil: Callable[[dict[str, Any]], None], path: str,
) -> None:
    spoil(good)
    file = write(tmp_path, good)
    code, err = validate(capsys, file)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert str(file) in err and path in err


def test_missing_required_field_is_named_by_its_name(
    tmp_path: Path, good: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    _missing(good)
    code, err = validate(capsys, write(tmp_path, good))
    assert code == 2 and "legal_class" in err and "required" in err


def test_an_item_with_neither_address_nor_hash_is_refused_naming_both(
    tmp_path: Path, good: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """An item may be known by its hashes alone (a file seen offline), but never by nothing."""
    del good["items"][0]["url"]
    good["items"][0].pop("hashes", None)
    code, err = validate(capsys, write(tmp_path, good))
    assert code == 2 and "$.items[0]" in err and "url" in err and "hashes" in err
    assert len(err.strip().splitlines()) == 1


def test_non_json_exits_2_naming_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = write(tmp_path, b'{"case_id": oops}\n')
    code, err = validate(capsys, file)
    assert code == 2 and str(file) in err and "line 1" in err and "not JSON" in err


def test_bad_line_in_json_lines_is_named_by_its_number(
    tmp_path: Path, good: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    second = dict(good, tlp="beige")
    file = write(tmp_path, orjson.dumps(good) + b"\n" + orjson.dumps(second) + b"\n", "cases.jsonl")
    code, err = validate(capsys, file)
    assert code == 2 and "line 2" in err and "$.tlp" in err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = validate(capsys, tmp_path / "absent.json")
    assert code == 2 and "absent.json" in err


def test_installed_command_reads_stdin_and_never_prints_a_traceback(good: dict[str, Any]) -> None:
    ok = subprocess.run([str(CLI), "validate", "--format", "native", "-"], input=orjson.dumps(good),
                        capture_output=True, timeout=60, check=False)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([str(CLI), "validate", "--format", "native", "-"], input=b"\x00\xffnot a case",
                         capture_output=True, timeout=60, check=False)
    assert bad.returncode == 2
    assert b"Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
