"""The command line against a gateway whose store is PostgreSQL: commands that only look on (status,
audit verify) and ``retry``, which writes to the chain, while a node is serving."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from hotline_gateway import config as config_mod
from hotline_gateway.api.state import SERVICES
from hotline_gateway.cli.main import main
from hotline_gateway.service import RunningGateway
from tests.cluster.nodes import node_configs
from tests.engine.federation import cases_hosted_in, submit
from tests.support.waiting import eventually


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = await asyncio.to_thread(main, [*argv, "--json"])
    out, _ = capsys.readouterr()
    return code, orjson.loads(out) if out.strip() else None


async def test_retry_while_a_node_serves_leaves_intake_working_and_the_chain_whole(
    fed_paths: dict[str, Path], pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """DE is down, so FR's deliveries die at their one-second deadline; ``retry`` requeues them from
    another process's connection while the node serves, and intake and the chain carry on."""
    [path] = node_configs(fed_paths["FR-PDC"], pg_url, ("fr-1",), delivery={"deadline_s": 1.0})
    fr = await RunningGateway(config_mod.load(path)).start()
    store = fr.app[SERVICES].store
    try:
        async with aiohttp.ClientSession() as session:
            await submit(session, fr, cases_hosted_in("DE", 2))

            async def all_dead() -> bool:
                st = (await store.partner_status()).get("DE-HOTLINE")
                return st is not None and st.dead == 2

            await eventually(all_dead, what="both deliveries dead-lettered")
            code, out = await cli(capsys, "retry", "--config", str(path))
            assert (code, out) == (0, {"requeued": 2})
            for seed in range(3):
                result = await submit(session, fr, cases_hosted_in("DE", 2, seed=200 + seed))
                assert all(a["new"] for a in result["accepted"])
        code, status = await cli(capsys, "status", "--config", str(path))
        de = next(p for p in status["partners"] if p["partner"] == "DE-HOTLINE")
        assert code == 0 and de["queued"] + de["in_flight"] + de["dead"] == 8
        code, report = await cli(capsys, "audit", "verify", "--config", str(path))
        assert code == 0 and report["ok"], report
    finally:
        await fr.stop()
    code, report = await cli(capsys, "audit", "verify", "--config", str(path))
    assert code == 0 and report["ok"] and report["checkpoints"] == 1, report  # the leader's last word, signed


async def test_backup_of_a_postgresql_store_points_to_pg_dump(fed_paths: dict[str, Path], pg_url: str,
                                                              capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path) -> None:
    [path] = node_configs(fed_paths["FR-PDC"], pg_url, ("fr-1",))
    code = await asyncio.to_thread(main, ["backup", "--config", str(path), str(tmp_path / "out")])
    _, err = capsys.readouterr()
    assert code == 2 and "pg_dump" in err and not (tmp_path / "out").exists()
