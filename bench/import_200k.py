"""Bulk import of 200,000 generated cases: interrupted half-way (SIGKILL) and resumed.

Prints the rate of each half, the import process's peak RSS in each half (VmHWM from /proc), and a
baseline measured in the same run: reading, parsing and validating the same file in one process
without sending it (ratio = import rate ÷ baseline rate). Checks every case is stored exactly once.
Last line: ``import cases=<n> rate_per_s=<n> peak_rss_mb=<first>/<second> baseline_ratio=<n> exactly_once=<bool>``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from gateway import config as config_mod
from gateway.pipeline.validate import case_validator
from gateway.samples import generate_jsonl

CLI = [sys.executable, "-m", "gateway.cli.main"]


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def baseline(path: Path) -> float:
    validator = case_validator()
    started, n = time.perf_counter(), 0
    with path.open("rb") as fh:
        for line in fh:
            validator.problems(orjson.loads(line))
            n += 1
    return n / (time.perf_counter() - started)


def run_import(config: Path, source: Path, kill_at: int | None) -> tuple[float, float, int]:
    """(seconds, peak RSS MB, accepted so far) of one import process, killed once ``kill_at`` is reached."""
    journal = source.with_name(source.name + ".import-state")
    started = time.perf_counter()
    with (source.parent / "progress.log").open("ab") as log:
        proc = subprocess.Popen([*CLI, "import", "--config", str(config), str(source), "--batch", "1000",
                                 "--concurrency", "4"], stdout=subprocess.DEVNULL, stderr=log)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, peak_rss_mb(proc.pid))
        if kill_at is not None and journal.exists():
            try:
                if orjson.loads(journal.read_bytes())["accepted"] >= kill_at:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait()
                    break
            except orjson.JSONDecodeError:
                pass
        time.sleep(0.05)
    accepted = orjson.loads(journal.read_bytes())["accepted"] if journal.exists() else 0
    return time.perf_counter() - started, peak, accepted


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        root = Path(tmp)
        subprocess.run([*CLI, "init", str(root / "gw"), "--id", "FR-PDC", "--country", "FR", "--port", "0"],
                       check=True, capture_output=True)
        cfg_path = root / "gw" / "config.toml"
        port = 18000 + os.getpid() % 1000
        cfg_path.write_text(cfg_path.read_text().replace("port = 0", f"port = {port}"))
        source = root / "backlog.jsonl"
        with source.open("wb") as fh:
            for line in generate_jsonl(args.cases, seed=2026):
                fh.write(line if line.endswith(b"\n") else line + b"\n")
        base_rate = baseline(source)
        print(f"baseline read+parse+validate cases_per_s={base_rate:.0f}")
        server = subprocess.Popen([*CLI, "serve", "--config", str(cfg_path)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            time.sleep(2.0)
            t1, rss1, got1 = run_import(cfg_path, source, kill_at=args.cases // 2)
            print(f"first half: killed at accepted={got1} after {t1:.1f} s, peak_rss_mb={rss1:.1f}")
            t2, rss2, got2 = run_import(cfg_path, source, kill_at=None)
            print(f"second half: resumed to accepted={got2} in {t2:.1f} s, peak_rss_mb={rss2:.1f}")
        finally:
            server.terminate()
            server.wait(60)
        config = config_mod.load(cfg_path)
        with sqlite3.connect(config.db_path) as db:
            stored = db.execute("SELECT COUNT(*), COUNT(DISTINCT case_id) FROM cases").fetchone()
        journal = orjson.loads((source.with_name(source.name + ".import-state")).read_bytes())
        rate = args.cases / (t1 + t2)
        exactly_once = stored[0] == stored[1] == args.cases
        print(f"stored={stored[0]} distinct={stored[1]} journal_accepted={journal['accepted']} "
              f"already_present_on_resume={journal['duplicates']}")
        print(f"import cases={args.cases} rate_per_s={rate:.0f} peak_rss_mb={rss1:.1f}/{rss2:.1f} "
              f"baseline_ratio={rate / base_rate:.2f} exactly_once={exactly_once}")


if __name__ == "__main__":
    main()
