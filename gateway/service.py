"""Running a gateway: bind, serve until SIGTERM or SIGINT, then drain and exit without losing anything.

On a signal the listening socket closes first (no new requests), requests in progress finish,
then the cleanup contexts drain the delivery worker and close the store. Whatever was claimed but
not receipted is re-sent after the next start, under the same message id.

Files: the gateway writes reporter data, keys and evidence, so it runs with umask 077 (every file it
or SQLite creates is owner-only) and refuses to start on a store folder or file that others can read.
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import signal
from collections.abc import Callable

from aiohttp import web

from hotline_gateway.api.connection_cap import CappedSite, ConnectionGate
from hotline_gateway.api.state import SERVICES, WARMED
from hotline_gateway.app import make_app
from hotline_gateway.config import Config
from hotline_gateway.core.errors import InsecureFile
from hotline_gateway.core.files import readable_by_others
from hotline_gateway.core.log import get_logger
from hotline_gateway.metrics import LoopLagMonitor

log = get_logger("hotline_gateway.service")


def raise_file_limit(connections: int) -> None:
    """Room for the connection cap plus the store, keys and outgoing connections, as far as the hard
    limit allows: past the soft limit, accepting fails with EMFILE instead of the cap refusing cleanly."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + 256
    if soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < wanted:
            log.warning("file_limit.low", limit=target, max_connections=connections)


def check_store_permissions(config: Config) -> None:
    """Refuse a store others can read (it holds reporters' contact data), as keys are refused."""
    for path in (config.data_dir, *sorted(config.data_dir.glob("*.sqlite3*"))):
        if path.exists() and readable_by_others(path):
            kind = "folder" if path.is_dir() else "file"
            fix = "chmod 700" if path.is_dir() else "chmod 600"
            raise InsecureFile(f"{path}: store {kind} is accessible to other users; refusing to start "
                               f"(run: {fix} {path})")


class RunningGateway:
    """A gateway started on the current event loop (the CLI's ``serve``, the demo, and tests use it)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.app = make_app(config)
        self.gate = ConnectionGate(config.limits.max_connections)
        self.runner = web.AppRunner(self.app, handle_signals=False, shutdown_timeout=config.shutdown_timeout_s,
                                    keepalive_timeout=config.limits.header_timeout_s)
        self.port = config.port
        self._loop_lag: LoopLagMonitor | None = None

    async def start(self) -> RunningGateway:
        """Open everything and listen; if any step fails (store readable by others, key unreadable, port
        taken) what was opened is closed again before the error propagates, so the store's writer is never
        left running."""
        os.umask(0o077)
        check_store_permissions(self.config)
        raise_file_limit(self.config.limits.max_connections)
        try:
            await self.runner.setup()
            site = CappedSite(self.runner, self.config.host, self.config.port, self.gate)
            await site.start()
        except BaseException:
            await self.runner.cleanup()
            raise
        self.port = site.bound_port
        verifier = self.app[SERVICES].verifier
        if self.config.port == 0 and "public_url" not in self.config.raw.get("gateway", {}):
            verifier.public_url = self.url  # partners were told the bound port, not 0
        self._loop_lag = LoopLagMonitor(self.app[SERVICES].metrics.loop_lag).start()
        log.info("gateway.started", gateway=self.config.id, host=self.config.host, port=self.port)
        return self

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    async def stop(self) -> None:
        if self._loop_lag is not None:
            await self._loop_lag.stop()
        await self.runner.cleanup()
        log.info("gateway.stopped", gateway=self.config.id)


def freeze_startup_heap() -> None:
    """Move everything alive after start-up (modules, schemas, keys, routes) out of the GC's reach.

    The cyclic collector's full (generation 2) passes walk every tracked object; on a loaded gateway
    those passes stopped the loop for ~75 ms each (issue 11), and almost all of that heap is start-up
    state that lives as long as the process. Frozen objects are never scanned again. Only ``serve``
    does this: a process that starts and stops many gateways (tests, the demo) would pin their garbage.
    """
    gc.collect()
    gc.freeze()


async def serve(config: Config, *, on_ready: Callable[[RunningGateway], None] | None = None) -> None:
    gateway = await RunningGateway(config).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        # The explaining validator (jsonschema, with the grammars of its format checkers: ~60,000 objects)
        # is imported in the background at start; frozen before it had arrived, it stayed in the young heap
        # and every full collection walked it: 70-150 ms a pass under load, the loop's worst lag (issue 11).
        await gateway.app[WARMED]
        freeze_startup_heap()
        if on_ready is not None:
            on_ready(gateway)
        await stop.wait()
        log.info("gateway.draining", gateway=config.id)
    finally:
        await gateway.stop()
