"""The ready configuration pair of two nodes (docs/ops/nodes/) loads, is one gateway, and runs: both
nodes on one PostgreSQL database, answering as FR-PDC, one of them leading."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import aiohttp
import tomli_w

from hotline_gateway import config as config_mod
from hotline_gateway.crypto.keydir import generate
from hotline_gateway.service import RunningGateway

DOCS = Path(__file__).resolve().parents[2] / "docs" / "ops" / "nodes"


def install(tmp_path: Path, store: str | None = None) -> list[Path]:
    """The two files as an operator installs them: beside keys, a partner's keys and the token files."""
    generate(tmp_path / "keys", "FR-PDC-2026", owner="FR-PDC")
    generate(tmp_path / "de-keys", "DE-HOTLINE-2026", owner="DE-HOTLINE")
    (tmp_path / "partners").mkdir()
    shutil.copy(tmp_path / "de-keys" / "keyring.json", tmp_path / "partners" / "DE-HOTLINE.json")
    (tmp_path / "intake.token").write_text("t" * 32 + "\n")
    (tmp_path / "intake.token").chmod(0o600)
    out = []
    for name in ("fr-1.toml", "fr-2.toml"):
        doc = tomllib.loads((DOCS / name).read_text(encoding="utf-8"))
        if store is not None:  # the documented server is not here: this test's database stands in for it
            doc["gateway"].update(store=store, vault=store, port=0, public_url="http://127.0.0.1:9")
        (tmp_path / name).write_text(tomli_w.dumps(doc), encoding="utf-8")
        out.append(tmp_path / name)
    return out


def test_the_documented_pair_is_one_gateway_in_two_nodes(tmp_path: Path) -> None:
    a, b = (config_mod.load(p) for p in install(tmp_path))
    assert (a.id, a.keys_dir, a.store_url, a.vault_url, a.public_url, a.partners) == (
        b.id, b.keys_dir, b.store_url, b.vault_url, b.public_url, b.partners)
    assert a.store_url is not None and a.store_url.startswith("postgresql://")
    assert a.vault_url is not None and a.vault_url != a.store_url  # the keys outside the store's backups
    assert "password" not in a.store_url + a.vault_url
    assert (a.node, b.node) == ("fr-1", "fr-2") and a.port != b.port and a.data_dir != b.data_dir


async def test_the_documented_pair_runs_on_one_database_with_one_leader(tmp_path: Path, pg_url: str) -> None:
    nodes = [RunningGateway(config_mod.load(p)) for p in install(tmp_path, pg_url)]
    for gw in nodes:
        await gw.start()
    try:
        answers = []
        async with aiohttp.ClientSession() as http:
            for gw in nodes:
                async with http.get(f"{gw.url}/readyz") as r:
                    assert r.status == 200
                    answers.append(await r.json())
        assert [a["node"] for a in answers] == ["fr-1", "fr-2"]
        assert sorted(a["leader"] for a in answers) == [False, True]
    finally:
        for gw in nodes:
            await gw.stop()
