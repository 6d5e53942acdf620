"""End-to-end throughput and latency, FR-PDC → DE-HOTLINE on loopback, against a two-hop floor in the same run.

Two systems, each as two processes on loopback, measured the same way one after the other:

- the **floor** (``bench/floor.py``): bare FR and DE processes doing only the irreducible work per case
  (intake with a bearer token, durable group-committed insert, Ed25519 signatures on payloads, requests,
  receipts and answers, verification of each, delivery recorded durably);
- the **gateway**: two ``hotline-gateway serve`` processes with default delivery settings.

Per system: a warm-up of 200 cases; then ``--cases`` cases submitted to FR's intake (100 a request,
4 requests in flight) and timed until the last is recorded delivered at FR (counted by SQL);
then one case a request at ``--rate`` per second for ``--seconds``, whose acceptance → receipt
latencies come from FR's store. For the gateways, event-loop lag p99 is read from each one's
``hotline_loop_lag_seconds`` histogram over each phase, and CPU per case from ``/proc``.

Last line: ``throughput cases_per_s=<n> p50_ms=<n> p99_ms=<n> baseline_ratio=<n>``, the ratio being
gateway cases/s ÷ floor cases/s (1.0 would mean no overhead over the floor).

``--store postgresql://user@host:port/db`` puts FR on PostgreSQL (a fresh database made on that server
for each run, dropped after; DE keeps its SQLite file), and ``--nodes 2`` runs FR as two ``serve``
processes on it, the intake spread over both.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from bench.common import (
    DE,
    FR,
    GATEWAY_LATENCY_SQL,
    CaseSource,
    DeliveredCounter,
    cpu_seconds,
    delivery_setting,
    drop_database,
    free_port,
    fresh_database,
    gateway_counter,
    lag_histogram,
    lag_p99_ms,
    paced,
    percentile,
    spawn_gateway,
    stop,
    submit_all,
    until_ready,
    wait_count,
    write_pair,
)

WARM_UP = 200


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))
FLOOR_LATENCY_SQL = "SELECT created_at, delivered_at FROM deliveries WHERE state = 'delivered' AND created_at >= ?"


@dataclass
class Result:
    name: str
    cases_per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    cpu_ms_per_case: dict[str, float] = field(default_factory=dict)
    lag_ms: dict[str, str] = field(default_factory=dict)

    def line(self) -> str:
        cpu = " ".join(f"{k}={v:.2f}" for k, v in self.cpu_ms_per_case.items())
        return (f"{self.name} cases_per_s={self.cases_per_s:.0f} p50_ms={self.p50_ms:.1f} p99_ms={self.p99_ms:.1f} "
                f"cpu_ms_per_case {cpu}")


Lag = Callable[[], Awaitable[dict[str, dict[float, float]]]]


async def measure(result: Result, counter: DeliveredCounter, intake: str | list[str], path: str, pids: dict[str, int],
                  args: argparse.Namespace, latency_sql: str, lag: Lag | None) -> Result:
    source = CaseSource()
    await submit_all(intake, source.bodies(WARM_UP, 100), path=path)
    await wait_count(counter, WARM_UP, 120)
    bodies = list(source.bodies(args.cases, 100))  # made before the clock starts
    paced_docs = source.take(int(args.rate * args.seconds))
    cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
    lag0 = await lag() if lag else {}
    started = time.perf_counter()
    await submit_all(intake, bodies, path=path)
    done = await wait_count(counter, WARM_UP + args.cases, args.timeout)
    result.cases_per_s = args.cases / (done - started)
    result.cpu_ms_per_case = {name: (cpu_seconds(pid) - cpu0[name]) * 1000 / args.cases for name, pid in pids.items()}
    lag1 = await lag() if lag else {}
    for name in lag1:
        p99, n = lag_p99_ms(lag0[name], lag1[name])
        result.lag_ms[f"{name} under load"] = f"{p99:g} ({n} samples)"
    began = await paced(intake, paced_docs, args.rate, path=path)
    await wait_count(counter, WARM_UP + args.cases + len(paced_docs), args.timeout)
    lag2 = await lag() if lag else {}
    for name in lag2:
        p99, n = lag_p99_ms(lag1[name], lag2[name])
        result.lag_ms[f"{name} at {args.rate:g}/s"] = f"{p99:g} ({n} samples)"
    latencies = counter.latencies_ms(began, latency_sql)
    result.p50_ms, result.p99_ms = percentile(latencies, 50), percentile(latencies, 99)
    return result


def floor_keys(base: Path) -> tuple[Path, Path]:
    fr_dir, de_dir = base / "floor-fr", base / "floor-de"
    fr_dir.mkdir()
    de_dir.mkdir()
    fr_key, de_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    for folder, own, peer in ((fr_dir, fr_key, de_key), (de_dir, de_key, fr_key)):
        (folder / "own.key").write_bytes(own.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))
        (folder / "own.key").chmod(0o600)
        (folder / "peer.pub").write_bytes(peer.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    return fr_dir, de_dir


def spawn_floor(role: str, folder: Path, port: int, log: Path, de_url: str | None = None) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "bench.floor", role, "--dir", str(folder), "--port", str(port)]
    if de_url:
        cmd += ["--de-url", de_url]
    with log.open("ab") as sink:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=sink)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != b"ready":
        raise RuntimeError(f"floor {role} did not start (see {log})")
    return proc


async def floor_run(base: Path, args: argparse.Namespace) -> Result:
    fr_dir, de_dir = floor_keys(base)
    de_port, fr_port = free_port(), free_port()
    log = base / "floor.log"
    de = spawn_floor("de", de_dir, de_port, log)
    fr = spawn_floor("fr", fr_dir, fr_port, log, de_url=f"http://127.0.0.1:{de_port}/ingest")
    counter = DeliveredCounter("sqlite", fr_dir / "fr.sqlite3", "SELECT count(*) FROM deliveries WHERE state = ?",
                               ("delivered",))

    async def lag() -> dict[str, dict[float, float]]:
        return {"fr": await lag_histogram(f"http://127.0.0.1:{fr_port}"),
                "de": await lag_histogram(f"http://127.0.0.1:{de_port}")}

    try:
        return await measure(Result("floor"), counter, f"http://127.0.0.1:{fr_port}", "/v1/cases",
                             {"fr": fr.pid, "de": de.pid}, args, FLOOR_LATENCY_SQL, lag)
    finally:
        counter.close()
        stop(fr, de)


async def gateway_run(base: Path, args: argparse.Namespace) -> Result:
    database = fresh_database(args.store) if args.store != "sqlite" else None
    store = database[1] if database else "sqlite"
    pair = write_pair(base / "gateways", store, dict(args.delivery), args.nodes)
    log = base / "gateways.log"
    de = spawn_gateway(pair.de_config, log)
    fr = spawn_gateway(pair.fr_config, log)
    others = [spawn_gateway(config, log) for config, _ in pair.fr_extra]
    counter = gateway_counter(pair, store)

    async def lag() -> dict[str, dict[float, float]]:
        return {FR: await lag_histogram(pair.fr_url), DE: await lag_histogram(pair.de_url)}

    try:
        await until_ready(pair.de_url, de)
        await until_ready(pair.fr_url, fr)
        for (_, url), proc in zip(pair.fr_extra, others, strict=True):
            await until_ready(url, proc)
        pids = {"fr": fr.pid, "de": de.pid} | {f"fr-{n}": p.pid for n, p in enumerate(others, start=2)}
        return await measure(Result("gateway"), counter, pair.fr_urls, "/v1/cases", pids, args, GATEWAY_LATENCY_SQL,
                             lag)
    finally:
        counter.close()
        stop(*others, fr, de)
        if database is not None:
            drop_database(args.store, database[0])
        with contextlib.suppress(OSError):
            errors = log.read_text(errors="replace").strip()
            if errors:
                print(f"gateway log (warnings and errors), last lines:\n{errors[-2000:]}", file=sys.stderr)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000, help="cases in the throughput phase (default 10,000)")
    parser.add_argument("--rate", type=float, default=200, help="cases/s in the latency phase (default 200)")
    parser.add_argument("--seconds", type=float, default=10, help="length of the latency phase (default 10)")
    parser.add_argument("--store", default="sqlite",
                        help="FR's store: sqlite (default) or a PostgreSQL server URL (a fresh database is made on it "
                             "for each run and dropped after, so the URL needs CREATE DATABASE rights)")
    parser.add_argument("--nodes", type=int, default=1,
                        help="FR nodes on the PostgreSQL store, intake spread over them (default 1)")
    parser.add_argument("--delivery", type=delivery_setting, action="append", default=[], metavar="NAME=VALUE",
                        help="override a [delivery] setting of both gateways (default: none, the gateway's "
                             "defaults); repeatable")
    parser.add_argument("--rounds", type=int, default=1,
                        help="floor then gateway, this many times; figures are the medians, the ratio the median "
                             "of each round's ratio (pairs keep it fair when the machine's speed drifts)")
    parser.add_argument("--timeout", type=float, default=900, help="give up waiting for deliveries after this")
    args = parser.parse_args(argv)
    if args.cases < 1 or args.rate <= 0 or args.seconds <= 0 or args.rounds < 1 or args.nodes < 1:
        parser.error("--cases, --rate, --seconds, --rounds and --nodes must be positive")
    if args.nodes > 1 and args.store == "sqlite":
        parser.error("--nodes above 1 needs --store postgresql://...")
    return args


async def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    gateways, ratios = [], []
    for round_no in range(1, args.rounds + 1):
        with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
            base = Path(tmp)
            floor = await floor_run(base, args)
            print(f"round {round_no}: {floor.line()}", flush=True)
            gateway = await gateway_run(base, args)
            print(f"round {round_no}: {gateway.line()}", flush=True)
            for result in (gateway, floor):
                for where, value in result.lag_ms.items():
                    print(f"round {round_no}: loop_lag_p99_ms {result.name} {where}: {value}", flush=True)
        gateways.append(gateway)
        ratios.append(gateway.cases_per_s / floor.cases_per_s)
    print(f"throughput cases_per_s={median(g.cases_per_s for g in gateways):.0f} "
          f"p50_ms={median(g.p50_ms for g in gateways):.1f} p99_ms={median(g.p99_ms for g in gateways):.1f} "
          f"baseline_ratio={median(ratios):.2f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
