"""Leadership across processes (issue 13, must show): two ``serve`` processes of FR-PDC on one PostgreSQL
database, both configured to poll the ICCAM-style network's work queue (the simulator, over mutual TLS,
in this process). Only the leading node polls, so no report is handed out twice; the leader is
SIGKILLed and the other node takes over within the lease and keeps taking the queue."""

from __future__ import annotations

import asyncio
import time
import tomllib
from pathlib import Path

import orjson
import tomli_w
from aiohttp import web

from hotline_gateway.adapters import registry
from hotline_gateway.sim.iccam import IccamSim
from hotline_gateway.sim.samples import generate_cases
from hotline_gateway.sim.tls import TestCA
from hotline_gateway.store.postgres import PostgresStore
from tests.cluster.nodes import Serve, node_configs
from tests.support.waiting import eventually

LEASE_S = 3.0


async def leader_of(nodes: list[Serve]) -> list[Serve]:
    """The nodes that say they lead (each /readyz names its node and whether it leads)."""
    answers = [await n.readiness() for n in nodes]
    return [n for n, a in zip(nodes, answers, strict=True) if a is not None and a.get("leader")]


async def test_the_poller_runs_on_one_node_and_moves_when_it_is_killed(fed_paths: dict[str, Path], pg_url: str,
                                                                      tmp_path: Path) -> None:
    ca = TestCA(tmp_path / "pki")
    sim = IccamSim("fr-pdc", "s3cret")
    runner = web.AppRunner(sim.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ca.server_context(ca.issue("iccam.test", server=True)))
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    client = ca.issue("FR-PDC", server=False)
    fr = fed_paths["FR-PDC"]
    doc = tomllib.loads(fr.read_text(encoding="utf-8"))
    doc["partners"].append({"id": "INHOPE-ICCAM", "kind": "network", "transport": "iccam-api", "format": "iccam",
                            "endpoint": f"https://127.0.0.1:{port}",
                            "options": {"username": "fr-pdc", "password": "s3cret", "ca_file": str(ca.cert),
                                        "client_cert": str(client.cert), "client_key": str(client.key),
                                        "poll_interval_s": 0.1}})
    fr.write_text(tomli_w.dumps(doc), encoding="utf-8")
    nodes = [Serve(p).start() for p in node_configs(fr, pg_url, gateway={"leader_lease_s": LEASE_S})]
    observer = None
    reports = [orjson.loads(registry.get("iccam").encode(c)) for c in generate_cases(20, seed=515)]
    try:
        for n in nodes:
            await n.ready()
        observer = await PostgresStore.open(pg_url, gateway="FR-PDC", node="observer", recover=False)
        [leader] = await leader_of(nodes)
        for report in reports[:10]:
            sim.assign("FR", report)

        async def taken(upto: int) -> bool:
            found = await observer.case_docs([r["hotlineReference"] for r in reports[:upto]])
            return not sim.queues["FR"] and len(found) == upto

        await eventually(lambda: taken(10), timeout=30, what="the first ten reports taken")
        leader.kill()
        killed = time.monotonic()
        [survivor] = [n for n in nodes if n is not leader]

        async def survivor_leads() -> bool:
            return await leader_of([survivor]) == [survivor]

        await eventually(survivor_leads, timeout=3 * LEASE_S, interval=0.05, what="the other node taking the lead")
        takeover = time.monotonic() - killed
        assert takeover < LEASE_S, f"took over after {takeover:.2f} s, the lease is {LEASE_S} s"
        for report in reports[10:]:
            sim.assign("FR", report)
        await eventually(lambda: taken(20), timeout=30, what="the next ten reports taken by the new leader")
        assert set(sim.served) == {r["hotlineReference"] for r in reports}
        assert max(sim.served.values()) == 1, sim.served  # no report handed out twice
        print(f"\nleader {leader.name} killed; {survivor.name} led {takeover:.2f} s later (lease {LEASE_S:g} s)")
    finally:
        if observer is not None:
            await observer.close()
        for n in nodes:
            n.stop()
        await runner.cleanup()
        await asyncio.sleep(0)
