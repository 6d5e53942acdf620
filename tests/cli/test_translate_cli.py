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
    outfile = tmp_path / f"out.{target}"
    code = main(["translate", "--from", source, "--to", target, str(infile), "-o", str(outfile)])
    err = capsys.readouterr().err
    assert code == 0, err
    [back] = registry.get(target).decode(outfile.read_bytes())
    assert [i.url for i in back.items] == [i.url for i in case.items]  # type: ignore[attr-defined]
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
