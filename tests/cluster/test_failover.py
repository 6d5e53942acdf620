"""Two FR-PDC nodes (separate ``serve`` processes) on one PostgreSQL database deliver to DE-HOTLINE (its
own process, SQLite), and survive being killed (issue 13, must show).

5,000 cases are submitted in batches of 50, alternately to both nodes (the next node on a refused
connection, as a case system behind a load balancer would). One node is SIGKILLed a third of the way
through and restarted; the other is SIGKILLed two thirds through and stays down, so the survivor must
take over its claims when their lease runs out. In the end: every case is stored at DE from exactly one
inbound message (DE counted per case), every delivery is delivered (no dead letter), and ``audit
verify`` passes on the chain both nodes wrote.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import aiohttp
import orjson

from hotline_gateway import config as config_mod
from hotline_gateway.core.model import dump_case
from hotline_gateway.store.postgres import PostgresStore
from tests.cluster.nodes import Serve, node_configs, submit_anywhere
from tests.engine.federation import cases_hosted_in

CASES = 5000
BATCH = 50


async def test_two_nodes_killed_in_turn_deliver_every_case_exactly_once(fed_paths: dict[str, Path],
                                                                        pg_url: str) -> None:
    started = time.monotonic()
    paths = node_configs(fed_paths["FR-PDC"], pg_url, gateway={"leader_lease_s": 3},
                         delivery={"claim_lease_s": 3, "timeout_s": 2})
    de = Serve(fed_paths["DE-HOTLINE"]).start()
    a, b = (Serve(p) for p in paths)
    procs = [de, a.start(), b.start()]
    observer = None
    try:
        await de.ready()
        await a.ready()
        await b.ready()
        docs = [dump_case(c) for c in cases_hosted_in("DE", CASES, seed=1313)]
        bodies = [orjson.dumps(docs[i:i + BATCH]) for i in range(0, CASES, BATCH)]
        urls = [a.url, b.url]
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            for start in range(0, len(bodies), 4):  # four requests in flight
                if start == len(bodies) // 3:
                    a.kill()  # mid-stream: its requests in flight fail, its claims are left in flight
                    a.start()  # and it comes back (giving its claims back at once)
                if start == 2 * len(bodies) // 3:
                    b.kill()  # for good: its claims wait for their lease, then a takes them
                await asyncio.gather(*(submit_anywhere(http, urls, n, bodies[n])
                                       for n in range(start, min(start + 4, len(bodies)))))
        submitted = time.monotonic()
        await a.ready()
        observer = await PostgresStore.open(pg_url, gateway="FR-PDC", node="observer", recover=False)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            status = (await observer.partner_status()).get("DE-HOTLINE")
            if status is not None and status.delivered == CASES:
                break
            await asyncio.sleep(0.25)
        delivered = time.monotonic()
        status = (await observer.partner_status())["DE-HOTLINE"]
        assert (status.delivered, status.queued, status.in_flight, status.dead) == (CASES, 0, 0, 0), a.tail()
        assert await observer.dead_letters() == []
        sent = {d.message_id: d.case_id for d in await observer.deliveries("DE-HOTLINE")}
        resent = sum(1 for d in await observer.deliveries("DE-HOTLINE") if d.attempts > 1)
        assert len(sent) == CASES and len(set(sent.values())) == CASES

        de_db = config_mod.load(fed_paths["DE-HOTLINE"]).db_path
        with closing(sqlite3.connect(f"file:{de_db}?mode=ro", uri=True)) as conn:
            inbound = [r[0] for r in conn.execute("SELECT message_id FROM inbound WHERE sender = 'FR-PDC'")]
            per_case: dict[str, int] = {}
            for message_id in inbound:
                per_case[sent[message_id]] = per_case.get(sent[message_id], 0) + 1
            stored = conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0]
            accepted = conn.execute("SELECT COUNT(*), COUNT(DISTINCT case_id) FROM audit"
                                    " WHERE kind = 'case.accepted'").fetchone()
        assert sorted(per_case.values()) == [1] * CASES  # every case, each from exactly one message
        assert set(per_case) == {str(d["case_id"]) for d in docs}
        assert stored == CASES and tuple(accepted) == (CASES, CASES)

        checked = time.monotonic()
        verify = subprocess.run([sys.executable, "-m", "hotline_gateway.cli.main", "audit", "verify", "--config",
                                 str(paths[0]), "--json"], capture_output=True, timeout=120)
        report = orjson.loads(verify.stdout)
        assert verify.returncode == 0 and report["ok"], verify.stdout[-2000:]
        verified = time.monotonic()
        print(f"\n5,000 cases over two killed nodes: submitted in {submitted - started:.1f} s, all delivered "
              f"{delivered - started:.1f} s after start; {resent} sent more than once (DE answered from its store); "
              f"audit chain {report['entries']} entries verified in {verified - checked:.1f} s")
    finally:
        if observer is not None:
            await observer.close()
        for p in procs:
            p.stop()
