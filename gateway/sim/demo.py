"""The demo: a small federation on loopback, and proof that every case got where routing sent it.

A national hotline (FR), a partner hotline (DE) and a law-enforcement gateway (FR-POLICE) run
in one process, each with its own keys, SQLite file and config in a temporary directory. N
generated cases go to FR's local intake; routing sends them on; the demo waits for every
receipt, then checks the stores against each other: every delivery FR recorded is present at
its receiver, every receipt verifies under the receiver's published keys. Then it re-queues a
few delivered messages (as if their receipts had been lost) and shows the receivers suppressing
the duplicates.
"""

from __future__ import annotations

import asyncio
import functools
import json
import socket
import tempfile
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import tomli_w

from hotline_gateway import config as config_mod
from hotline_gateway.api.state import SERVICES
from hotline_gateway.core.errors import GatewayError
from hotline_gateway.core.files import atomic_write
from hotline_gateway.core.model import dump_case
from hotline_gateway.crypto.keydir import KeyDirectory, generate
from hotline_gateway.crypto.passwords import hash_password
from hotline_gateway.crypto.receipts import verify_receipt
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim import demo_partners
from hotline_gateway.sim.samples import generate_cases
from hotline_gateway.store.records import DeliveryState

TOKEN = "demo-intake-token-" + "0" * 16
#: the demo gateways' operator credential (status page); a real one is set with `operator set-password`
OPERATOR_PASSWORD = "demo-operator-password"  # noqa: S105 -- the demo's, published on purpose


@dataclass
class DemoResult:
    submitted: int = 0
    accepted: int = 0
    delivered: int = 0
    receipts_verified: int = 0
    duplicates: int = 0
    lost: int = 0
    dead_lettered: int = 0
    elapsed_s: float = 0.0
    cases_per_s: float = 0.0
    deliveries: dict[str, int] = field(default_factory=dict)
    not_forwarded_items: int = 0
    #: deliveries to APIs that acknowledge without signing (ICCAM-style network, CyberTipline-style API);
    #: they count as verified receipts once the receiving system is seen to hold the report named
    acknowledged: int = 0
    iccam_reports: int = 0
    cybertip_reports: int = 0
    received_from_network: int = 0
    #: cases: of those submitted, how many routing sent to at least one destination, and how many to none
    cases_sent_on: int = 0
    cases_kept_here: int = 0
    #: messages: one per case and destination (``delivered`` counts messages, not cases)
    messages: int = 0
    #: delivered messages queued again on purpose, as if their receipts had been lost
    resent: int = 0
    #: where configs, keys and stores are kept (``--workdir``); None when they went with a temporary directory
    workdir: str | None = None

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.receipts_verified == self.delivered and self.dead_lettered == 0


#: ports handed out by ``reserve_port``, still held; the oldest are let go as new ones are reserved
_RESERVED: deque[socket.socket] = deque()
_RESERVATIONS_KEPT = 64


def reserve_port() -> int:
    """A loopback port nobody else can take before our gateway listens on it.

    Configs must name their ports before the gateways start (partners' endpoints), so "bind port 0,
    close, use the number later" would leave a window in which another process's bind(0) or outgoing
    connection takes the port (tests running in parallel hit it). Instead the port stays bound, with
    SO_REUSEADDR and never listening: the kernel gives it to no bind(0) and no connect(), while a
    server binding it with SO_REUSEADDR (aiohttp's default, ``serve`` in a subprocess, nginx) still can.
    The last few reservations are kept, which covers the time between writing a config and starting it.
    """
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    _RESERVED.append(sock)
    while len(_RESERVED) > _RESERVATIONS_KEPT:
        _RESERVED.popleft().close()
    return int(sock.getsockname()[1])


@dataclass
class _Node:
    id: str
    country: str
    role: str
    port: int
    root: Path

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/messages"


@functools.cache
def _operator_hash() -> str:
    """One scrypt hash of the demo's operator password per process (hashing is deliberately slow)."""
    return hash_password(OPERATOR_PASSWORD)


def write_federation(base: Path) -> dict[str, Path]:
    """Configs, keys and exchanged public keys for FR-PDC, DE-HOTLINE and FR-POLICE under ``base``."""
    nodes = [
        _Node("FR-PDC", "FR", "hotline", reserve_port(), base / "fr"),
        _Node("DE-HOTLINE", "DE", "hotline", reserve_port(), base / "de"),
        _Node("FR-POLICE", "FR", "law_enforcement", reserve_port(), base / "police"),
    ]
    for n in nodes:
        generate(n.root / "keys", f"{n.id}-demo", owner=n.id)
    for n in nodes:
        (n.root / "partners").mkdir(parents=True, exist_ok=True)
        (n.root / "partners" / f"{n.id}.json").write_bytes(
            orjson.dumps(KeyDirectory.load(n.root / "keys").to_jwks(), option=orjson.OPT_INDENT_2))
    fr, de, police = nodes

    def partner(n: _Node, kind: str, **extra: Any) -> dict[str, Any]:
        return {"id": n.id, "kind": kind, "country": n.country, "endpoint": n.endpoint, "format": "native",
                "transport": "native-http", "keys": str(n.root / "partners" / f"{n.id}.json"),
                "tlp_max": "red", "options": {"allow_insecure_http": True}, **extra}

    peers = {
        fr.id: [partner(de, "hotline"), partner(police, "law_enforcement", receive_reporter=True)],
        de.id: [partner(fr, "hotline")],
        police.id: [partner(fr, "hotline")],
    }
    paths = {}
    for n in nodes:
        doc = {
            "gateway": {"id": n.id, "country": n.country, "role": n.role, "host": "127.0.0.1", "port": n.port,
                        "intake_token": TOKEN, "shutdown_timeout_s": 5,
                        "operator_password_file": "operator.scrypt"},
            "delivery": {"base_delay_s": 0.2, "max_delay_s": 2.0, "batch_size": 100, "concurrency": 2,
                         "circuit_failures": 5, "circuit_reset_s": 1.0},
            "partners": peers[n.id],
        }
        path = n.root / "config.toml"
        path.write_text(tomli_w.dumps(doc), encoding="utf-8")
        atomic_write(n.root / "operator.scrypt", (_operator_hash() + "\n").encode("ascii"))
        paths[n.id] = path
    return paths


async def _submit(session: aiohttp.ClientSession, url: str, cases: list[dict[str, Any]]) -> int:
    async with session.post(f"{url}/v1/cases", data=orjson.dumps(cases),
                            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}) as r:
        body = await r.read()
        if r.status != 202:
            raise RuntimeError(f"intake answered {r.status}: {body[:300]!r}")
        return sum(1 for a in orjson.loads(body)["accepted"] if a["new"])


async def wait_settled(gw: RunningGateway, timeout: float) -> None:
    store = gw.app[SERVICES].store
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = await store.partner_status()
        if all(s.queued == 0 and s.in_flight == 0 for s in stats.values()):
            return
        await asyncio.sleep(0.05)


async def run_demo(cases: int = 200, *, seed: int = 2026, workdir: Path | None = None,
                   timeout: float = 300.0, resend: int = 10) -> DemoResult:
    with tempfile.TemporaryDirectory(prefix="hotline-demo-") as tmp:
        base = workdir or Path(tmp)
        paths = write_federation(base)
        sims = await demo_partners.start(base, paths["FR-PDC"])
        gateways = {gid: RunningGateway(config_mod.load(p)) for gid, p in paths.items()}
        for gw in gateways.values():
            await gw.start()
        try:
            result = await _exercise(gateways, cases, seed, timeout, resend)
            await _check_simulated(gateways["FR-PDC"], sims, result, timeout)
            result.workdir = str(workdir) if workdir is not None else None
            return result
        finally:
            for gw in gateways.values():
                await gw.stop()
            await sims.stop()


async def _check_simulated(fr: RunningGateway, sims: demo_partners.SimulatedPartners, result: DemoResult,
                           timeout: float) -> None:
    """What the network and the CyberTipline hold must match what FR-PDC recorded as delivered."""
    deadline = time.monotonic() + timeout
    store = fr.app[SERVICES].store
    while sims.iccam.queues.get("FR") and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    found = await store.case_docs(sims.queued_for_us)
    result.received_from_network = len(found)
    result.lost += len(sims.queued_for_us) - len(found)
    deliveries = await store.deliveries()
    result.iccam_reports = len(sims.iccam.reports)
    result.cybertip_reports = len(sims.cybertip.finished)
    held = {"INHOPE-ICCAM": {rid for rid, r in sims.iccam.reports.items()},
            "US-NCMEC": {r.report_id for r in sims.cybertip.finished}}
    for d in deliveries:
        if d.partner not in held or d.state is not DeliveryState.DELIVERED or d.receipt is None:
            continue
        # An unsigned acknowledgement counts as a verified receipt only if the receiving system really
        # holds the report it names (for the network, under this case's reference).
        report_id = str(orjson.loads(d.receipt).get("report_id"))
        confirmed = report_id in held[d.partner] and (
            d.partner != "INHOPE-ICCAM" or sims.iccam.reports[report_id]["hotlineReference"] == d.case_id)
        if confirmed:
            result.receipts_verified += 1
        else:
            result.lost += 1


async def _exercise(gateways: dict[str, RunningGateway], count: int, seed: int, timeout: float,
                    resend: int) -> DemoResult:
    fr = gateways["FR-PDC"]
    result = DemoResult(submitted=count)
    docs = [dump_case(c) for c in generate_cases(count, seed=seed, originator="FR-PDC")]
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        for i in range(0, len(docs), 50):
            result.accepted += await _submit(session, fr.url, docs[i:i + 50])
        await wait_settled(fr, timeout)
        result.elapsed_s = round(time.perf_counter() - started, 3)
        result.cases_per_s = round(count / result.elapsed_s, 1) if result.elapsed_s else 0.0
        jwks = {}
        for gid, gw in gateways.items():
            async with session.get(f"{gw.url}/.well-known/hotline-gateway/keys") as r:
                jwks[gid] = KeyDirectory.from_jwks(await r.json(content_type=None))

    fr_store = fr.app[SERVICES].store
    deliveries = await fr_store.deliveries()
    submitted = {d["case_id"] for d in docs}
    result.cases_sent_on = len({d.case_id for d in deliveries} & submitted)
    result.cases_kept_here = result.accepted - result.cases_sent_on
    result.messages = len(deliveries)
    for d in deliveries:
        result.deliveries[d.partner] = result.deliveries.get(d.partner, 0) + 1
        if d.state is DeliveryState.DEAD:
            result.dead_lettered += 1
        if d.state is not DeliveryState.DELIVERED or d.receipt is None:
            continue
        result.delivered += 1
        if d.receipt.startswith("{"):  # an API's unsigned acknowledgement, checked against the simulator later
            result.acknowledged += 1
            continue
        try:
            verify_receipt(d.receipt, jwks[d.partner], message_id=d.message_id, payload_sha256=d.payload_sha256,
                           receiver=d.partner)
        except GatewayError:  # counted, not raised: the summary says how many failed
            continue
        result.receipts_verified += 1
    # Lost: accepted by FR but missing at FR, or recorded as delivered but absent at the receiver.
    stored_cases = await fr_store.count("cases")
    result.lost = max(0, result.accepted - stored_cases)
    for gid, gw in gateways.items():
        if gid == "FR-PDC":
            continue
        mine = [d.message_id for d in deliveries if d.partner == gid and d.state is DeliveryState.DELIVERED]
        found = await gw.app[SERVICES].store.find_inbound("FR-PDC", mine) if mine else {}
        result.lost += len(mine) - len(found)
    # Lost receipts, simulated: the same messages go out again and must be suppressed, not stored twice.
    delivered = [d for d in deliveries if d.state is DeliveryState.DELIVERED and d.transport == "native-http"][:resend]
    if delivered:
        result.resent = await fr_store.requeue_delivered([d.message_id for d in delivered])
        for d in delivered:
            fr.app[SERVICES].acceptor.wake(d.partner)
        await wait_settled(fr, timeout)
    result.duplicates = sum(gw.app[SERVICES].counters["duplicates"] for gw in gateways.values())
    for gid, gw in gateways.items():
        if gid != "FR-PDC":
            inbound = await gw.app[SERVICES].store.count("inbound")
            expected = sum(1 for d in deliveries if d.partner == gid and d.state is DeliveryState.DELIVERED)
            result.lost += max(0, expected - inbound)
    return result


def summary_text(r: DemoResult) -> str:
    signed = r.delivered - r.acknowledged
    lines = [
        "Three gateways (FR-PDC, DE-HOTLINE, FR-POLICE), an ICCAM-style network and a CyberTipline-style API ran on",
        f"loopback; FR-PDC's case system submitted {r.submitted} synthetic cases.",
        "",
        "Cases",
        f"  submitted to FR-PDC          {r.submitted}",
        f"  accepted and stored          {r.accepted}",
        f"  sent on                      {r.cases_sent_on}  (routing gave them at least one destination)",
        f"  kept at FR-PDC               {r.cases_kept_here}  (not illegal, or no partner for where they are hosted)",
        f"  received from the network    {r.received_from_network}  (assigned to FR in the network's work queue)",
        "",
        "Messages (one per case and destination)",
        *[f"  to {p:<25} {n}" for p, n in sorted(r.deliveries.items())],
        f"  delivered                    {r.delivered} of {r.messages}",
        f"  receipts verified            {r.receipts_verified}  ({signed} signed by the receiving gateways, "
        f"{r.acknowledged} API acknowledgements matched to the reports the APIs hold)",
        f"  reports the APIs hold        ICCAM {r.iccam_reports}, CyberTipline {r.cybertip_reports} (filed)",
        f"  re-sent on purpose           {r.resent}  (as if their receipts had been lost, to prove duplicates "
        "are suppressed)",
        f"  duplicates suppressed        {r.duplicates}  (answered with the first receipt, stored once)",
        f"  lost                         {r.lost}",
        f"  dead-lettered                {r.dead_lettered}",
        "",
        f"elapsed {r.elapsed_s} s, {r.cases_per_s} cases/s",
        ("files kept in " + r.workdir) if r.workdir else
        "files were temporary; --workdir DIR keeps each gateway's config, keys and SQLite store to inspect",
        "result: " + ("OK, nothing lost, every receipt verified" if r.ok else "FAILED"),
    ]
    return "\n".join(lines)


def summary_json(r: DemoResult) -> str:
    return json.dumps({**asdict(r), "ok": r.ok})
