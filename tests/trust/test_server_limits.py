"""What one client may cost the server (issue 9 items 2, 3 and 8): slow or endless requests are cut
off, connections are capped, refusing a hostile document never stalls anyone else, and everything the
gateway writes is for its owner's eyes only."""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import subprocess
import sys
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import tomli_w

from hotline_gateway import config as config_mod
from hotline_gateway.core.errors import InsecureFile
from hotline_gateway.core.model import dump_case
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import TOKEN, write_federation
from hotline_gateway.sim.samples import generate_cases
from tests.support.waiting import eventually


def with_server_limits(path: Path, **limits: Any) -> Path:
    doc = tomllib.loads(path.read_text())
    doc["server"] = limits
    path.write_text(tomli_w.dumps(doc))
    return path


@pytest.fixture
async def limited(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[RunningGateway]:
    limits = getattr(request, "param", {"header_timeout_s": 2.0, "body_timeout_s": 2.0})
    config = config_mod.load(with_server_limits(write_federation(tmp_path)["FR-PDC"], **limits))
    gw = await RunningGateway(config).start()
    yield gw
    await gw.stop()


async def half_open(port: int, count: int, payload: bytes) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    out = []
    for _ in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(payload)
        await writer.drain()
        out.append((reader, writer))
    return out


async def healthy(url: str) -> bool:
    async with aiohttp.ClientSession() as s, s.get(f"{url}/healthz") as r:
        return r.status == 200


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    try:
        data = await asyncio.wait_for(reader.read(65536), 10)
    except (ConnectionError, TimeoutError):
        return True
    return data == b"" or data.startswith(b"HTTP/1.1 408")


async def test_hundreds_of_half_sent_requests_do_not_stop_a_normal_client(limited: RunningGateway) -> None:
    """300 connections that sent half a request line and stopped: a normal client's requests still
    succeed meanwhile, and the server closes the stalled ones itself after the header timeout."""
    stalled = await half_open(limited.port, 300, b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Le")
    try:
        for _ in range(20):
            assert await healthy(limited.url)
        results = await asyncio.gather(*(closed_by_server(r) for r, _ in stalled))
        assert all(results), f"{results.count(False)} stalled connections were left open"
    finally:
        for _, w in stalled:
            w.close()


async def test_a_body_that_never_finishes_is_cut_off(limited: RunningGateway) -> None:
    """Headers complete, 10 bytes of a promised 100,000, then nothing: the server gives up on the body."""
    head = (b"POST /v1/cases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + TOKEN.encode() + b"\r\nContent-Length: 100000\r\n\r\n0123456789")
    [(reader, writer)] = await half_open(limited.port, 1, head)
    try:
        assert await closed_by_server(reader)
        assert await healthy(limited.url)
    finally:
        writer.close()


@pytest.mark.parametrize("limited", [{"max_connections": 20, "header_timeout_s": 2.0}], indirect=True)
async def test_connections_beyond_the_cap_are_closed_on_arrival_and_service_resumes(limited: RunningGateway) -> None:
    stalled = await half_open(limited.port, 20, b"GET /healthz HTTP/1.1\r\n")
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", limited.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        assert await closed_by_server(reader), "the 21st connection was served"
        writer.close()
        await eventually(lambda: _served(limited.url), timeout=15, what="service after the stalled ones timed out")
    finally:
        for _, w in stalled:
            w.close()


async def _served(url: str) -> bool:
    try:
        return await healthy(url)
    except aiohttp.ClientError:
        return False


async def test_refusing_a_huge_invalid_submission_never_stalls_health_checks(limited: RunningGateway) -> None:
    """6,000 cases, every one of them wrong in several places (about 14 MB): while the gateway works out
    its refusal, /healthz keeps answering — the work happens off the event loop — and the refusal lists
    a bounded number of problems."""
    docs = [dump_case(c) for c in generate_cases(2000, seed=3)] * 3
    bad = []
    for i, d in enumerate(docs):
        items = [{**it, "url": "no url"} for it in d["items"]]
        bad.append({**d, "case_id": f"not-a-uuid-{i}", "tlp": "purple", "items": items})
    body = orjson.dumps(bad)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    answered_meanwhile = 0
    async with aiohttp.ClientSession() as s:
        post = asyncio.create_task(s.post(f"{limited.url}/v1/cases", data=body, headers=headers))
        while not post.done():
            async with s.get(f"{limited.url}/healthz") as r:
                assert r.status == 200
                if not post.done():
                    answered_meanwhile += 1
        resp = await post
        problem = await resp.json()
        resp.release()
    assert resp.status == 422 and len(problem["errors"]) <= 50
    assert answered_meanwhile > 0


def test_init_and_serve_keep_the_store_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    """With umask 022, the data folder is 0700 and every file the gateway and SQLite write there 0600."""
    root = tmp_path / "gw"
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    cli = [sys.executable, "-m", "hotline_gateway.cli.main"]
    subprocess.run([*cli, "init", str(root), "--port", "0"], check=True, env=env, capture_output=True,
                   preexec_fn=lambda: os.umask(0o022))
    script = ("import asyncio, os; from hotline_gateway import config; from hotline_gateway.service import "
              "RunningGateway\nasync def main():\n    gw = await RunningGateway(config.load("
              f"{str(root / 'config.toml')!r})).start()\n    await gw.stop()\nasyncio.run(main())")
    subprocess.run([sys.executable, "-c", script], check=True, env=env, capture_output=True,
                   preexec_fn=lambda: os.umask(0o022))
    data = root / "data"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = list(data.iterdir())
    assert any(f.name.endswith(".sqlite3") for f in files)
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


async def test_serve_refuses_a_store_others_can_read(tmp_path: Path) -> None:
    config = config_mod.load(write_federation(tmp_path)["FR-PDC"])
    gw = await RunningGateway(config).start()
    await gw.stop()
    config.db_path.chmod(0o644)
    with pytest.raises(InsecureFile) as err:
        await RunningGateway(config).start()
    assert str(config.db_path) in err.value.message and "chmod 600" in err.value.message
