"""Bulk import: bad lines reported by number, the rest accepted; killed half-way and resumed, every case
is accepted exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import orjson

from gateway.api.state import SERVICES
from gateway.samples import generate_jsonl
from gateway.service import RunningGateway

CLI = [sys.executable, "-m", "gateway.cli.main"]


def backlog(path: Path, count: int, bad_every: int = 0) -> int:
    """Write ``count`` generated cases, with a broken line after every ``bad_every`` good ones."""
    good = 0
    with path.open("wb") as fh:
        for n, line in enumerate(generate_jsonl(count, seed=101), start=1):
            fh.write(line if line.endswith(b"\n") else line + b"\n")
            good += 1
            if bad_every and n % bad_every == 0:
                fh.write(b'{"case_id": "not-a-uuid"}\n' if n % (2 * bad_every) else b"{broken json\n")
    return good


async def run_import(config: Path, source: Path, *extra: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(*CLI, "import", "--config", str(config), str(source), "--no-progress",
                                                "--json", *extra, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)


async def test_bad_lines_go_to_the_rejects_file_with_their_numbers_and_the_rest_are_accepted(
    federation: dict[str, RunningGateway], fed_paths: dict[str, Path], tmp_path: Path
) -> None:
    source = tmp_path / "backlog.jsonl"
    good = backlog(source, 300, bad_every=50)
    proc = await run_import(fed_paths["FR-PDC"], source, "--batch", "40")
    out, err = await proc.communicate()
    assert proc.returncode == 0, err
    summary = orjson.loads(out)
    assert (summary["accepted"], summary["rejected"]) == (good, 6)
    rejects = [orjson.loads(line) for line in (tmp_path / "backlog.jsonl.rejects.jsonl").read_bytes().splitlines()]
    assert [r["line"] for r in rejects] == [51, 102, 153, 204, 255, 306]
    assert "not JSON" in rejects[1]["error"] and "case_id" in rejects[0]["error"]
    assert await federation["FR-PDC"].app[SERVICES].store.count("cases") == good


async def test_killed_half_way_and_run_again_every_case_is_accepted_exactly_once(
    federation: dict[str, RunningGateway], fed_paths: dict[str, Path], tmp_path: Path
) -> None:
    source = tmp_path / "big.jsonl"
    good = backlog(source, 2000)
    journal = tmp_path / "big.jsonl.import-state"
    proc = await run_import(fed_paths["FR-PDC"], source, "--batch", "50", "--concurrency", "2")
    for _ in range(600):
        if journal.exists() and orjson.loads(journal.read_bytes())["accepted"] >= good // 2:
            break
        await asyncio.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    await proc.wait()
    first = orjson.loads(journal.read_bytes())
    assert 0 < first["accepted"] < good
    proc = await run_import(fed_paths["FR-PDC"], source, "--batch", "50", "--concurrency", "2")
    out, err = await proc.communicate()
    assert proc.returncode == 0, err
    final = orjson.loads(journal.read_bytes())
    # Batches the gateway acknowledged in the instant of the kill, before the journal recorded them, are
    # sent again; the gateway answers "already present" for them and stores nothing twice.
    assert final["accepted"] + final["duplicates"] == good and final["rejected"] == 0, (first, final)
    assert final["duplicates"] <= 2 * 50
    store = federation["FR-PDC"].app[SERVICES].store
    assert await store.count("cases") == good
    assert orjson.loads(out)["accepted"] == final["accepted"]


async def test_an_unreachable_gateway_exits_1_with_one_line(fed_paths: dict[str, Path], tmp_path: Path) -> None:
    source = tmp_path / "few.jsonl"
    backlog(source, 3)
    proc = await run_import(fed_paths["FR-PDC"], source)  # the gateway is not running
    _, err = await proc.communicate()
    assert proc.returncode == 1 and len(err.decode().strip().splitlines()) == 1
