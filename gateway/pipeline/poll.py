"""Receive by polling: partners that do not push (the ICCAM-style network) are asked for their work
queue; what comes back goes through the same decode → validate → accept as a pushed message, and is
acknowledged only once it is durably stored. Only the leading node polls (``leading``): two nodes
fetching one queue at once would both take every report in it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from hotline_gateway.adapters import registry
from hotline_gateway.config import Config, Partner
from hotline_gateway.core.errors import DeliveryError
from hotline_gateway.core.log import get_logger
from hotline_gateway.core.schema import validate_case
from hotline_gateway.pipeline.accept import Acceptor
from hotline_gateway.pipeline.authorise import bind_to_sender
from hotline_gateway.transports.base import settings
from hotline_gateway.transports.iccam_api import IccamApiTransport, IccamSettings

log = get_logger("hotline_gateway.poll")


class WorkQueuePoller:
    def __init__(self, config: Config, acceptor: Acceptor, transport: IccamApiTransport,
                 leading: Callable[[], bool] = lambda: True) -> None:
        self.config, self.acceptor, self.transport, self.leading = config, acceptor, transport, leading
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for partner in self.config.partners.values():
            if partner.transport == "iccam-api" and settings(partner, IccamSettings).poll:
                self._tasks.append(asyncio.create_task(self._loop(partner), name=f"poll-{partner.id}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _accept(self, partner: Partner, data: bytes) -> None:
        cases = registry.get(partner.format).decode(data)
        for case in cases:
            validate_case(case)
        bind_to_sender(cases, partner.id, self.config.id)
        intake = self.acceptor.build(cases, partner.id)
        intake.keep_first = True  # the same report offered again is the same report
        await self.acceptor.accept(intake)

    async def _loop(self, partner: Partner) -> None:
        opts = settings(partner, IccamSettings)
        interval, country = opts.poll_interval_s, opts.poll_country or self.config.country
        while True:
            if not self.leading():
                await asyncio.sleep(min(interval, 1.0))
                continue
            try:
                taken = await self.transport.poll(partner, country, lambda data: self._accept(partner, data))
                if taken:
                    log.info("poll.received", partner=partner.id, country=country, reports=taken)
            except DeliveryError as exc:
                log.warning("poll.failed", partner=partner.id, error=exc.code, detail=exc.message)
            except Exception:
                log.exception("poll.crashed", partner=partner.id)
            await asyncio.sleep(interval)
