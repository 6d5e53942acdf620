"""``audit verify`` can no longer be fooled (issue 9 item 7): the chain covers every stored case
document and payload by digest, signed checkpoints pin it, and partners witness those checkpoints, so
a rewritten, recomputed or truncated chain is caught — locally without our key, and against what
partners witnessed even with it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
import tomllib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import tomli_w

from hotline_gateway import config as config_mod
from hotline_gateway.api.state import SERVICES
from hotline_gateway.cli.main import main
from hotline_gateway.crypto.keydir import KeyDirectory
from hotline_gateway.crypto.statements import read_statement, sign_statement
from hotline_gateway.pipeline.checkpoints import Checkpointer
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import wait_settled, write_federation
from hotline_gateway.store.audit import entry_hash
from tests.engine.federation import cases_hosted_in, submit
from tests.support.waiting import eventually


@dataclass
class Exchange:
    fr_config: Path
    de: RunningGateway


@pytest.fixture
async def exchanged(tmp_path: Path) -> AsyncIterator[Exchange]:
    """FR sends DE two rounds of cases, signing checkpoints every 0.05 s, then stops; DE keeps running
    and holds the checkpoints of FR that came with FR's messages."""
    paths = write_federation(tmp_path)
    doc = tomllib.loads(paths["FR-PDC"].read_text())
    doc["audit"] = {"checkpoint_interval_s": 0.05}
    paths["FR-PDC"].write_text(tomli_w.dumps(doc))
    de = await RunningGateway(config_mod.load(paths["DE-HOTLINE"])).start()
    fr = await RunningGateway(config_mod.load(paths["FR-PDC"])).start()
    try:
        async with aiohttp.ClientSession() as s:
            for round_ in range(3):
                await submit(s, fr, cases_hosted_in("DE", 4, seed=60 + round_))
                await wait_settled(fr, 30)
                checkpointer = fr.app[SERVICES].checkpointer
                head = (await fr.app[SERVICES].store.audit_head())[0]
                await eventually(functools.partial(_signed_up_to, checkpointer, head),
                                 what="a checkpoint of the new head")
    finally:
        await fr.stop()
    assert await de.app[SERVICES].store.witnessed("FR-PDC"), "DE witnessed no checkpoint of FR"
    yield Exchange(paths["FR-PDC"], de)
    await de.stop()


async def _signed_up_to(checkpointer: Checkpointer, seq: int) -> bool:
    return checkpointer.latest is not None and read_statement(checkpointer.latest)[1]["seq"] >= seq


@contextlib.contextmanager
def db(config: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(config_mod.load(config).db_path)
    try:
        with conn:
            yield conn
    finally:
        conn.close()


async def verify(capsys: pytest.CaptureFixture[str], config: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    """The CLI, run as an operator would (in its own thread and event loop, DE answering meanwhile)."""
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["audit", "verify", "--config", str(config), "--json", *extra])
    return code, orjson.loads(capsys.readouterr().out)


def recompute_from(conn: sqlite3.Connection, seq: int) -> None:
    """What someone without our key but with the database does: rehash every entry from ``seq`` on."""
    rows = conn.execute("SELECT * FROM audit WHERE seq >= ? ORDER BY seq", (seq,)).fetchall()
    cols = [c[0] for c in conn.execute("SELECT * FROM audit LIMIT 1").description]
    prev = conn.execute("SELECT hash FROM audit WHERE seq = ?", (seq - 1,)).fetchone()[0]
    for values in rows:
        row = dict(zip(cols, values, strict=True))
        row["prev_hash"] = prev
        row["hash"] = prev = entry_hash(prev, row)
        conn.execute("UPDATE audit SET prev_hash=?, hash=? WHERE seq=?", (row["prev_hash"], row["hash"], row["seq"]))


async def test_an_untouched_trail_verifies_with_its_checkpoints_and_witnesses(
    exchanged: Exchange, capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = await verify(capsys, exchanged.fr_config, "--witnesses")
    assert code == 0, report
    assert report["checkpoints"] >= 3 and report["witnessed"]["DE-HOTLINE"] >= 1 and not report["problems"]


async def test_a_rewritten_and_recomputed_entry_is_caught_by_the_signed_checkpoints(
    exchanged: Exchange, capsys: pytest.CaptureFixture[str],
) -> None:
    with db(exchanged.fr_config) as conn:
        conn.execute("UPDATE audit SET detail='nothing happened' WHERE seq=3")
        recompute_from(conn, 3)
    code, report = await verify(capsys, exchanged.fr_config)
    assert code == 1
    assert any("differs from the signed head" in p for p in report["problems"]), report


async def test_an_edited_case_document_is_caught(exchanged: Exchange, capsys: pytest.CaptureFixture[str]) -> None:
    with db(exchanged.fr_config) as conn:
        case_id, doc = conn.execute("SELECT case_id, doc FROM cases LIMIT 1").fetchone()
        edited = orjson.loads(doc)
        edited["tlp"] = "clear"
        conn.execute("UPDATE cases SET doc=? WHERE case_id=?", (orjson.dumps(edited, option=orjson.OPT_SORT_KEYS),
                                                                 case_id))
    code, report = await verify(capsys, exchanged.fr_config)
    assert code == 1 and any(case_id in p and "document differs" in p for p in report["problems"]), report


async def test_an_edited_payload_is_caught(exchanged: Exchange, capsys: pytest.CaptureFixture[str]) -> None:
    with db(exchanged.fr_config) as conn:
        message_id, payload = conn.execute("SELECT message_id, payload FROM payloads LIMIT 1").fetchone()
        conn.execute("UPDATE payloads SET payload=? WHERE message_id=?", (bytes(payload) + b" ", message_id))
    code, report = await verify(capsys, exchanged.fr_config)
    assert code == 1 and any(message_id in p for p in report["problems"]), report


async def test_a_deleted_tail_is_caught_by_a_checkpoint_that_names_it(
    exchanged: Exchange, capsys: pytest.CaptureFixture[str],
) -> None:
    with db(exchanged.fr_config) as conn:
        (last,) = conn.execute("SELECT MAX(seq) FROM audit").fetchone()
        conn.execute("DELETE FROM audit WHERE seq > ?", (last - 5,))
    code, report = await verify(capsys, exchanged.fr_config)
    assert code == 1 and any("is missing" in p for p in report["problems"]), report


async def test_a_deleted_tail_with_its_checkpoints_is_caught_by_what_the_partner_witnessed(
    exchanged: Exchange, capsys: pytest.CaptureFixture[str],
) -> None:
    """Deleting the tail and every checkpoint that named it leaves a chain that verifies locally;
    DE still holds a checkpoint of FR that names an entry that is gone."""
    with db(exchanged.fr_config) as conn:
        (first_cp,) = conn.execute("SELECT MIN(seq) FROM checkpoints").fetchone()
        conn.execute("DELETE FROM audit WHERE seq > ?", (first_cp,))
        conn.execute("DELETE FROM checkpoints WHERE seq > ?", (first_cp,))
        conn.execute("DELETE FROM deliveries")
        conn.execute("DELETE FROM payloads")
        conn.execute("DELETE FROM cases WHERE case_id NOT IN (SELECT case_id FROM audit WHERE case_id IS NOT NULL)")
    code, report = await verify(capsys, exchanged.fr_config)
    assert code == 0, report
    code, report = await verify(capsys, exchanged.fr_config, "--witnesses")
    assert code == 1 and any("witnessed by DE-HOTLINE" in p and "is missing" in p for p in report["problems"]), report


async def test_even_with_our_key_a_rewrite_cannot_hide_from_what_partners_witnessed(
    exchanged: Exchange, capsys: pytest.CaptureFixture[str],
) -> None:
    """An attacker holding our private key rewrites an early entry, recomputes the chain and re-signs
    every checkpoint: the local check passes, the partner's copies do not agree."""
    keys = KeyDirectory.load(config_mod.load(exchanged.fr_config).keys_dir)
    key = keys.active_signing_key()
    with db(exchanged.fr_config) as conn:
        conn.execute("UPDATE audit SET detail='rewritten' WHERE seq=2")
        recompute_from(conn, 2)
        for seq, at in conn.execute("SELECT seq, at FROM checkpoints").fetchall():
            (head,) = conn.execute("SELECT hash FROM audit WHERE seq=?", (seq,)).fetchone()
            jws = sign_statement({"kind": "audit.checkpoint", "gateway": "FR-PDC", "seq": seq, "head": head,
                                  "at": at}, key)
            conn.execute("UPDATE checkpoints SET head=?, jws=? WHERE seq=?", (head, jws, seq))
    code, report = await verify(capsys, exchanged.fr_config)
    assert code == 0, report
    code, report = await verify(capsys, exchanged.fr_config, "--witnesses")
    assert code == 1 and any("witnessed by DE-HOTLINE" in p and "rewritten" in p for p in report["problems"]), report


