"""The benchmarks stay runnable: their arguments parse, and a very small run prints its figures.

Only that they work is checked here; their figures are read by people (README: Benchmarks), never
asserted, since a shared machine's speed says nothing about the code.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench import backlog, throughput
from bench.common import delivery_setting

ROOT = Path(__file__).resolve().parents[1]
NUMBER = r"[0-9.]+"


def run_bench(*argv: str, timeout: float = 240) -> list[str]:
    done = subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout.strip().splitlines()


def test_throughput_arguments_default_to_the_issue_figures_and_refuse_nonsense() -> None:
    args = throughput.parse([])
    assert (args.cases, args.rate, args.seconds, args.store, args.rounds, args.delivery) == \
        (10_000, 200, 10, "sqlite", 1, [])
    assert throughput.parse(["--delivery", "concurrency=8", "--store", "sqlite"]).delivery == [("concurrency", 8)]
    for bad in (["--cases", "0"], ["--rate", "-1"], ["--rounds", "0"], ["--delivery", "concurrency"]):
        with pytest.raises(SystemExit) as info:
            throughput.parse(bad)
        assert info.value.code == 2


def test_backlog_arguments_default_to_a_million_and_refuse_nonsense() -> None:
    assert backlog.parse([]).count == 1_000_000
    assert backlog.parse(["--count", "200", "--delivery", "circuit_reset_s=0.5"]).delivery == \
        [("circuit_reset_s", 0.5)]
    for bad in (["--count", "0"], ["--count", "x"], ["--delivery", "=1"]):
        with pytest.raises(SystemExit):
            backlog.parse(bad)


def test_delivery_settings_keep_whole_numbers_whole_where_the_config_wants_integers() -> None:
    assert delivery_setting("batch_size=50") == ("batch_size", 50)
    assert isinstance(delivery_setting("batch_size=50")[1], int)
    assert delivery_setting("circuit_reset_s=1") == ("circuit_reset_s", 1.0)


@pytest.mark.slow
def test_a_small_throughput_run_prints_floor_gateway_loop_lag_and_the_summary_line() -> None:
    lines = run_bench("bench.throughput", "--cases", "200", "--rate", "50", "--seconds", "1")
    assert re.fullmatch(rf"throughput cases_per_s={NUMBER} p50_ms={NUMBER} p99_ms={NUMBER} "
                        rf"baseline_ratio={NUMBER}", lines[-1])
    text = "\n".join(lines)
    for name in ("gateway FR-PDC under load", "gateway DE-HOTLINE under load", "gateway FR-PDC at 50/s",
                 "floor fr under load"):
        assert f"loop_lag_p99_ms {name}:" in text
    assert re.search(rf"round 1: floor cases_per_s={NUMBER} .* cpu_ms_per_case fr={NUMBER} de={NUMBER}", text)


@pytest.mark.slow
def test_a_small_backlog_run_queues_with_the_partner_down_then_drains_everything() -> None:
    lines = run_bench("bench.backlog", "--count", "200", "--delivery", "circuit_reset_s=0.5")
    assert re.fullmatch(rf"backlog queued=200 peak_rss_mb={NUMBER} drain_per_s=({NUMBER}|nan)", lines[-1])
    text = "\n".join(lines)
    assert "all 200 delivered" in text
    assert re.search(rf"peak_rss_mb FR-PDC={NUMBER} DE-HOTLINE={NUMBER}", text)
    assert re.search(rf"queued=200 fr_rss_mb={NUMBER}", text)


def test_the_jws_bench_prints_ours_against_joserfc() -> None:
    lines = run_bench("bench.jws", "--n", "20", "--rounds", "1", timeout=60)
    assert re.fullmatch(rf"jws sign_us={NUMBER} verify_us={NUMBER} joserfc_sign_us={NUMBER} "
                        rf"joserfc_verify_us={NUMBER} sign_ratio={NUMBER} verify_ratio={NUMBER}", lines[-1])


def test_throughput_runs_several_fr_nodes_only_on_postgresql() -> None:
    from bench import throughput

    assert throughput.parse(["--store", "postgresql://bench@127.0.0.1/bench", "--nodes", "2"]).nodes == 2
    assert throughput.parse([]).nodes == 1
    for argv in (["--nodes", "2"], ["--nodes", "0"]):
        with pytest.raises(SystemExit):
            throughput.parse(argv)
