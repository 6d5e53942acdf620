"""Bulk import of 200,000 generated cases: interrupted half-way (SIGKILL) and resumed.

Runs ``hotline-gateway serve`` and ``hotline-gateway import`` as separate processes, kills the import
once the journal shows half the cases acknowledged, runs it again, and checks in the gateway's SQLite
file that every case is stored once and was accepted as new exactly once (the audit chain's
``case.accepted`` entries). Prints each half's rate and the import process's peak RSS (``ru_maxrss``
from ``wait4``, exact per process, the killed one included), and baselines measured in the same run on
the same file: a plain sequential read + JSON parse, and read + parse + schema validation (what the
importer does locally before sending). Last line:
``import cases=<n> rate_per_s=<n> peak_rss_mb=<first>/<second> baseline_ratio=<n> exactly_once=<bool>``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import orjson

from hotline_gateway import config as config_mod
from hotline_gateway.core.schema import case_validator
from hotline_gateway.sim.samples import generate_jsonl

CLI = [sys.executable, "-m", "hotline_gateway.cli.main"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def baseline(path: Path, validate: bool) -> float:
    """Cases per second of one process reading and parsing (and validating) the file, sending nothing."""
    validator = case_validator()
    started, n = time.perf_counter(), 0
    with path.open("rb") as fh:
        for line in fh:
            doc = orjson.loads(line)
            if validate:
                validator.problems(doc)
            n += 1
    return n / (time.perf_counter() - started)


def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"gateway at {url} not ready after {timeout} s")


def journal_of(source: Path) -> dict[str, int]:
    path = source.with_name(source.name + ".import-state")
    try:
        return dict(orjson.loads(path.read_bytes()))
    except (FileNotFoundError, orjson.JSONDecodeError):
        return {"accepted": 0, "duplicates": 0}


def run_import(config: Path, source: Path, kill_at: int | None) -> tuple[float, float, int]:
    """(seconds, peak RSS MB, accepted so far) of one import process, SIGKILLed once ``kill_at`` is acknowledged."""
    started = time.perf_counter()
    with (source.parent / "import.stderr").open("ab") as err:
        proc = subprocess.Popen([*CLI, "import", "--config", str(config), str(source), "--batch", "1000",
                                 "--concurrency", "4", "--no-progress"], stdout=subprocess.DEVNULL, stderr=err)
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if kill_at is not None and journal_of(source)["accepted"] >= kill_at:
            os.kill(proc.pid, signal.SIGKILL)
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
    if kill_at is None and proc.returncode != 0:
        raise SystemExit(f"import exited {proc.returncode}; see {source.parent / 'import.stderr'}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024, journal_of(source)["accepted"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        root = Path(tmp)
        port = free_port()
        subprocess.run([*CLI, "init", str(root / "gw"), "--id", "FR-PDC", "--country", "FR", "--port", str(port)],
                       check=True, capture_output=True)
        cfg_path = root / "gw" / "config.toml"
        config = config_mod.load(cfg_path)
        source = root / "backlog.jsonl"
        with source.open("wb") as fh:
            for line in generate_jsonl(args.cases, seed=2026):
                fh.write(line if line.endswith(b"\n") else line + b"\n")
        size_mb = source.stat().st_size / 2**20
        parse_rate, validate_rate = baseline(source, validate=False), baseline(source, validate=True)
        print(f"file cases={args.cases} size_mb={size_mb:.0f}")
        print(f"baseline read+parse cases_per_s={parse_rate:.0f}; read+parse+validate cases_per_s={validate_rate:.0f}")
        server = subprocess.Popen([*CLI, "serve", "--config", str(cfg_path)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            wait_ready(config.public_url)
            t1, rss1, got1 = run_import(cfg_path, source, kill_at=args.cases // 2)
            print(f"first half: SIGKILL at accepted={got1} after {t1:.1f} s ({got1 / t1:.0f} cases/s), "
                  f"peak_rss_mb={rss1:.1f}")
            t2, rss2, got2 = run_import(cfg_path, source, kill_at=None)
            rest = journal_of(source)
            sent2 = got2 - got1 + rest["duplicates"]
            print(f"second half: resumed to accepted={got2} in {t2:.1f} s ({sent2 / t2:.0f} cases/s), "
                  f"peak_rss_mb={rss2:.1f}")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(120)
        with sqlite3.connect(config.db_path) as db:
            stored, distinct = db.execute("SELECT COUNT(*), COUNT(DISTINCT case_id) FROM cases").fetchone()
            accepted_twice = db.execute("SELECT COUNT(*) FROM (SELECT case_id FROM audit WHERE kind = 'case.accepted' "
                                        "GROUP BY case_id HAVING COUNT(*) > 1)").fetchone()[0]
            audit_accepted = db.execute("SELECT COUNT(*) FROM audit WHERE kind = 'case.accepted'").fetchone()[0]
        rate = args.cases / (t1 + t2)
        exactly_once = stored == distinct == audit_accepted == args.cases and accepted_twice == 0
        print(f"stored={stored} distinct={distinct} audit_accepted={audit_accepted} accepted_twice={accepted_twice} "
              f"journal_accepted={rest['accepted']} resent_and_answered_already_present={rest['duplicates']}")
        print(f"import cases={args.cases} rate_per_s={rate:.0f} peak_rss_mb={rss1:.1f}/{rss2:.1f} "
              f"baseline_ratio={rate / parse_rate:.3f} (vs read+parse+validate {rate / validate_rate:.3f}) "
              f"exactly_once={exactly_once}")


if __name__ == "__main__":
    main()
