"""``translate`` between every pair of registered formats, naming what the target drops."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline_gateway.adapters import registry
from hotline_gateway.cli.main import main
from hotline_gateway.core.fields import dropped_fields
from hotline_gateway.core.model import Category, Reporter, ReporterKind
from hotline_gateway.sim.samples import generate_cases

FORMATS = registry.names()


def sample_case() -> object:
    """A CSAM case (every format carries that category) with a named reporter and several items."""
    case = next(c for c in generate_cases(300, seed=51) if c.category is Category.CSAM and len(c.items) > 1)
    case.reporter = Reporter(ReporterKind.ORGANISATION, name="Helpline Example", email="desk@helpline.test")
    case.explanation = "Analyst assessment: baseline material, several copies on one image host."
    return case


@pytest.mark.parametrize("target", FORMATS)
@pytest.mark.parametrize("source", FORMATS)
def test_translate_between_every_pair_exits_0_and_names_what_was_dropped(
    source: str, target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = sample_case()
    infile = tmp_path / f"in.{source}"
    infile.write_bytes(registry.get(source).encode(case))  # type: ignore[arg-type]
    multi = isinstance(registry.get(target), registry.MultiDocument)  # X-ARF: one file per report
    out = tmp_path / "out"
    if multi:
        out.mkdir()
    code = main(["translate", "--from", source, "--to", target, str(infile), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    files = sorted(out.iterdir(), key=lambda p: int(p.name.split(".")[1])) if multi else [out]
    back = [c for f in files for c in registry.get(target).decode(f.read_bytes())]
    assert [i.url for c in back for i in c.items] == [i.url for i in case.items]  # type: ignore[attr-defined]
    decoded_source = registry.get(source).decode(infile.read_bytes())
    expected = dropped_fields(decoded_source, registry.get(target).carries)
    if expected:
        assert "dropped:" in err and all(field in err for field in expected)
    else:
        assert "dropped" not in err


def test_a_case_the_target_cannot_carry_exits_1_saying_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = next(c for c in generate_cases(300, seed=52) if c.category is Category.HATE)
    infile = tmp_path / "hate.json"
    infile.write_bytes(registry.get("native").encode(case))
    code = main(["translate", "--from", "native", "--to", "xarf", str(infile)])
    err = capsys.readouterr().err
    assert code == 1 and "cannot carry it" in err and "hate" in err


def test_several_cases_into_a_one_case_format_need_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = list(generate_cases(3, seed=53))
    infile = tmp_path / "three.jsonl"
    infile.write_bytes(b"".join(registry.get("native").encode(c) + b"\n" for c in cases))
    assert main(["translate", "--from", "native", "--to", "stix", str(infile)]) == 2
    assert "give -o an existing directory" in capsys.readouterr().err
    out = tmp_path / "out"
    out.mkdir()
    assert main(["translate", "--from", "native", "--to", "stix", str(infile), "-o", str(out)]) == 0
    assert sorted(p.stem for p in out.iterdir()) == sorted(str(c.case_id) for c in cases)


def test_a_case_of_several_items_into_xarf_is_one_file_per_report_never_json_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = sample_case()
    infile = tmp_path / "case.json"
    infile.write_bytes(registry.get("native").encode(case))  # type: ignore[arg-type]
    assert main(["translate", "--from", "native", "--to", "xarf", str(infile)]) == 2
    assert "give -o an existing directory" in capsys.readouterr().err
    out = tmp_path / "out"
    out.mkdir()
    assert main(["translate", "--from", "native", "--to", "xarf", str(infile), "-o", str(out)]) == 0
    files = sorted(out.iterdir())
    assert len(files) == len(case.items) > 1  # type: ignore[attr-defined]
    for f in files:
        data = f.read_bytes()
        assert data.count(b"\n") == 0 and data.startswith(b"{")  # one JSON document, not JSON Lines


@pytest.mark.slow
@pytest.mark.parametrize(("target", "suffix"), [("xarf", ".json"), ("iodef", ".xml"), ("stix", ".json")])
def test_judge_py_accepts_every_file_translate_writes_as_written(
    target: str, suffix: str, tmp_path: Path
) -> None:
    """Generated cases (several items each; for X-ARF the categories it carries) through the command, then
    ../shared/formats/judge.py on every file it wrote, unchanged, in one batch (judge.py takes about a second
    per STIX bundle, so fewer of those; the in-process judges in tests/adapters take 1,000)."""
    from hotline_gateway.sim.samples import generate_cases as generate
    from tests.adapters.judge import judge_files

    cases = [c for c in generate(120, seed=54) if target != "xarf" or c.category in (Category.CSAM, Category.CSEM)]
    cases = cases[:12] if target == "stix" else cases[:25]
    infile = tmp_path / "cases.jsonl"
    infile.write_bytes(b"".join(registry.get("native").encode(c) + b"\n" for c in cases))
    out = tmp_path / "out"
    out.mkdir()
    assert main(["translate", "--from", "native", "--to", target, str(infile), "-o", str(out)]) == 0
    files = sorted(out.iterdir())
    expected = sum(len(c.items) for c in cases) if target == "xarf" else len(cases)
    assert len(files) == expected and all(f.suffix == suffix for f in files)
    assert judge_files(target, files) == []
