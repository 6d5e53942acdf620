"""End-to-end throughput and latency: FR-PDC → DE-HOTLINE on loopback, each gateway its own process.

1. Throughput: 10,000 generated cases submitted to FR's local intake (batches of 100, 4 at a time);
   cases/s = cases / time until the last one is receipted by DE.
2. Latency: cases submitted one by one at 200 cases/s for 10 s; accept→receipt percentiles from FR's
   outbox (created_at → delivered_at).
3. Baseline, same run: a bare aiohttp endpoint that verifies an Ed25519 signature per case and
   inserts batches into SQLite (bench/baseline_server.py); ratio = gateway cases/s ÷ baseline cases/s.
Last line: ``throughput cases_per_s=<n> p50_ms=<n> p99_ms=<n> baseline_ratio=<n>``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hotline_gateway import config as config_mod
from hotline_gateway.core.model import LegalClass, dump_case
from hotline_gateway.sim.demo import TOKEN, write_federation
from hotline_gateway.sim.samples import generate_cases


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


def delivered(db: Path) -> tuple[int, list[float]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT created_at, delivered_at FROM deliveries WHERE state='delivered'").fetchall()
    return len(rows), [(d - c) * 1000 for c, d in rows]


async def post_cases(session: aiohttp.ClientSession, url: str, docs: list[dict[str, Any]]) -> None:
    async with session.post(f"{url}/v1/cases", data=orjson.dumps(docs),
                            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}) as r:
        if r.status != 202:
            raise RuntimeError(f"intake answered {r.status}: {(await r.read())[:200]!r}")


async def wait_delivered(db: Path, target: int, timeout: float) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if delivered(db)[0] >= target:
            return time.perf_counter()
        await asyncio.sleep(0.05)
    raise RuntimeError(f"only {delivered(db)[0]} of {target} delivered in {timeout}s")


async def gateway_run(base: Path, cases: int, rate: int, seconds: float) -> tuple[float, float, float]:
    paths = write_federation(base)
    fr_cfg = config_mod.load(paths["FR-PDC"])
    de_cfg = config_mod.load(paths["DE-HOTLINE"])
    fr_url, de_url = f"http://127.0.0.1:{fr_cfg.port}", f"http://127.0.0.1:{de_cfg.port}"
    procs = [spawn(paths["DE-HOTLINE"]), spawn(paths["FR-PDC"])]
    try:
        await until_ready(de_url)
        await until_ready(fr_url)
        docs = hosted_in_de(cases, seed=1)
        async with aiohttp.ClientSession() as session:
            started = time.perf_counter()
            sem = asyncio.Semaphore(4)

            async def one(chunk: list[dict[str, Any]]) -> None:
                async with sem:
                    await post_cases(session, fr_url, chunk)

            await asyncio.gather(*(one(docs[i:i + 100]) for i in range(0, len(docs), 100)))
            done = await wait_delivered(fr_cfg.db_path, cases, 600)
            throughput = cases / (done - started)
            # Paced phase: one case per request at `rate` per second.
            paced = hosted_in_de(int(rate * seconds), seed=2)
            before = time.time()
            t0 = time.perf_counter()
            for i, doc in enumerate(paced):
                await post_cases(session, fr_url, [doc])
                delay = t0 + (i + 1) / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            await wait_delivered(fr_cfg.db_path, cases + len(paced), 120)
        with contextlib.closing(sqlite3.connect(fr_cfg.db_path)) as conn:
            lat = [(d - c) * 1000 for c, d in conn.execute(
                "SELECT created_at, delivered_at FROM deliveries WHERE state='delivered' AND created_at >= ?",
                (before,))]
        q = statistics.quantiles(lat, n=100)
        return throughput, q[49], q[98]
    finally:
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        base = Path(tmp)
        baseline = await baseline_run(base, args.cases)
        print(f"baseline cases_per_s={baseline:.0f}", flush=True)
        throughput, p50, p99 = await gateway_run(base, args.cases, args.rate, args.seconds)
        print(f"gateway cases_per_s={throughput:.0f} (end to end, {args.cases} cases)", flush=True)
        print(f"latency at {args.rate} cases/s: p50_ms={p50:.1f} p99_ms={p99:.1f}", flush=True)
        print(f"throughput cases_per_s={throughput:.0f} p50_ms={p50:.1f} p99_ms={p99:.1f} "
              f"baseline_ratio={throughput / baseline:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
