"""Bulk import: bad lines reported by number, the rest accepted; killed half-way and resumed, every case
is accepted exactly once; bad arguments, a foreign journal and an unreachable gateway exit as documented."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import sqlite3
import stat
import struct
import sys
import termios
import threading
from pathlib import Path

import orjson
import pytest

from hotline_gateway.api.state import SERVICES
from hotline_gateway.bulk_import import Journal, batches
from hotline_gateway.cli.main import main
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.samples import generate_jsonl

CLI = [sys.executable, "-m", "hotline_gateway.cli.main"]


def backlog(path: Path, count: int, bad_every: int = 0, seed: int = 101) -> int:
    """Write ``count`` generated cases, with a broken line after every ``bad_every`` good ones."""
    good = 0
    with path.open("wb") as fh:
        for n, line in enumerate(generate_jsonl(count, seed=seed), start=1):
            fh.write(line if line.endswith(b"\n") else line + b"\n")
            good += 1
            if bad_every and n % bad_every == 0:
                fh.write(b'{"case_id": "not-a-uuid"}\n' if n % (2 * bad_every) else b"{broken json\n")
    return good


def conflicting_copy(line: bytes) -> bytes:
    """The same case id with other content: schema-valid, so only the gateway can refuse it (409)."""
    doc = orjson.loads(line)
    doc["priority"] = "low" if doc["priority"] != "low" else "urgent"
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS) + b"\n"


def accepted_per_case(db: Path) -> dict[str, int]:
    """How often the gateway recorded accepting each case as new (its audit chain), read from SQLite directly."""
    with sqlite3.connect(db) as c:
        return dict(c.execute("SELECT case_id, COUNT(*) FROM audit WHERE kind = 'case.accepted' GROUP BY case_id"))


async def run_import(config: Path, source: Path, *extra: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(*CLI, "import", "--config", str(config), str(source), "--no-progress",
                                                "--json", *extra, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)


async def test_bad_lines_go_to_the_rejects_file_with_their_numbers_and_the_rest_are_accepted(
    federation: dict[str, RunningGateway], fed_paths: dict[str, Path], tmp_path: Path
) -> None:
    """Lines that are not JSON or break the schema are rejected locally; a case the gateway refuses (409, same id
    with other content) is found by splitting its batch; all of them land in the rejects file with their line
    numbers, and every other case is accepted."""
    source = tmp_path / "backlog.jsonl"
    good = backlog(source, 300, bad_every=50)
    lines = source.read_bytes().splitlines(keepends=True)
    with source.open("ab") as fh:
        fh.write(conflicting_copy(lines[10]))  # line 307: lines[10] (line 11) is the first copy
    proc = await run_import(fed_paths["FR-PDC"], source, "--batch", "40")
    out, err = await proc.communicate()
    assert proc.returncode == 0, err
    summary = orjson.loads(out)
    assert (summary["accepted"], summary["rejected"], summary["lines"]) == (good, 7, 307)
    written = (tmp_path / "backlog.jsonl.rejects.jsonl").read_bytes().splitlines()
    rejects = sorted((orjson.loads(line) for line in written), key=lambda r: int(r["line"]))  # in order of batches
    assert [r["line"] for r in rejects] == [51, 102, 153, 204, 255, 306, 307]
    assert "case_id" in rejects[0]["error"] and "not JSON" in rejects[1]["error"]
    assert rejects[6]["error"].startswith("gateway: case_conflict")
    assert await federation["FR-PDC"].app[SERVICES].store.count("cases") == good


async def test_killed_half_way_and_run_again_every_case_is_accepted_exactly_once(
    federation: dict[str, RunningGateway], fed_paths: dict[str, Path], tmp_path: Path
) -> None:
    """SIGKILL after half the backlog was acknowledged, then the same command again: the rerun resumes at the
    journal's line, the gateway holds every case once and its audit chain records each as accepted exactly once;
    only the batches in flight at the kill are sent twice (answered "already present")."""
    source = tmp_path / "big.jsonl"
    good = backlog(source, 2000)
    journal = tmp_path / "big.jsonl.import-state"
    proc = await run_import(fed_paths["FR-PDC"], source, "--batch", "50", "--concurrency", "2")
    for _ in range(1500):
        if journal.exists() and orjson.loads(journal.read_bytes())["accepted"] >= good // 2:
            break
        await asyncio.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    await proc.wait()
    first = orjson.loads(journal.read_bytes())
    assert 0 < first["accepted"] < good
    proc = await run_import(fed_paths["FR-PDC"], source, "--batch", "50", "--concurrency", "2")
    out, err = await proc.communicate()
    assert proc.returncode == 0, err
    summary = orjson.loads(out)
    assert summary["resumed_from_line"] == first["line"] > 0
    final = orjson.loads(journal.read_bytes())
    assert final["accepted"] + final["duplicates"] == good and final["rejected"] == 0, (first, final)
    assert final["duplicates"] <= 2 * 50  # at most the two batches in flight when the import was killed
    assert await federation["FR-PDC"].app[SERVICES].store.count("cases") == good
    per_case = accepted_per_case(federation["FR-PDC"].config.db_path)
    assert len(per_case) == good and set(per_case.values()) == {1}


async def test_a_finished_import_run_again_sends_nothing(
    federation: dict[str, RunningGateway], fed_paths: dict[str, Path], tmp_path: Path
) -> None:
    """The journal of a completed import makes a rerun a no-op: no request, no duplicate."""
    source = tmp_path / "done.jsonl"
    good = backlog(source, 120)
    for _ in range(2):
        proc = await run_import(fed_paths["FR-PDC"], source, "--batch", "25")
        out, err = await proc.communicate()
        assert proc.returncode == 0, err
    summary = orjson.loads(out)
    assert (summary["accepted"], summary["already_present"]) == (good, 0)
    assert summary["resumed_from_line"] == good


def test_ranges_acknowledged_ahead_of_the_journal_offset_are_skipped_on_resume(tmp_path: Path) -> None:
    """Requests finish out of order: the journal keeps batches acknowledged beyond its contiguous offset, a resume
    reads past them, and once the gap is filled the offset absorbs them."""
    source = tmp_path / "gap.jsonl"
    backlog(source, 100)
    ends = [0]
    with source.open("rb") as fh:
        ends += [fh.tell() for _ in iter(fh.readline, b"")]  # ends[n]: byte offset just after line n
    journal = Journal(tmp_path / "gap.jsonl.import-state", offset=ends[20], line=20, ahead=[[ends[40], ends[60], 60]])
    sent = [n for b in batches(source, journal.offset, journal.line, 15, journal.ahead) for n, _ in b.lines]
    assert sent == [*range(21, 41), *range(61, 101)]
    journal.mark_done(ends[20], ends[40], 40)
    assert (journal.offset, journal.line, journal.ahead) == (ends[60], 60, [])
    journal.mark_done(ends[80], ends[100], 100)
    journal.mark_done(ends[60], ends[80], 80)
    assert (journal.offset, journal.line, journal.ahead) == (ends[100], 100, [])


def test_a_journal_written_for_another_file_is_refused_with_exit_2(
    fed_paths: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Resuming a journal against a rewritten file would skip cases it never sent: the import refuses instead."""
    source = tmp_path / "cases.jsonl"
    backlog(source, 20, seed=1)
    journal = tmp_path / "cases.jsonl.import-state"
    journal.write_bytes(orjson.dumps({"offset": 2000, "line": 3, "accepted": 3, "duplicates": 0, "rejected": 0,
                                      "fingerprint": "0" * 64}))
    assert main(["import", "--config", str(fed_paths["FR-PDC"]), str(source), "--no-progress"]) == 2
    assert "delete it" in capsys.readouterr().err


@pytest.mark.parametrize(("case", "expected"), [("batch of 0", "at least 1"), ("missing file", "no such file"),
                                               ("a directory", "is a directory")])
def test_bad_arguments_and_unreadable_files_exit_2(
    fed_paths: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, expected: str
) -> None:
    """Usage errors and files that cannot be read give one line on stderr and exit 2, before any request."""
    few = tmp_path / "few.jsonl"
    backlog(few, 2)
    target, extra = {"batch of 0": (few, ["--batch", "0"]), "missing file": (tmp_path / "missing.jsonl", []),
                     "a directory": (tmp_path, [])}[case]
    assert main(["import", "--config", str(fed_paths["FR-PDC"]), str(target), "--no-progress", *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0]


async def test_an_unreachable_gateway_exits_1_with_one_line(fed_paths: dict[str, Path], tmp_path: Path) -> None:
    """No gateway listening: one line on stderr naming the address, exit 1, and the journal still at the start."""
    source = tmp_path / "few.jsonl"
    backlog(source, 3)
    proc = await run_import(fed_paths["FR-PDC"], source, "--attempts", "2")  # the gateway is not running
    _, err = await proc.communicate()
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1 and "did not accept" in lines[0], lines
    assert not (tmp_path / "few.jsonl.import-state").exists()


async def test_on_a_terminal_the_progress_bar_shows_counts_rate_and_eta(
    federation: dict[str, RunningGateway], fed_paths: dict[str, Path], tmp_path: Path
) -> None:
    """With standard error on a terminal, the bar is drawn there: share done, cases accepted, cases/s and the ETA."""
    source = tmp_path / "tty.jsonl"
    backlog(source, 200)
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 160, 0, 0))  # a terminal 160 columns wide
    screen = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other side is closed and drained
                return
            if not chunk:
                return
            screen.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        proc = await asyncio.create_subprocess_exec(*CLI, "import", "--config", str(fed_paths["FR-PDC"]), str(source),
                                                    "--batch", "20", stdout=asyncio.subprocess.PIPE, stderr=slave)
        await proc.communicate()
    finally:
        os.close(slave)
        await asyncio.to_thread(reader.join, 10)
        os.close(master)
    assert proc.returncode == 0
    text = screen.decode(errors="replace")
    assert "100%" in text and "200 accepted" in text and "cases/s" in text and "<00:00" in text, text[-400:]


@pytest.mark.slow
async def test_journal_and_rejects_never_follow_a_planted_link_and_are_owner_only(
    federation: dict[str, RunningGateway], fed_paths: dict[str, Path], tmp_path: Path
) -> None:
    """In a shared folder someone plants links where the import writes: its journal's temporary file is
    replaced rather than written through, a link in place of the journal or of the rejects file is
    refused with exit 2 naming it — and the file they point at is never touched; what the import
    writes is 0600 (rejected lines carry reporters' contact data; issue 9 item 16)."""
    victim = tmp_path / "someone-elses-file"
    victim.write_bytes(b"precious\n")
    source = tmp_path / "backlog.jsonl"
    backlog(source, 60, bad_every=20)
    (tmp_path / ".backlog.jsonl.import-state.tmp").symlink_to(victim)
    proc = await run_import(fed_paths["FR-PDC"], source, "--batch", "20")
    _, err = await proc.communicate()
    assert proc.returncode == 0, err
    journal, rejects = tmp_path / "backlog.jsonl.import-state", tmp_path / "backlog.jsonl.rejects.jsonl"
    assert not journal.is_symlink() and stat.S_IMODE(journal.stat().st_mode) == 0o600
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600
    for planted in ("import-state", "rejects.jsonl"):
        other = tmp_path / f"other-{planted}.jsonl"
        backlog(other, 20, bad_every=10, seed=7)
        (tmp_path / f"{other.name}.{planted}").symlink_to(victim)
        proc = await run_import(fed_paths["FR-PDC"], other)
        _, err = await proc.communicate()
        assert proc.returncode == 2 and f"{other.name}.{planted}" in err.decode(), err
        assert b"Traceback" not in err
    assert victim.read_bytes() == b"precious\n"
