"""End-to-end throughput and latency: FR-PDC → DE-HOTLINE on loopback, each gateway its own process.

1. Throughput: 10,000 generated cases submitted to FR's local intake (batches of 100, 4 at a time);
   cases/s = cases / time until the last one is receipted by DE.
2. Latency: cases submitted one by one at 200 cases/s for 10 s; accept→receipt percentiles from FR's
   outbox (created_at → delivered_at).
3. Baseline, same run: a bare aiohttp endpoint that verifies an Ed25519 signature per case and
   inserts batches into SQLite (bench/baseline_server.py); ratio = gateway cases/s ÷ baseline cases/s.
Last line: ``throughput cases_per_s=<n> p50_ms=<n> p99_ms=<n> baseline_ratio=<n>``.

``--store postgresql://user@host:port/db`` puts FR on PostgreSQL (a fresh database created on that
server for the run and dropped after, so the URL needs CREATE DATABASE rights), and ``--nodes 2`` runs
two FR ``serve`` processes on it, intake spread over both; DE stays on SQLite. Delivered rows are
counted through the store interface, whichever store it is.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import orjson
import psycopg
import tomli_w
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hotline_gateway import config as config_mod
from hotline_gateway.core.model import LegalClass, dump_case
from hotline_gateway.sim.demo import TOKEN, write_federation
from hotline_gateway.sim.samples import generate_cases
from hotline_gateway.store import open_store
from hotline_gateway.store.interface import Store


def hosted_in_de(count: int, seed: int) -> list[dict[str, Any]]:
    docs = []
    for case in generate_cases(count, seed=seed):
        for item in case.items:
            item.assigned_country = "DE"
            if item.legal_class not in (LegalClass.BASELINE, LegalClass.NATIONAL):
                item.legal_class = LegalClass.BASELINE
        docs.append(dump_case(case))
    return docs


def spawn(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "hotline_gateway.cli.main", "serve", "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def until_ready(url: str) -> None:
    async with aiohttp.ClientSession() as s:
        for _ in range(400):
            with contextlib.suppress(aiohttp.ClientError):
                async with s.get(f"{url}/readyz") as r:
                    if r.status == 200:
                        return
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} not ready")


def fresh_database(server: str) -> tuple[str, str]:
    """A new, empty database on the PostgreSQL server of ``server`` (a URL); returns (name, URL)."""
    name = f"hotline_bench_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, urlunsplit(urlsplit(server)._replace(path=f"/{name}"))


def drop_database(server: str, name: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fr_nodes(config: Path, store: str, nodes: int) -> list[Path]:
    """FR's config as ``nodes`` nodes on the PostgreSQL store: same id and keys, each its own name and port."""
    doc = tomllib.loads(config.read_text(encoding="utf-8"))
    out = []
    for n in range(1, nodes + 1):
        gateway = {**doc["gateway"], "store": store, "node": f"fr-{n}"}
        if n > 1:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                gateway["port"] = s.getsockname()[1]
        path = config.with_name(f"fr-{n}.toml")
        path.write_text(tomli_w.dumps({**doc, "gateway": gateway}), encoding="utf-8")
        out.append(path)
    return out


async def store_delivered(store: Store, since: float = 0.0) -> tuple[int, list[float]]:
    """Deliveries to DE recorded delivered (all of them), and the latencies of those created since ``since``."""
    status = (await store.partner_status()).get("DE-HOTLINE")
    if since == 0.0:
        return (status.delivered if status else 0), []
    rows = [d for d in await store.deliveries("DE-HOTLINE") if d.delivered_at is not None and d.created_at >= since]
    return (status.delivered if status else 0), [((d.delivered_at or 0) - d.created_at) * 1000 for d in rows]


async def post_cases(session: aiohttp.ClientSession, url: str, docs: list[dict[str, Any]]) -> None:
    async with session.post(f"{url}/v1/cases", data=orjson.dumps(docs),
                            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}) as r:
        if r.status != 202:
            raise RuntimeError(f"intake answered {r.status}: {(await r.read())[:200]!r}")


async def wait_delivered(store: Store, target: int, timeout: float) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if (await store_delivered(store))[0] >= target:
            return time.perf_counter()
        await asyncio.sleep(0.05)
    raise RuntimeError(f"only {(await store_delivered(store))[0]} of {target} delivered in {timeout}s")


async def gateway_run(base: Path, cases: int, rate: int, seconds: float, store_url: str = "sqlite",
                      nodes: int = 1) -> tuple[float, float, float]:
    paths = write_federation(base)
    fr_paths = [paths["FR-PDC"]] if store_url == "sqlite" else fr_nodes(paths["FR-PDC"], store_url, nodes)
    fr_cfgs = [config_mod.load(p) for p in fr_paths]
    de_cfg = config_mod.load(paths["DE-HOTLINE"])
    fr_urls, de_url = [f"http://127.0.0.1:{c.port}" for c in fr_cfgs], f"http://127.0.0.1:{de_cfg.port}"
    procs = [spawn(paths["DE-HOTLINE"]), *(spawn(p) for p in fr_paths)]
    store: Store | None = None
    try:
        await until_ready(de_url)
        for url in fr_urls:
            await until_ready(url)
        store = await open_store(fr_cfgs[0], recover=False)
        docs = hosted_in_de(cases, seed=1)
        async with aiohttp.ClientSession() as session:
            started = time.perf_counter()
            sem = asyncio.Semaphore(4)

            async def one(n: int, chunk: list[dict[str, Any]]) -> None:
                async with sem:
                    await post_cases(session, fr_urls[n % len(fr_urls)], chunk)

            await asyncio.gather(*(one(n, docs[i:i + 100]) for n, i in enumerate(range(0, len(docs), 100))))
            done = await wait_delivered(store, cases, 600)
            throughput = cases / (done - started)
            # Paced phase: one case per request at `rate` per second.
            paced = hosted_in_de(int(rate * seconds), seed=2)
            before = time.time()
            t0 = time.perf_counter()
            for i, doc in enumerate(paced):
                await post_cases(session, fr_urls[i % len(fr_urls)], [doc])
                delay = t0 + (i + 1) / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            await wait_delivered(store, cases + len(paced), 120)
        _, lat = await store_delivered(store, before)
        q = statistics.quantiles(lat, n=100)
        return throughput, q[49], q[98]
    finally:
        if store is not None:
            await store.close()
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)


async def baseline_run(base: Path, cases: int) -> float:
    key = Ed25519PrivateKey.generate()
    public_hex = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "bench.baseline_server", str(base / "baseline.sqlite3"), str(port),
                             public_hex], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        docs = hosted_in_de(cases, seed=1)
        bodies = []
        for i in range(0, len(docs), 100):
            entries = []
            for doc in docs[i:i + 100]:
                body = orjson.dumps(doc)
                entries.append({"id": doc["case_id"], "body": body.hex(), "sig": key.sign(body).hex()})
            bodies.append(orjson.dumps({"cases": entries}))
        url = f"http://127.0.0.1:{port}/ingest"
        async with aiohttp.ClientSession() as session:
            sem = asyncio.Semaphore(4)

            async def one(body: bytes) -> None:
                async with sem, session.post(url, data=body) as r:
                    assert r.status == 200

            started = time.perf_counter()
            await asyncio.gather(*(one(b) for b in bodies))
            return cases / (time.perf_counter() - started)
    finally:
        proc.terminate()
        proc.wait(30)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--store", default="sqlite",
                        help="FR's store: sqlite (default) or a PostgreSQL server URL (a fresh database is made on it)")
    parser.add_argument("--nodes", type=int, default=1, help="FR nodes, with a PostgreSQL store (default 1)")
    args = parser.parse_args()
    if args.nodes < 1 or (args.nodes > 1 and args.store == "sqlite"):
        parser.error("--nodes above 1 needs --store postgresql://...")
    database = fresh_database(args.store) if args.store != "sqlite" else None
    try:
        with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
            base = Path(tmp)
            baseline = await baseline_run(base, args.cases)
            print(f"baseline cases_per_s={baseline:.0f}", flush=True)
            throughput, p50, p99 = await gateway_run(base, args.cases, args.rate, args.seconds,
                                                     database[1] if database else "sqlite", args.nodes)
            where = f"{args.nodes} FR node(s) on PostgreSQL" if database else "FR on SQLite"
            print(f"gateway cases_per_s={throughput:.0f} (end to end, {args.cases} cases, {where})", flush=True)
            print(f"latency at {args.rate} cases/s: p50_ms={p50:.1f} p99_ms={p99:.1f}", flush=True)
            print(f"throughput cases_per_s={throughput:.0f} p50_ms={p50:.1f} p99_ms={p99:.1f} "
                  f"baseline_ratio={throughput / baseline:.2f}")
    finally:
        if database is not None:
            drop_database(args.store, database[0])


if __name__ == "__main__":
    asyncio.run(main())
