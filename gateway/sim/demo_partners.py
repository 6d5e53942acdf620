"""The systems beyond the three gateways in the demo: the ICCAM-style network (mutual TLS) and a
CyberTipline-style reporting API, as real servers on loopback, added to FR-PDC's configuration.

Routing adds two rules ahead of the national defaults: baseline content goes to the network, and
child-exploitation content hosted in the United States to the CyberTipline as well. Reports other
hotlines put in the network's work queue for France are fetched and come in as cases.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import tomli_w
from aiohttp import web

from hotline_gateway import config as config_mod
from hotline_gateway.adapters import registry
from hotline_gateway.sim.cybertip import CybertipSim
from hotline_gateway.sim.iccam import IccamSim
from hotline_gateway.sim.samples import generate_cases
from hotline_gateway.sim.tls import TestCA

EXTRA_ROUTES = [
    {"name": "baseline-to-iccam", "origin": ["local"], "legal_class": ["baseline"], "to": ["INHOPE-ICCAM"]},
    {"name": "us-hosted-to-cybertipline", "origin": ["local"], "hosted_in": ["US"],
     "category": ["csam", "csem", "adult_minor_access", "pimping"], "to": ["US-NCMEC"]},
]


@dataclass
class SimulatedPartners:
    iccam: IccamSim
    cybertip: CybertipSim
    queued_for_us: list[str] = field(default_factory=list)
    _runners: list[web.AppRunner] = field(default_factory=list)

    async def stop(self) -> None:
        for runner in self._runners:
            await runner.cleanup()


async def _serve(app: web.Application, **kwargs: Any) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, **kwargs)
    await site.start()
    server = getattr(site, "_server", None)
    assert server is not None and server.sockets
    return runner, int(server.sockets[0].getsockname()[1])


async def start(base: Path, fr_config: Path, *, inbound: int = 5, seed: int = 7) -> SimulatedPartners:
    """Start both simulators, seed France's work queue, and add them (and their routes) to FR-PDC."""
    ca = TestCA(base / "pki")
    server, client = ca.issue("iccam.test", server=True), ca.issue("FR-PDC", server=False)
    sims = SimulatedPartners(IccamSim("fr-pdc", "demo-iccam-secret"), CybertipSim("fr-pdc", "demo-cybertip-secret"))
    iccam_runner, iccam_port = await _serve(sims.iccam.app(), ssl_context=ca.server_context(server))
    tip_runner, tip_port = await _serve(sims.cybertip.app())
    sims._runners += [iccam_runner, tip_runner]
    for case in generate_cases(inbound, seed=seed + 1, originator="BE-CHILDFOCUS"):
        sims.iccam.assign("FR", orjson.loads(registry.get("iccam").encode(case)))
        sims.queued_for_us.append(str(case.case_id))
    doc = tomllib.loads(fr_config.read_text(encoding="utf-8"))
    doc["partners"] += [
        {"id": "INHOPE-ICCAM", "kind": "network", "transport": "iccam-api", "format": "iccam", "tlp_max": "red",
         "endpoint": f"https://127.0.0.1:{iccam_port}",
         "options": {"username": "fr-pdc", "password": "demo-iccam-secret", "ca_file": str(ca.cert),
                     "client_cert": str(client.cert), "client_key": str(client.key), "poll_interval_s": 0.2}},
        {"id": "US-NCMEC", "kind": "law_enforcement", "country": "US", "transport": "cybertip-api",
         "format": "cybertip", "tlp_max": "red", "receive_reporter": True,
         "endpoint": f"http://127.0.0.1:{tip_port}",
         "options": {"username": "fr-pdc", "password": "demo-cybertip-secret", "allow_insecure_http": True}},
    ]
    defaults = config_mod.default_routes()
    doc["routes"] = defaults[:2] + EXTRA_ROUTES + defaults[2:]
    fr_config.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return sims
