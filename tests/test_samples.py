"""Synthetic cases are valid, reproducible, cover every value list and never point at anything real."""

from __future__ import annotations

import argparse
import base64
import importlib
import ipaddress
import json
import re
import statistics
import subprocess
import sys
import types
import typing
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import msgspec
import orjson
import pytest

from hotline_gateway.cli import cmd_sample
from hotline_gateway.core.errors import BadInput
from hotline_gateway.core.model import (
    AgeGroup,
    Case,
    Category,
    HashAlgo,
    IndustryClass,
    LegalClass,
    ReporterKind,
    dump_case,
)
from hotline_gateway.core.schema import case_validator
from hotline_gateway.schemas import path as schema_path
from hotline_gateway.sim.samples import WINDOW, generate_cases, generate_jsonl

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
INVENTED = re.compile(r"^(?:(?:[a-z0-9-]+\.)*example\.(?:org|com)|(?:[a-z0-9-]+\.)+(?:test|invalid))$")
DOC_NETS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]
DOC_ASNS = set(range(64496, 64512)) | set(range(65536, 65552))


@pytest.fixture(scope="module")
def thousand() -> list[Case]:
    return list(generate_cases(1000, seed=20250601, now=NOW))


@pytest.fixture(scope="module")
def five_hundred() -> list[Case]:
    return list(generate_cases(500, seed=500, now=NOW))


# --- validity and reproducibility ---------------------------------------------------------------------


def test_a_thousand_generated_cases_are_all_schema_valid(thousand: list[Case]) -> None:
    validator = case_validator()
    invalid = {i: validator.problems(dump_case(c)) for i, c in enumerate(thousand)}
    assert {i: p for i, p in invalid.items() if p} == {}


def test_generated_cases_also_pass_the_format_checks_the_fast_validator_skips(thousand: list[Case]) -> None:
    """jsonschema-rs ignores ``format`` (email, ipv4, ipv6) by default; the Python validator checks it."""
    schema = json.loads(schema_path("case.schema.json").read_text(encoding="utf-8"))
    checker = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    for case in thousand[::5]:
        assert list(checker.iter_errors(dump_case(case))) == []


def test_same_seed_gives_identical_bytes_and_another_seed_different_ones() -> None:
    first = list(generate_jsonl(200, 7, now=NOW))
    assert list(generate_jsonl(200, 7, now=NOW)) == first
    other = list(generate_jsonl(200, 8, now=NOW))
    assert sum(a != b for a, b in zip(first, other, strict=True)) == 200


def test_jsonl_is_one_sorted_key_canonical_line_per_case() -> None:
    lines = list(generate_jsonl(50, 3, now=NOW))
    cases = list(generate_cases(50, seed=3, now=NOW))
    assert len(lines) == 50
    for line, case in zip(lines, cases, strict=True):
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        doc = orjson.loads(line)
        assert doc == dump_case(case)
        assert line == json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def test_default_reference_time_is_the_start_of_the_current_utc_day() -> None:
    """Without ``now``, a seed still gives the same output all day, and the data stay recent."""
    before = datetime.now(UTC).date()
    first, second = list(generate_jsonl(20, 11)), list(generate_jsonl(20, 11))
    if datetime.now(UTC).date() != before:
        pytest.skip("ran across midnight UTC")
    assert first == second
    midnight = datetime(before.year, before.month, before.day, tzinfo=UTC)
    assert first == list(generate_jsonl(20, 11, now=midnight))


def test_zero_cases_is_an_empty_stream_and_a_negative_count_is_refused() -> None:
    assert list(generate_cases(0, seed=1)) == []
    with pytest.raises(ValueError, match="count"):
        list(generate_cases(-1, seed=1))


# --- coverage of every value list ---------------------------------------------------------------------


def _enum_types(tp: Any, seen: set[type] | None = None) -> set[type[StrEnum]]:
    """Every StrEnum reachable from a model class's fields, so that new value lists are picked up."""
    seen = set() if seen is None else seen
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union, list):
        return set().union(*(_enum_types(a, seen) for a in typing.get_args(tp)))
    if isinstance(tp, type) and issubclass(tp, StrEnum):
        return {tp}
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct) and tp not in seen:
        seen.add(tp)
        return set().union(*(_enum_types(h, seen) for h in typing.get_type_hints(tp).values()))
    return set()


def _enum_values(obj: Any) -> Iterator[StrEnum]:
    if isinstance(obj, StrEnum):
        yield obj
    elif isinstance(obj, list):
        for x in obj:
            yield from _enum_values(x)
    elif isinstance(obj, msgspec.Struct):
        for name in obj.__struct_fields__:
            yield from _enum_values(getattr(obj, name))


CASE_ENUMS = sorted(_enum_types(Case), key=lambda c: c.__name__)


def test_the_case_reaches_all_the_expected_value_lists() -> None:
    names = {c.__name__ for c in CASE_ENUMS}
    assert {"Category", "LegalClass", "HashAlgo", "ReporterKind", "CustodyEvent", "Flag", "ActionType"} <= names


@pytest.mark.parametrize("enum_cls", CASE_ENUMS, ids=lambda c: c.__name__)
def test_every_value_of_every_value_list_occurs_in_500_cases(five_hundred: list[Case], enum_cls: type[StrEnum]) -> None:
    seen = {v for v in _enum_values(five_hundred) if isinstance(v, enum_cls)}
    assert set(enum_cls) - seen == set()


# --- only invented names and numbers -------------------------------------------------------------------


def _urls(case: Case) -> Iterator[str]:
    for item in case.items:
        if item.url:
            yield item.url
        if item.referrer:
            yield item.referrer


def test_every_url_referrer_and_email_uses_an_invented_host(thousand: list[Case]) -> None:
    hosts: set[str] = set()
    for case in thousand:
        for url in _urls(case):
            hostname = urlsplit(url).hostname
            assert hostname is not None, url
            hosts.add(hostname)
            # URLs embedded in a path (web archives) count too.
            hosts.update(re.findall(r"(?:https?|ftp)://([^/?#:]+)", url))
        if case.reporter.email:
            hosts.add(case.reporter.email.rsplit("@", 1)[1])
    assert sorted(h for h in hosts if not INVENTED.match(h)) == []
    assert len(hosts) > 100, "hosts should vary"


def test_hosting_uses_documentation_addresses_and_as_numbers(thousand: list[Case]) -> None:
    ips, asns = set(), set()
    for case in thousand:
        for item in case.items:
            if item.hosting and item.hosting.ip:
                ips.add(ipaddress.ip_address(item.hosting.ip))
            if item.hosting and item.hosting.asn is not None:
                asns.add(item.hosting.asn)
    assert [ip for ip in ips if not any(ip in net for net in DOC_NETS)] == []
    assert {ip.version for ip in ips} == {4, 6}
    assert asns <= DOC_ASNS and len(asns) > 20


def test_hosting_spreads_over_many_countries_with_the_big_markets_most_frequent(thousand: list[Case]) -> None:
    countries = Counter(i.hosting_country for c in thousand for i in c.items)
    untraced = countries.pop(None, 0)
    assert len(countries) >= 30
    assert untraced > 0, "some items should have no known hosting country"
    top = {code for code, _ in countries.most_common(8)}
    assert {"US", "NL", "DE", "FR", "RU"} <= top


def test_hash_values_have_the_length_of_their_algorithm(thousand: list[Case]) -> None:
    hex_lengths = {HashAlgo.MD5: 32, HashAlgo.SHA1: 40, HashAlgo.SHA256: 64, HashAlgo.PDQ: 64}
    for case in thousand:
        for item in case.items:
            for h in item.hashes:
                if h.algo is HashAlgo.PHOTODNA:
                    assert len(h.value) == 192 and len(base64.b64decode(h.value, validate=True)) == 144
                else:
                    assert re.fullmatch(f"[0-9a-f]{{{hex_lengths[h.algo]}}}", h.value), h


# --- realism ------------------------------------------------------------------------------------------


def test_cases_have_1_to_20_items_mostly_few(thousand: list[Case]) -> None:
    counts = [len(c.items) for c in thousand]
    assert min(counts) == 1 and max(counts) <= 20
    assert max(counts) >= 12, "the long tail should show"
    assert statistics.median(counts) <= 3


def test_timestamps_fall_within_90_days_before_now_in_order(thousand: list[Case]) -> None:
    earliest = NOW - WINDOW
    fractions = set()
    for case in thousand:
        assert earliest < case.received_at < NOW
        fractions.add(case.received_at.microsecond != 0)
        if case.incident_at is not None:
            assert earliest < case.incident_at < case.received_at
        later = [a.at for i in case.items for a in i.actions] + [e.at for e in case.custody]
        assert all(case.received_at <= t < NOW for t in later)
    assert fractions == {True, False}, "timestamps both with and without microseconds"


def test_assessments_agree_with_the_category(thousand: list[Case]) -> None:
    legal_by_category: dict[Category, Counter[LegalClass]] = defaultdict(Counter)
    for case in thousand:
        for item in case.items:
            legal_by_category[case.category][item.legal_class] += 1
            if case.category not in (Category.CSAM, Category.CSEM):
                assert item.industry_class is None and item.age_group is None, case.category
            if item.legal_class is LegalClass.BASELINE:
                assert case.category is Category.CSAM
                assert item.age_group in (None, AgeGroup.INFANT, AgeGroup.PRE_PUBESCENT)
            # NCMEC's letter is the apparent age: A prepubescent, B pubescent.
            if item.industry_class in (IndustryClass.A1, IndustryClass.A2):
                assert item.age_group in (AgeGroup.INFANT, AgeGroup.PRE_PUBESCENT)
            elif item.industry_class is not None:
                assert item.age_group is AgeGroup.PUBESCENT
    csam = legal_by_category[Category.CSAM]
    assert (csam[LegalClass.BASELINE] + csam[LegalClass.NATIONAL]) / csam.total() > 0.7


def test_reporters_range_from_anonymous_to_named_with_only_their_allowed_fields(thousand: list[Case]) -> None:
    kinds = Counter(c.reporter.kind for c in thousand)
    assert set(kinds) == set(ReporterKind)
    assert kinds[ReporterKind.ANONYMOUS] > 50
    for case in thousand:
        r = case.reporter
        if r.kind in (ReporterKind.ANONYMOUS, ReporterKind.WITHHELD):
            assert (r.ref, r.name, r.email, r.phone) == (None, None, None, None)


def test_repeat_media_recurs_with_its_earlier_assessment(thousand: list[Case]) -> None:
    """The network recognises repeat media by hash; samples must contain some to exercise that."""
    assessments: dict[tuple[str, ...], set[tuple[Any, ...]]] = defaultdict(set)
    sightings: Counter[tuple[str, ...]] = Counter()
    for case in thousand:
        for item in case.items:
            if item.hashes:
                key = tuple(h.value for h in item.hashes)
                assessments[key].add((item.legal_class, item.age_group, item.industry_class, item.gender))
                sightings[key] += 1
    repeated = [key for key, n in sightings.items() if n > 1]
    assert len(repeated) > 20
    assert all(len(assessments[key]) == 1 for key in repeated)


def test_editing_a_yielded_case_changes_nothing_else() -> None:
    """Items on one site and repeat media share values, never objects, so edits stay where they are made."""
    pristine = [dump_case(c) for c in generate_cases(300, seed=5, now=NOW)]
    edited = []
    for case in generate_cases(300, seed=5, now=NOW):
        edited.append(dump_case(case))
        hostings = [id(i.hosting) for i in case.items if i.hosting]
        assert len(set(hostings)) == len(hostings)
        for item in case.items:
            item.hashes.clear()
            item.legal_class = LegalClass.NOT_ILLEGAL
            if item.hosting:
                item.hosting.country = "ZZ"
    assert edited == pristine


def test_optional_parts_are_sometimes_present_and_sometimes_absent(thousand: list[Case]) -> None:
    items = [i for c in thousand for i in c.items]
    for present in (
        [bool(c.custody) for c in thousand],
        [bool(c.external_refs) for c in thousand],
        [c.incident_at is not None for c in thousand],
        [c.explanation is not None for c in thousand],
        [bool(i.payment_methods) for i in items],
        [bool(i.flags) for i in items],
        [bool(i.actions) for i in items],
        [i.referrer is not None for i in items],
        [i.hosting is not None for i in items],
    ):
        assert any(present) and not all(present)


def test_originator_is_used_for_the_case_and_its_custody() -> None:
    for case in generate_cases(50, seed=4, originator="BE-CHILDFOCUS", now=NOW):
        assert case.originator == "BE-CHILDFOCUS"
        assert {e.by for e in case.custody} <= {"BE-CHILDFOCUS"}


# --- the `sample` command -----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    """The command registered the way gateway.cli.main does it, without importing every other command."""
    parser = argparse.ArgumentParser(prog="hotline-gateway")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd_sample.register(sub, common)
    return parser


def _run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    result: int = args.run(args)
    return result


def _assert_valid_lines(data: bytes, count: int) -> None:
    lines = data.splitlines()
    assert len(lines) == count
    for line in lines:
        assert case_validator().problems(orjson.loads(line)) == []


def test_sample_command_prints_count_valid_json_lines(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert _run(["sample", "--count", "5", "--seed", "1"]) == 0
    _assert_valid_lines(capsysbinary.readouterr().out, 5)


def test_sample_command_output_equals_generate_jsonl(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert _run(["sample", "--count", "600", "--seed", "9", "--now", "2025-06-01T12:00:00Z"]) == 0
    assert capsysbinary.readouterr().out == b"".join(generate_jsonl(600, 9, now=NOW))


def test_sample_command_writes_to_a_file_with_o(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    target = tmp_path / "cases.jsonl"
    argv = ["sample", "-n", "3", "--seed", "2", "--now", "2025-06-01T12:00:00Z", "--originator", "DE-ECO"]
    assert _run([*argv, "-o", str(target)]) == 0
    assert capsysbinary.readouterr().out == b""
    assert target.read_bytes() == b"".join(generate_jsonl(3, 2, originator="DE-ECO", now=NOW))


def test_unwritable_output_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="cannot write"):
        _run(["sample", "--count", "1", "-o", str(tmp_path / "missing" / "cases.jsonl")])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--count", "0"], "must be at least 1"),
        (["--count", "-3"], "must be at least 1"),
        (["--count", "many"], "not a whole number"),
        ([], "required"),
        (["--count", "1", "--seed", "x"], "not a whole number"),
        (["--count", "1", "--now", "yesterday"], "RFC 3339"),
        (["--count", "1", "--originator", "FR PDC"], "party identifier"),
    ],
)
def test_bad_sample_arguments_are_a_usage_error_with_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as caught:
        _run(["sample", *argv])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and message in err


def test_sample_help_describes_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        _run(["sample", "--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert all(option in out for option in ("--count", "--seed", "--output", "--now"))


def _missing_gateway_module() -> str | None:
    """A gateway module that the full command line needs but that is not written yet, if any."""
    try:
        importlib.import_module("hotline_gateway.cli.main").build_parser()
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("hotline_gateway."):
            return exc.name
        raise
    return None


@pytest.mark.skipif(_missing_gateway_module() is not None, reason="the command line imports modules not written yet")
def test_installed_command_prints_five_valid_json_lines(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "hotline-gateway"
    # Run from elsewhere so that nothing is imported from the source tree by accident.
    done = subprocess.run(
        [str(exe), "sample", "--count", "5", "--seed", "1"], cwd=tmp_path, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    _assert_valid_lines(done.stdout, 5)
