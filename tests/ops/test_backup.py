"""``backup`` copies a running gateway's store consistently, privately and restorably; the store's own files are
private from the moment they exist."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from pathlib import Path

import aiohttp
import orjson
import pytest

from hotline_gateway import config as config_mod
from hotline_gateway.cli.main import main
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import TOKEN, wait_settled
from tests.engine.federation import cases_hosted_in, submit


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_store_folder_is_0700_and_its_files_0600_whatever_the_umask(
    federation: dict[str, RunningGateway],
) -> None:
    """With the usual umask 022 a new SQLite file would be world-readable; the store's files are not."""
    fr = federation["FR-PDC"]
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, cases_hosted_in("DE", 2))
    db = fr.config.db_path
    assert mode(db.parent) == 0o700
    files = [p for p in db.parent.iterdir() if p.name.startswith(db.name)]
    assert {p.name for p in files} >= {db.name, f"{db.name}-wal"}
    assert all(mode(p) == 0o600 for p in files), {p.name: oct(mode(p)) for p in files}


async def test_a_backup_taken_while_the_gateway_runs_is_complete_private_and_restorable(
    federation: dict[str, RunningGateway], fed_paths: dict[str, Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The copy holds every case and delivery the live store holds (counted by SQL here), has mode 0600, passes
    the audit chain check, and a gateway started on it answers for a case that was in it."""
    fr = federation["FR-PDC"]
    cases = cases_hosted_in("DE", 12, seed=5)
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, cases)
        await wait_settled(fr, 30)
    out = tmp_path / "backup.sqlite3"
    assert main(["backup", "--config", str(fed_paths["FR-PDC"]), "--json", str(out)]) == 0
    result = orjson.loads(capsys.readouterr().out)
    assert mode(out) == 0o600 and not list(tmp_path.glob(".backup*"))
    with sqlite3.connect(fr.config.db_path) as live, sqlite3.connect(out) as copy:
        for table in ("cases", "deliveries", "audit"):
            (n,) = live.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
            assert copy.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == n > 0
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file, stands alone
    assert result["cases"] == 12 and result["audit_entries"] > 0
    assert main(["backup", "--config", str(fed_paths["FR-PDC"]), str(out)]) == 2  # never overwrites
    assert "already exists" in capsys.readouterr().err

    restored = tmp_path / "restored"
    text = fed_paths["FR-PDC"].read_text().replace(f"port = {fr.config.port}", "port = 0")
    (restored / "data").mkdir(parents=True)
    os.link(out, restored / "data" / "gateway.sqlite3")
    (restored / "config.toml").write_text(text.replace('[gateway]', f'[gateway]\nkeys_dir = "{fr.config.keys_dir}"'))
    gw = await RunningGateway(config_mod.load(restored / "config.toml")).start()
    try:
        assert await asyncio.to_thread(main, ["audit", "verify", "--config", str(restored / "config.toml")]) == 0
        async with aiohttp.ClientSession() as session, session.get(
            f"{gw.url}/v1/cases/{cases[3].case_id}", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as r:
            assert r.status == 200
    finally:
        await gw.stop()


def test_backup_of_a_gateway_that_never_ran_is_a_one_line_usage_error(
    fed_paths: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backup", "--config", str(fed_paths["FR-PDC"]), str(tmp_path / "b")]) == 2
    assert "no store yet" in capsys.readouterr().err
