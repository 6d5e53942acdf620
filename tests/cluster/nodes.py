"""Several nodes of FR-PDC on one PostgreSQL database: their configs, and ``serve`` processes to run them."""

from __future__ import annotations

import asyncio
import copy
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import tomli_w

from hotline_gateway.sim.demo import TOKEN


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def node_configs(config: Path, store_url: str, names: tuple[str, ...] = ("fr-1", "fr-2"), *,
                 gateway: dict[str, Any] | None = None, delivery: dict[str, Any] | None = None) -> list[Path]:
    """One config per node beside ``config``: the same gateway id, keys, partners and store, each its own
    node name and port (the first keeps the original port, which partners were told); ``gateway`` and
    ``delivery`` settings are added to every node's."""
    doc = tomllib.loads(config.read_text(encoding="utf-8"))
    paths = []
    for i, name in enumerate(names):
        node = copy.deepcopy(doc)
        node["gateway"].update(store=store_url, node=name, port=node["gateway"]["port"] if i == 0 else free_port(),
                               **(gateway or {}))
        node["delivery"].update(delivery or {})
        path = config.with_name(f"{name}.toml")
        path.write_text(tomli_w.dumps(node), encoding="utf-8")
        paths.append(path)
    return paths


class Serve:
    """``hotline-gateway serve`` in a process of its own; its log (standard error) beside its config."""

    def __init__(self, config: Path) -> None:
        self.config = config
        doc = tomllib.loads(config.read_text(encoding="utf-8"))["gateway"]
        self.name = str(doc.get("node", doc["id"]))
        self.url = f"http://127.0.0.1:{doc['port']}"
        self.log = config.with_suffix(".log")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Serve:
        with self.log.open("ab") as sink:
            self.proc = subprocess.Popen([sys.executable, "-m", "hotline_gateway.cli.main", "serve", "--config",
                                          str(self.config)], stdout=subprocess.DEVNULL, stderr=sink,
                                         env={**os.environ, "PYTHONUNBUFFERED": "1"})
        return self

    async def ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise AssertionError(f"{self.name} exited {self.proc.returncode}: {self.tail()}")
                try:
                    async with http.get(f"{self.url}/readyz") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} not ready within {timeout} s: {self.tail()}")

    async def readiness(self) -> dict[str, Any] | None:
        """The node's /readyz answer, or None when it does not answer."""
        try:
            async with aiohttp.ClientSession() as http, http.get(f"{self.url}/readyz") as r:
                body: dict[str, Any] = orjson.loads(await r.read())
                return body
        except (aiohttp.ClientError, orjson.JSONDecodeError):
            return None

    def kill(self) -> None:
        """SIGKILL: no drain, no goodbye; the kernel closes its sockets."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


async def submit_anywhere(http: aiohttp.ClientSession, urls: list[str], first: int, body: bytes,
                          timeout: float = 120.0) -> str:
    """POST a batch of cases to the nodes in turn from ``urls[first]``, as a case system behind a load
    balancer would, until one accepts it (a node killed mid-request may or may not have stored it: the
    same cases again are idempotent); returns the URL that took it."""
    deadline = time.monotonic() + timeout
    attempt = 0
    while time.monotonic() < deadline:
        url = urls[(first + attempt) % len(urls)]
        attempt += 1
        try:
            async with http.post(f"{url}/v1/cases", data=body, headers={"Authorization": f"Bearer {TOKEN}",
                                                                        "Content-Type": "application/json"}) as r:
                await r.read()
                if r.status == 202:
                    return url
        except (TimeoutError, aiohttp.ClientError):
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("no node accepted the batch")
