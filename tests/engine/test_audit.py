"""The audit trail is a hash chain: `audit verify` names the first entry that was changed, removed or moved."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiohttp
import pytest

from hotline_gateway import config as config_mod
from hotline_gateway.cli.main import main
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import wait_settled
from tests.engine.federation import cases_hosted_in, submit


@pytest.fixture
async def audited(fed_paths: dict[str, Path]) -> Path:
    """FR after an exchange with DE, stopped, so the test can tamper with its file."""
    gateways = [RunningGateway(config_mod.load(fed_paths[g])) for g in ("FR-PDC", "DE-HOTLINE")]
    for gw in gateways:
        await gw.start()
    async with aiohttp.ClientSession() as session:
        await submit(session, gateways[0], cases_hosted_in("DE", 4))
    await wait_settled(gateways[0], 30)
    for gw in gateways:
        await gw.stop()
    return fed_paths["FR-PDC"]


def db(config: Path) -> sqlite3.Connection:
    return sqlite3.connect(config_mod.load(config).db_path, isolation_level=None)


def test_an_untouched_chain_verifies(audited: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify", "--config", str(audited)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: 12 entries")  # 4 accepted, 4 queued, 4 delivered


def test_a_changed_entry_is_named(audited: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with db(audited) as conn:
        conn.execute("UPDATE audit SET detail='rewritten' WHERE seq=5")
    assert main(["audit", "verify", "--config", str(audited), "--json"]) == 1
    out = capsys.readouterr().out
    assert '"first_bad_entry": 5' in out and "content changed" in out


def test_a_removed_entry_is_named(audited: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with db(audited) as conn:
        conn.execute("DELETE FROM audit WHERE seq=7")
    assert main(["audit", "verify", "--config", str(audited)]) == 1
    assert "audit entry 7: missing" in capsys.readouterr().out


def test_reordered_entries_are_named(audited: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with db(audited) as conn:
        rows = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT seq, at, kind, message_id, case_id, partner,"
                " payload_sha256, signatures, detail, prev_hash, hash, doc_sha256 FROM audit"
                " WHERE seq IN (3, 4)"
            )
        }
        conn.execute("DELETE FROM audit WHERE seq IN (3, 4)")
        for seq, other in ((3, 4), (4, 3)):
            conn.execute("INSERT INTO audit(seq, at, kind, message_id, case_id, partner, payload_sha256, signatures,"
                         " detail, prev_hash, hash, doc_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (seq, *rows[other]))
    assert main(["audit", "verify", "--config", str(audited)]) == 1
    assert "audit entry 3:" in capsys.readouterr().out
