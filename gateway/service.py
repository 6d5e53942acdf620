"""Running a gateway: bind, serve until SIGTERM or SIGINT, then drain and exit without losing anything.

On a signal the listening socket closes first (no new requests), requests in progress finish,
then the cleanup contexts drain the delivery worker and close the store. Whatever was claimed but
not receipted is re-sent after the next start, under the same message id.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from aiohttp import web

from hotline_gateway.app import make_app
from hotline_gateway.config import Config
from hotline_gateway.core.log import get_logger

log = get_logger("hotline_gateway.service")


class RunningGateway:
    """A gateway started on the current event loop (the CLI's ``serve``, the demo, and tests use it)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.app = make_app(config)
        self.runner = web.AppRunner(self.app, handle_signals=False, shutdown_timeout=config.shutdown_timeout_s)
        self.port = config.port

    async def start(self) -> RunningGateway:
        """Open everything and listen; if any step fails (key unreadable, port taken) what was opened is
        closed again before the error propagates, so the store's writer is never left running."""
        try:
            await self.runner.setup()
            site = web.TCPSite(self.runner, self.config.host, self.config.port, reuse_address=True)
            await site.start()
        except BaseException:
            await self.runner.cleanup()
            raise
        server = getattr(site, "_server", None)
        if server is not None and server.sockets:
            self.port = int(server.sockets[0].getsockname()[1])
        log.info("hotline_gateway.started", gateway=self.config.id, host=self.config.host, port=self.port)
        return self

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    async def stop(self) -> None:
        await self.runner.cleanup()
        log.info("hotline_gateway.stopped", gateway=self.config.id)


async def serve(config: Config, *, on_ready: Callable[[RunningGateway], None] | None = None) -> None:
    gateway = await RunningGateway(config).start()
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
