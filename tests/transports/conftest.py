"""Simulators on loopback and configs that point a partner at them, for the transport tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from aiohttp import web

from hotline_gateway import config as config_mod
from hotline_gateway.pipeline.sign import payload_digest
from hotline_gateway.sim.cybertip import CybertipSim
from hotline_gateway.sim.iccam import IccamSim
from hotline_gateway.sim.tls import TestCA
from hotline_gateway.store.records import Delivery


async def serve(app: web.Application, **kwargs: Any) -> tuple[web.AppRunner, int]:
    """Run ``app`` on 127.0.0.1 with a free port; kwargs go to the TCP site (e.g. ``ssl_context``)."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, **kwargs)
    await site.start()
    port: int = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, port


def partner_config(tmp_path: Path, partner: dict[str, Any], *, timeout_s: float) -> config_mod.Config:
    """A one-partner gateway config written to ``tmp_path`` and loaded as an operator's would be."""
    doc = {"gateway": {"id": "FR-PDC", "country": "FR", "keys_dir": str(tmp_path / "keys"),
                       "data_dir": str(tmp_path / "data")},
           "delivery": {"timeout_s": timeout_s}, "partners": [partner]}
    (tmp_path / "config.toml").write_text(tomli_w.dumps(doc), encoding="utf-8")
    return config_mod.load(tmp_path / "config.toml")


def make_delivery(body: bytes, *, partner: str, fmt: str, transport: str, case_id: str | None = None) -> Delivery:
    now = time.time()
    return Delivery(message_id=str(uuid.uuid4()), case_id=case_id or str(uuid.uuid4()), partner=partner, format=fmt,
                    transport=transport, message_type="case.notify", payload=body,
                    payload_sha256=payload_digest(body), signature="", created_at=now, next_attempt_at=now,
                    deadline_at=now + 60)


@dataclass
class IccamNet:
    sim: IccamSim
    endpoint: str
    options: dict[str, Any]


@pytest.fixture
async def iccam_net(tmp_path: Path) -> AsyncIterator[IccamNet]:
    """The ICCAM-style simulator behind mutual TLS, with a client certificate from its test CA."""
    ca = TestCA(tmp_path / "pki")
    server = ca.issue("iccam.test", server=True)
    client = ca.issue("FR-PDC", server=False)
    sim = IccamSim("fr-pdc", "s3cret")
    runner, port = await serve(sim.app(), ssl_context=ca.server_context(server))
    options = {"username": "fr-pdc", "password": "s3cret", "ca_file": str(ca.cert),
               "client_cert": str(client.cert), "client_key": str(client.key)}
    yield IccamNet(sim, f"https://127.0.0.1:{port}", options)
    await runner.cleanup()


@dataclass
class TipApi:
    sim: CybertipSim
    endpoint: str


@pytest.fixture
async def tip_api() -> AsyncIterator[TipApi]:
    """The CyberTipline-style simulator over plain HTTP on loopback."""
    sim = CybertipSim("fr-pdc", "s3cret")
    runner, port = await serve(sim.app())
    yield TipApi(sim, f"http://127.0.0.1:{port}")
    await runner.cleanup()
