"""A cap on open connections: beyond it, a new connection is closed as it arrives.

Slow or idle clients are cut off by the server's header timeout (aiohttp closes a connection that has
not delivered a complete request within its keep-alive timeout, from the first byte on) and the body
timeout of ``read_body``; this cap bounds how many of them can be open while they wait to be cut off,
so file descriptors and memory stay bounded and health checks keep being answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web

from hotline_gateway.core.log import get_logger

log = get_logger("hotline_gateway.connections")


class ConnectionGate:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        self.refused = 0

    def admit(self) -> bool:
        if self.open >= self.limit:
            self.refused += 1
            if self.refused == 1 or self.refused % 1000 == 0:
                log.warning("connections.refused", open=self.open, limit=self.limit, refused=self.refused)
            return False
        self.open += 1
        return True

    def release(self) -> None:
        self.open -= 1


class _Guarded(asyncio.Protocol):
    """Forwards every protocol event to the server's handler, once the gate admitted the connection."""

    def __init__(self, inner: asyncio.Protocol, gate: ConnectionGate) -> None:
        self.inner = inner
        self.gate = gate
        self.admitted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self.gate.admit():
            assert isinstance(transport, asyncio.Transport)
            transport.abort()
            return
        self.admitted = True
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.admitted:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.admitted else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.admitted:
            self.admitted = False
            self.gate.release()
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.admitted:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.admitted:
            self.inner.resume_writing()


class CappedSite(web.TCPSite):
    """``TCPSite`` whose listening socket admits at most ``gate.limit`` connections at a time."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, gate: ConnectionGate) -> None:
        super().__init__(runner, host, port, reuse_address=True)
        self.gate = gate

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        factory: Callable[[], asyncio.Protocol] = lambda: _Guarded(server(), self.gate)  # noqa: E731
        self._server = await asyncio.get_running_loop().create_server(
            factory, self._host, self._port, backlog=self._backlog, reuse_address=True)

    @property
    def bound_port(self) -> int:
        server = self._server
        assert isinstance(server, asyncio.Server) and server.sockets
        return int(server.sockets[0].getsockname()[1])
