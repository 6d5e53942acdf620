"""The two-hop floor: the work a case cannot avoid from FR's intake to DE's receipt, in two bare processes.

``fr``: takes cases on ``POST /v1/cases`` (bearer token), signs each payload (Ed25519), inserts it
durably (SQLite, WAL, ``synchronous=FULL``, one writer thread committing whatever queued up meanwhile:
group commit), acknowledges, and POSTs them to DE in batches (up to 100 a request, 4 requests in flight,
the gateway's default lanes), each request signed over method, URL, body digest, time and nonce. It
verifies DE's signed answer and every receipt in it, then records each delivery durably.

``de``: on ``POST /ingest`` checks the body digest, the request's signature, its time and nonce, then
each payload's digest and signature, inserts the messages durably (group commit), signs a receipt per
message and signs its answer.

Each also exports its event-loop lag at ``GET /metrics`` as the gateway does, so the bench can tell
a busy machine (both lag) from a busy gateway. What the gateway does beyond this (schema validation,
routing, the audit chain, JWS and RFC 9421 encodings, retries, metrics, logs) is its overhead over
the floor; the ratio of the two is what ``bench/throughput.py`` prints.

Keys: ``DIR/own.key`` (raw Ed25519 seed) and ``DIR/peer.pub`` (raw).
Run as ``python -m bench.floor fr|de --dir DIR --port PORT [--de-url URL]``; prints ``ready``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import hashlib
import hmac
import queue
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest

from hotline_gateway.metrics import LOOP_LAG_BUCKETS, LoopLagMonitor

TOKEN = "bench-intake-token"
LANES, BATCH = 4, 100
SKEW_S = 300
Job = tuple[str, Sequence[tuple[Any, ...]], "asyncio.Future[None]", asyncio.AbstractEventLoop]


class GroupWriter:
    """One thread owns the connection and commits every statement queued meanwhile in one transaction."""

    def __init__(self, path: Path, schema: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(schema)
        self.jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="floor-writer", daemon=True)
        self.thread.start()

    async def execute(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self.jobs.put((sql, rows, done, loop))
        await done

    def _run(self) -> None:
        while (first := self.jobs.get()) is not None:
            batch = [first]
            while True:
                try:
                    job = self.jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self.jobs.put(None)
                    break
                batch.append(job)
            self.conn.execute("BEGIN")
            for sql, rows, _, _ in batch:
                self.conn.executemany(sql, rows)
            self.conn.execute("COMMIT")
            for _, _, done, loop in batch:
                loop.call_soon_threadsafe(_settle, done)

    def close(self) -> None:
        self.jobs.put(None)
        self.thread.join()
        self.conn.close()


def _settle(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def request_base(url: str, digest: bytes, created: int, nonce: str) -> bytes:
    return b"POST\n%s\n%s\n%d\n%s" % (url.encode(), digest, created, nonce.encode())


def receipt_base(message_id: str, sha_hex: str, received_at: str) -> bytes:
    return f"{message_id}|{sha_hex}|{received_at}|DE-HOTLINE".encode()


def load_keys(folder: Path) -> tuple[Ed25519PrivateKey, Ed25519PublicKey]:
    return (Ed25519PrivateKey.from_private_bytes((folder / "own.key").read_bytes()),
            Ed25519PublicKey.from_public_bytes((folder / "peer.pub").read_bytes()))


# -- FR ----------------------------------------------------------------------------------------------------------

FR_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    message_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, payload BLOB NOT NULL, signature BLOB NOT NULL,
    payload_sha256 BLOB NOT NULL, state TEXT NOT NULL, created_at REAL NOT NULL, delivered_at REAL, receipt BLOB
);
CREATE INDEX IF NOT EXISTS deliveries_state ON deliveries(state);
"""


class FrFloor:
    def __init__(self, folder: Path, de_url: str) -> None:
        self.key, self.de_public = load_keys(folder)
        self.writer = GroupWriter(folder / "fr.sqlite3", FR_SCHEMA)
        self.de_url = de_url
        self.pending: collections.deque[tuple[str, str, bytes, bytes, bytes]] = collections.deque()
        self.wake = asyncio.Event()
        self.lanes: list[asyncio.Task[None]] = []

    async def intake(self, request: web.Request) -> web.Response:
        if not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {TOKEN}"):
            return web.Response(status=401)
        docs = orjson.loads(await request.read())
        now = time.time()
        rows, queued = [], []
        for doc in docs if isinstance(docs, list) else [docs]:
            payload = orjson.dumps(doc)
            sha = hashlib.sha256(payload).digest()
            signature = self.key.sign(payload)
            message_id = str(uuid.uuid4())
            rows.append((message_id, doc["case_id"], payload, signature, sha, "queued", now))
            queued.append((message_id, doc["case_id"], payload, signature, sha))
        await self.writer.execute("INSERT INTO deliveries (message_id, case_id, payload, signature, payload_sha256, "
                                  "state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        self.pending.extend(queued)
        self.wake.set()
        return web.json_response({"accepted": [r[0] for r in rows]}, status=202)

    async def lane(self, session: aiohttp.ClientSession) -> None:
        while True:
            while not self.pending:
                self.wake.clear()
                await self.wake.wait()
            batch = [self.pending.popleft() for _ in range(min(BATCH, len(self.pending)))]
            try:
                await self.send(session, batch)
            except (aiohttp.ClientError, ValueError) as exc:
                print(f"floor fr: batch failed ({exc!r}); retrying", flush=True)
                self.pending.extendleft(reversed(batch))
                await asyncio.sleep(0.2)

    async def send(self, session: aiohttp.ClientSession, batch: list[tuple[str, str, bytes, bytes, bytes]]) -> None:
        body = orjson.dumps({"messages": [
            {"message_id": mid, "case_id": cid, "payload": b64(payload), "payload_sha256": sha.hex(),
             "signature": b64(sig)} for mid, cid, payload, sig, sha in batch]})
        digest = hashlib.sha256(body).digest()
        created, nonce = int(time.time()), secrets.token_urlsafe(16)
        headers = {"Content-Type": "application/json", "Content-Digest": b64(digest), "X-Created": str(created),
                   "X-Nonce": nonce, "Signature": b64(self.key.sign(request_base(self.de_url, digest, created, nonce)))}
        async with session.post(self.de_url, data=body, headers=headers) as resp:
            answer = await resp.read()
            if resp.status != 200:
                raise ValueError(f"DE answered {resp.status}")
            answer_digest = hashlib.sha256(answer).digest()
            if not hmac.compare_digest(resp.headers["Content-Digest"], b64(answer_digest)):
                raise ValueError("answer digest mismatch")
            self.de_public.verify(base64.b64decode(resp.headers["Signature"]), b"200\n" + answer_digest)
        receipts = orjson.loads(answer)["receipts"]
        delivered_at = time.time()
        rows = []
        for (mid, _, _, _, sha), r in zip(batch, receipts, strict=True):
            if r["message_id"] != mid or r["payload_sha256"] != sha.hex():
                raise ValueError("receipt names another message")
            signature = base64.b64decode(r["signature"])
            self.de_public.verify(signature, receipt_base(mid, r["payload_sha256"], r["received_at"]))
            rows.append(("delivered", delivered_at, signature, mid))
        await self.writer.execute("UPDATE deliveries SET state = ?, delivered_at = ?, receipt = ? "
                                  "WHERE message_id = ?", rows)


def fr_app(folder: Path, de_url: str) -> web.Application:
    floor = FrFloor(folder, de_url)

    async def lanes(app: web.Application) -> Any:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=LANES)) as session:
            floor.lanes = [asyncio.create_task(floor.lane(session)) for _ in range(LANES)]
            yield
            for task in floor.lanes:
                task.cancel()
            await asyncio.gather(*floor.lanes, return_exceptions=True)
        floor.writer.close()

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.cleanup_ctx.append(lanes)
    app.router.add_post("/v1/cases", floor.intake)
    return app


# -- DE ----------------------------------------------------------------------------------------------------------

DE_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbound (
    message_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, payload BLOB NOT NULL, signature BLOB NOT NULL,
    received_at TEXT NOT NULL, receipt BLOB NOT NULL
);
"""


def de_app(folder: Path) -> web.Application:
    key, fr_public = load_keys(folder)
    writer = GroupWriter(folder / "de.sqlite3", DE_SCHEMA)
    nonces: set[str] = set()

    async def ingest(request: web.Request) -> web.Response:
        body = await request.read()
        digest = hashlib.sha256(body).digest()
        created = int(request.headers["X-Created"])
        nonce = request.headers["X-Nonce"]
        if not hmac.compare_digest(request.headers["Content-Digest"], b64(digest)):
            return web.Response(status=400)
        fr_public.verify(base64.b64decode(request.headers["Signature"]),
                         request_base(str(request.url), digest, created, nonce))
        if abs(time.time() - created) > SKEW_S or nonce in nonces:
            return web.Response(status=401)
        nonces.add(nonce)
        received_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        rows, receipts = [], []
        for m in orjson.loads(body)["messages"]:
            payload = base64.b64decode(m["payload"])
            sha_hex = hashlib.sha256(payload).hexdigest()
            if sha_hex != m["payload_sha256"]:
                return web.Response(status=400)
            signature = base64.b64decode(m["signature"])
            fr_public.verify(signature, payload)
            receipt = key.sign(receipt_base(m["message_id"], sha_hex, received_at))
            rows.append((m["message_id"], m["case_id"], payload, signature, received_at, receipt))
            receipts.append({"message_id": m["message_id"], "payload_sha256": sha_hex, "received_at": received_at,
                             "signature": b64(receipt)})
        await writer.execute("INSERT OR IGNORE INTO inbound VALUES (?, ?, ?, ?, ?, ?)", rows)
        answer = orjson.dumps({"receipts": receipts})
        answer_digest = hashlib.sha256(answer).digest()
        return web.Response(body=answer, content_type="application/json", headers={
            "Content-Digest": b64(answer_digest), "Signature": b64(key.sign(b"200\n" + answer_digest))})

    async def close_writer(app: web.Application) -> Any:
        yield
        writer.close()

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.cleanup_ctx.append(close_writer)
    app.router.add_post("/ingest", ingest)
    return app


def with_loop_lag(app: web.Application) -> web.Application:
    """The gateway's own loop-lag monitor and histogram, at ``GET /metrics``."""
    registry = CollectorRegistry()
    histogram = Histogram("hotline_loop_lag_seconds", "Event-loop lag", registry=registry, buckets=LOOP_LAG_BUCKETS)

    async def monitor(app: web.Application) -> Any:
        lag = LoopLagMonitor(histogram).start()
        yield
        await lag.stop()

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.cleanup_ctx.append(monitor)
    app.router.add_get("/metrics", metrics)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("role", choices=("fr", "de"))
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--de-url", help="DE's /ingest URL (fr only)")
    args = parser.parse_args()
    app = with_loop_lag(fr_app(args.dir, args.de_url) if args.role == "fr" else de_app(args.dir))
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None,
                print=lambda *_: print("ready", flush=True))


if __name__ == "__main__":
    main()
