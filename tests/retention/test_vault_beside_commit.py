"""The SQLite store puts an intake's reporter keys in the vault beside the writer rather than before it,
yet the sealed data is never committed before its key is durable: the writer's transaction waits for the
put, and a put that fails takes its intake out of the commit without stopping the writer."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import orjson
import pytest

from hotline_gateway.crypto.sealing import new_key, seal
from hotline_gateway.store.records import Intake, SealedReporter
from hotline_gateway.store.sqlite import SqliteStore
from tests.store.builders import case_doc, intake


def with_reporter(key: bytes | object) -> Intake:
    doc = case_doc()
    job = intake(doc)
    sealing_key = key if isinstance(key, bytes) else new_key()
    job.cases[0].reporter = SealedReporter(key=key, kind="person", tokens=(),  # type: ignore[arg-type]
                                           sealed=seal(sealing_key, orjson.dumps({"kind": "person"}), doc["case_id"]))
    return job


def committed(path: Path, case_id: str) -> bool:
    conn = sqlite3.connect(path)
    try:
        return bool(conn.execute("SELECT count(*) FROM reporter_data WHERE case_id = ?", (case_id,)).fetchone()[0] == 1)
    finally:
        conn.close()


async def test_sealed_data_is_not_committed_while_its_key_is_not_yet_durable(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "store.sqlite3")
    try:
        job = with_reporter(new_key())
        case_id = job.cases[0].case_id
        with store.vault._lock:  # the vault is busy committing: the key's put cannot finish yet
            pending = asyncio.ensure_future(store.commit_intakes([job]))
            await asyncio.sleep(0)
            deadline = time.monotonic() + 5
            while store.vault._open is None and time.monotonic() < deadline:  # the put has joined a group
                await asyncio.sleep(0.005)
            assert store.vault._open is not None
            await asyncio.to_thread(time.sleep, 0.2)  # give a wrong writer the chance to commit
            assert not pending.done()
            assert not committed(store.path, case_id)
        [result] = await asyncio.wait_for(pending, 10)
        assert result.fresh == [True]
        assert committed(store.path, case_id)
        assert set(store.vault.get([case_id])) == {case_id}
    finally:
        await store.close()


async def test_an_intake_whose_key_put_fails_commits_nothing_and_the_next_commits(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "store.sqlite3")
    try:
        bad, good = with_reporter(object()), with_reporter(new_key())  # object(): a value SQLite cannot store
        with pytest.raises(sqlite3.ProgrammingError):
            await store.commit_intakes([bad])
        await store.commit_intakes([good])
        assert not committed(store.path, bad.cases[0].case_id)
        assert await store.get_case(bad.cases[0].case_id) is None
        assert committed(store.path, good.cases[0].case_id)
    finally:
        await store.close()


async def test_many_concurrent_intakes_each_find_their_key(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "store.sqlite3")
    try:
        jobs = [with_reporter(new_key()) for _ in range(50)]
        await asyncio.gather(*(store.commit_intakes([j]) for j in jobs))
        ids = [j.cases[0].case_id for j in jobs]
        keys = store.vault.get(ids)
        assert {cid: keys[cid] for cid in ids} == {j.cases[0].case_id: j.cases[0].reporter.key  # type: ignore[union-attr]
                                                  for j in jobs}
        assert all(committed(store.path, cid) for cid in ids)
    finally:
        await store.close()
