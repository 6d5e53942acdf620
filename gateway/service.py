"""Running a gateway: bind, serve until SIGTERM or SIGINT, then drain and exit without losing anything.

On a signal the listening socket closes first (no new requests), requests in progress finish,
then the cleanup contexts drain the delivery worker and close the store. Whatever was claimed but
not receipted is re-sent after the next start, under the same message id.
"""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Callable

from aiohttp import web

from hotline_gateway.api.state import SERVICES
from hotline_gateway.app import make_app
from hotline_gateway.config import Config
from hotline_gateway.core.log import get_logger
from hotline_gateway.metrics import LoopLagMonitor

log = get_logger("hotline_gateway.service")


class RunningGateway:
    """A gateway started on the current event loop (the CLI's ``serve``, the demo, and tests use it)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.app = make_app(config)
        self.runner = web.AppRunner(self.app, handle_signals=False, shutdown_timeout=config.shutdown_timeout_s)
        self.port = config.port
        self._loop_lag: LoopLagMonitor | None = None

    async def start(self) -> RunningGateway:
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.config.host, self.config.port, reuse_address=True)
        await site.start()
        server = getattr(site, "_server", None)
        if server is not None and server.sockets:
            self.port = int(server.sockets[0].getsockname()[1])
        self._loop_lag = LoopLagMonitor(self.app[SERVICES].metrics.loop_lag).start()
        log.info("hotline_gateway.started", gateway=self.config.id, host=self.config.host, port=self.port)
        return self

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    async def stop(self) -> None:
        if self._loop_lag is not None:
            await self._loop_lag.stop()
        await self.runner.cleanup()
        log.info("hotline_gateway.stopped", gateway=self.config.id)


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
    freeze_startup_heap()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if on_ready is not None:
        on_ready(gateway)
    try:
        await stop.wait()
        log.info("hotline_gateway.draining", gateway=config.id)
    finally:
        await gateway.stop()
