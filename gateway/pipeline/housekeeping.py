"""Housekeeping: periodic jobs of a running gateway — forgetting nonces that left the replay window (so
the table never grows without bound) and applying the retention policy (reporter data erased, cases
purged when their time is up). One node of a gateway runs them (``leading``)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from hotline_gateway.config import Config
from hotline_gateway.core.log import get_logger
from hotline_gateway.pipeline import retention
from hotline_gateway.store.interface import Store

log = get_logger("hotline_gateway.housekeeping")


class Housekeeping:
    def __init__(self, config: Config, store: Store, leading: Callable[[], bool] = lambda: True) -> None:
        self.config = config
        self.store = store
        self.leading = leading
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="housekeeping")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_once(self) -> None:
        pruned = await self.store.prune_nonces(int(time.time()) - 2 * self.config.clock_skew_s)
        if pruned:
            log.info("nonces.pruned", count=pruned)

    async def _loop(self) -> None:
        step = min(float(self.config.clock_skew_s), self.config.retention.interval_s)
        since_nonces = since_retention = 0.0
        while True:
            await asyncio.sleep(step)
            since_nonces += step
            since_retention += step
            if not self.leading():
                continue
            try:
                if since_nonces >= self.config.clock_skew_s:
                    since_nonces = 0.0
                    await self.run_once()
                if since_retention >= self.config.retention.interval_s:
                    since_retention = 0.0
                    await retention.apply(self.store, self.config.retention)
            except Exception:
                log.exception("housekeeping.failed")
