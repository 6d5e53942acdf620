"""What the benchmarks share: two gateways' configs, processes, synthetic cases, and reading figures cheaply.

The harness must not steal a core from what it measures: delivered rows are counted by SQL on a
read-only connection (an index range count, never rows pulled into Python), memory is read from
``/proc``, loop lag from each gateway's own ``/metrics`` histogram, and new cases are cloned from a
small pool of generated ones with fresh ids rather than generated one by one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import tomllib
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import orjson
import tomli_w
from prometheus_client.parser import text_string_to_metric_families

from hotline_gateway import config as config_mod
from hotline_gateway.core.model import LegalClass, dump_case
from hotline_gateway.crypto.keydir import KeyDirectory, generate
from hotline_gateway.sim.samples import generate_cases

TOKEN = "bench-intake-token"
FR, DE = "FR-PDC", "DE-HOTLINE"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the two gateways -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """FR-PDC (intake, sends) and DE-HOTLINE (receives): configs, URLs and FR's store."""

    fr_config: Path
    de_config: Path
    fr_url: str
    de_url: str
    fr_db: Path
    #: FR's other nodes (PostgreSQL store): their configs and URLs
    fr_extra: tuple[tuple[Path, str], ...] = ()

    @property
    def fr_urls(self) -> list[str]:
        return [self.fr_url, *(url for _, url in self.fr_extra)]


def write_pair(base: Path, store: str = "sqlite", delivery: dict[str, float] | None = None, nodes: int = 1) -> Pair:
    """Two gateways with their own keys, each other's public keys, and the gateway's default delivery settings.

    Only what a real deployment must say is set (ids, countries, ports, the partner and its keys, an
    intake token); delivery and retry settings are the defaults, not tuned for the bench, unless
    ``delivery`` overrides some (``--delivery`` on the command line). ``store`` other than ``sqlite``
    is FR's PostgreSQL database (DE keeps its SQLite file: a database belongs to one gateway), and FR runs
    as ``nodes`` nodes on it, each its own config and port.
    """
    ports = {FR: free_port(), DE: free_port()}
    roots = {FR: base / "fr", DE: base / "de"}
    for gid, root in roots.items():
        generate(root / "keys", f"{gid}-bench", owner=gid)
    for gid, root in roots.items():
        (root / "partners").mkdir(parents=True, exist_ok=True)
        (root / "partners" / f"{gid}.json").write_bytes(orjson.dumps(KeyDirectory.load(root / "keys").to_jwks()))
    country = {FR: "FR", DE: "DE"}
    paths = {}
    for gid, other in ((FR, DE), (DE, FR)):
        gateway: dict[str, Any] = {"id": gid, "country": country[gid], "role": "hotline", "host": "127.0.0.1",
                                   "port": ports[gid], "intake_token": TOKEN}
        if store != "sqlite" and gid == FR:
            gateway.update(store=store, node="fr-1")
        doc: dict[str, Any] = {
            "gateway": gateway,
            "partners": [{"id": other, "kind": "hotline", "country": country[other],
                          "endpoint": f"http://127.0.0.1:{ports[other]}/v1/messages", "format": "native",
                          "transport": "native-http", "keys": str(roots[other] / "partners" / f"{other}.json"),
                          "tlp_max": "red", "options": {"allow_insecure_http": True}}],  # loopback
        }
        if delivery:
            doc["delivery"] = delivery
        paths[gid] = roots[gid] / "config.toml"
        paths[gid].write_text(tomli_w.dumps(doc), encoding="utf-8")
    fr_db = config_mod.load(paths[FR]).db_path if store == "sqlite" else roots[FR] / "data"
    extra = []
    for n in range(2, nodes + 1):
        doc = tomllib.loads(paths[FR].read_text(encoding="utf-8"))
        doc["gateway"].update(node=f"fr-{n}", port=free_port())
        path = roots[FR] / f"fr-{n}.toml"
        path.write_text(tomli_w.dumps(doc), encoding="utf-8")
        extra.append((path, f"http://127.0.0.1:{doc['gateway']['port']}"))
    return Pair(paths[FR], paths[DE], f"http://127.0.0.1:{ports[FR]}", f"http://127.0.0.1:{ports[DE]}", fr_db,
                tuple(extra))


def fresh_database(server: str) -> tuple[str, str]:
    """A new, empty database on the PostgreSQL server of ``server`` (a URL); returns (name, URL)."""
    import psycopg

    name = f"hotline_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, urlunsplit(urlsplit(server)._replace(path=f"/{name}"))


def drop_database(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def delivery_setting(text: str) -> tuple[str, float]:
    """``NAME=VALUE`` of a ``[delivery]`` setting (argparse type of ``--delivery``)."""
    name, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not sep or not name or number != number:
        raise argparse.ArgumentTypeError(f"expected NAME=NUMBER, e.g. circuit_reset_s=1, not {text!r}")
    return name, int(number) if number.is_integer() and name in INT_SETTINGS else number


INT_SETTINGS = frozenset({"batch_size", "concurrency", "circuit_failures"})


def spawn_gateway(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """``hotline-gateway serve`` as its own process (its warnings and errors go to ``log``)."""
    with log.open("ab") as sink:
        return subprocess.Popen([sys.executable, "-m", "hotline_gateway.cli.main", "serve", "--config", str(config)],
                                stdout=subprocess.DEVNULL, stderr=sink)


async def until_ready(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as s:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{url}: process exited with {proc.returncode} before it was ready")
            with contextlib.suppress(aiohttp.ClientError):
                async with s.get(f"{url}/readyz") as r:
                    if r.status == 200:
                        return
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} not ready after {timeout} s")


def stop(*procs: subprocess.Popen[bytes]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)


# -- synthetic cases --------------------------------------------------------------------------------------------


class CaseSource:
    """Cases hosted in DE (so FR routes each to DE-HOTLINE, and nowhere else), cloned from a generated pool.

    The pool is serialised once with placeholder ids; each clone is those bytes with a fresh case id
    and fresh item ids put in, so a million new cases cost the harness microseconds each, not a
    generator run or a JSON encoding each.
    """

    def __init__(self, pool: int = 500, seed: int = 1) -> None:
        self.templates: list[tuple[bytes, int]] = []
        for case in generate_cases(pool, seed=seed):
            doc = dump_case(case)
            doc["case_id"] = _CASE_MARK
            if doc.get("status") == "retracted":  # every case travels: none taken back by its originator
                doc["status"] = "assessed"
            for i, item in enumerate(doc.get("items", [])):
                item["item_id"] = _item_mark(i)
                kept = [a for a in item.pop("actions", []) if a["type"] != "retracted"]
                if kept:
                    item["actions"] = kept
                item["assigned_country"] = "DE"
                if item.get("legal_class") not in (LegalClass.BASELINE.value, LegalClass.NATIONAL.value):
                    item["legal_class"] = LegalClass.BASELINE.value
            self.templates.append((orjson.dumps(doc), len(doc.get("items", []))))
        self._next = 0

    def take(self, count: int) -> list[bytes]:
        """``count`` new case documents, each as canonical JSON bytes."""
        out = []
        for _ in range(count):
            data, items = self.templates[self._next % len(self.templates)]
            self._next += 1
            data = data.replace(_CASE_MARK.encode(), str(uuid.uuid4()).encode(), 1)
            for i in range(items):
                data = data.replace(_item_mark(i).encode(), str(uuid.uuid4()).encode(), 1)
            out.append(data)
        return out

    def bodies(self, total: int, size: int) -> Iterator[bytes]:
        """Request bodies (JSON arrays) of ``size`` new cases each, ``total`` cases in all."""
        for start in range(0, total, size):
            yield array(self.take(min(size, total - start)))


_CASE_MARK = "00000000-0000-4000-8000-00000000ca5e"


def _item_mark(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def array(docs: list[bytes]) -> bytes:
    return b"[" + b",".join(docs) + b"]"


async def post_cases(session: aiohttp.ClientSession, url: str, body: bytes, path: str = "/v1/cases") -> None:
    async with session.post(f"{url}{path}", data=body,
                            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}) as r:
        if r.status != 202:
            raise RuntimeError(f"intake answered {r.status}: {(await r.read())[:300]!r}")
        await r.read()


async def submit_all(url: str | list[str], bodies: Iterable[bytes], *, concurrency: int = 4,
                     path: str = "/v1/cases", progress: Callable[[int], None] | None = None) -> None:
    """Every body (a JSON array of cases) to the intake, ``concurrency`` requests in flight; several URLs
    (nodes of one gateway) take the requests in turn."""
    urls = [url] if isinstance(url, str) else url
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=concurrency * 2)
    sent = 0

    async def worker(session: aiohttp.ClientSession, n: int) -> None:
        nonlocal sent
        while (body := await queue.get()) is not None:
            await post_cases(session, urls[n % len(urls)], body, path)
            n += concurrency
            sent += 1
            if progress is not None:
                progress(sent)

    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        workers = [asyncio.create_task(worker(session, n)) for n in range(concurrency)]
        for body in bodies:
            await queue.put(body)
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)


async def paced(url: str | list[str], docs: list[bytes], rate: float, path: str = "/v1/cases") -> float:
    """One case per request at ``rate`` per second (to several URLs in turn); returns the time the phase
    started (``time.time()``)."""
    urls = [url] if isinstance(url, str) else url
    began = time.time()
    t0 = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        pending: set[asyncio.Task[None]] = set()
        for i, doc in enumerate(docs):
            task = asyncio.create_task(post_cases(session, urls[i % len(urls)], array([doc]), path))
            pending.add(task)
            task.add_done_callback(pending.discard)
            delay = t0 + (i + 1) / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        await asyncio.gather(*pending)
    return began


# -- reading figures ----------------------------------------------------------------------------------------------


class DeliveredCounter:
    """Delivered rows in a store, counted by SQL on a read-only connection (index range count): the SQLite
    file, or the PostgreSQL database when ``store`` is its URL (``?`` placeholders either way)."""

    def __init__(self, store: str, db: Path, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.store, self.db, self.sql, self.params = store, db, sql, params
        self._conn: sqlite3.Connection | None = None
        self._pg: Any = None
        if store != "sqlite":
            import psycopg

            self._pg = psycopg.connect(store, autocommit=True)
            self._pg.execute("SET default_transaction_read_only = on")

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        if self._pg is not None:
            return list(self._pg.execute(sql.replace("?", "%s"), params).fetchall())
        assert self._conn is not None
        return self._conn.execute(sql, params).fetchall()

    def count(self) -> int:
        if self._pg is None and self._conn is None:
            if not self.db.exists():
                return 0
            self._conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            ((n,),) = self._query(self.sql, self.params)
        except Exception as exc:  # the gateway has not made its tables yet
            if self._pg is not None and "does not exist" in str(exc):
                return 0
            raise
        return int(n)

    def latencies_ms(self, since: float, sql: str) -> list[float]:
        """Acceptance → delivery of rows created since ``since`` (a few thousand rows, the paced phase only)."""
        return [(d - c) * 1000 for c, d in self._query(sql, (since,))]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._pg is not None:
            self._pg.close()


def gateway_counter(pair: Pair, store: str) -> DeliveredCounter:
    return DeliveredCounter(store, pair.fr_db,
                            "SELECT count(*) FROM deliveries WHERE partner = ? AND state = 'delivered'", (DE,))


GATEWAY_LATENCY_SQL = ("SELECT created_at, delivered_at FROM deliveries "
                       "WHERE state = 'delivered' AND created_at >= ?")


async def wait_count(counter: DeliveredCounter, target: int, timeout: float, poll: float = 0.1) -> float:
    """Wait until ``target`` rows are delivered; returns the ``perf_counter`` time it was seen."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if counter.count() >= target:
            return time.perf_counter()
        await asyncio.sleep(poll)
    raise RuntimeError(f"only {counter.count()} of {target} delivered in {timeout} s")


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of a process from ``/proc``: VmRSS now, or VmHWM (its peak so far)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for pid {pid}")


async def lag_histogram(url: str) -> dict[float, float]:
    """Cumulative bucket counts of a gateway's ``hotline_loop_lag_seconds`` (upper bound → count)."""
    async with aiohttp.ClientSession() as s, s.get(f"{url}/metrics") as r:
        text = await r.text()
    out: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "hotline_loop_lag_seconds":
            for sample in family.samples:
                if sample.name.endswith("_bucket"):
                    out[float(sample.labels["le"])] = sample.value
    return out


def lag_p99_ms(before: dict[float, float], after: dict[float, float]) -> tuple[float, int]:
    """p99 of the loop lag observed between two scrapes: the upper bound of the bucket holding it, and the count."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1]
    if total <= 0:
        return float("nan"), 0
    for bound, cumulative in zip(bounds, counts, strict=True):
        if cumulative >= 0.99 * total:
            return bound * 1000, int(total)
    return float("inf"), int(total)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
