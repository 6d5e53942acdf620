"""The floor the gateway is measured against: a bare aiohttp endpoint that verifies one Ed25519
signature per case and inserts the cases into SQLite, one durable transaction per request.

Run as ``python -m bench.baseline_server DB PORT PUBKEY_HEX``; prints ``ready`` when listening.
"""

from __future__ import annotations

import sqlite3
import sys

import orjson
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def make_app(db: str, public: Ed25519PublicKey) -> web.Application:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS cases (id TEXT PRIMARY KEY, doc BLOB)")

    async def post(request: web.Request) -> web.Response:
        doc = orjson.loads(await request.read())
        rows = []
        for entry in doc["cases"]:
            body = bytes.fromhex(entry["body"])
            public.verify(bytes.fromhex(entry["sig"]), body)
            rows.append((entry["id"], body))
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO cases VALUES (?, ?)", rows)
        conn.execute("COMMIT")
        return web.json_response({"stored": len(rows)})

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/ingest", post)
    return app


def main() -> None:
    db, port, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    app = make_app(db, Ed25519PublicKey.from_public_bytes(bytes.fromhex(key)))
    web.run_app(app, host="127.0.0.1", port=port, print=lambda *_: print("ready", flush=True))


if __name__ == "__main__":
    main()
