"""Leadership: which node of a gateway runs the singletons — the work-queue poller (a report fetched by
two nodes at once would be taken twice), the checkpoint signer, housekeeping.

The store decides (``Store.hold_leadership``: an advisory lock on PostgreSQL, always this node on
SQLite); this component asks it every third of the lease, so the leader renews well within its lease
and a follower notices a vacancy soon after the leader's session ends. The singletons look at
``leading`` before each round of work instead of being started and stopped: a node that loses the lead
simply stops acting at its next round, and one that gains it starts at its next round.
"""

from __future__ import annotations

import asyncio
import contextlib

from hotline_gateway.core.log import get_logger
from hotline_gateway.store.interface import Store

log = get_logger("hotline_gateway.leadership")


class Leadership:
    def __init__(self, store: Store, lease_s: float, node: str) -> None:
        self.store, self.lease_s, self.node = store, lease_s, node
        self._leading = False
        self._task: asyncio.Task[None] | None = None

    @property
    def leading(self) -> bool:
        return self._leading

    async def start(self) -> None:
        """Ask once before returning (a single node leads from its first moment), then keep asking."""
        await self._ask()
        self._task = asyncio.create_task(self._loop(), name="leadership")

    async def stop(self) -> None:
        """Stop asking and hand the lead over at once (another node need not wait for the lease)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._leading:
            self._leading = False
            await self.store.release_leadership()

    async def _ask(self) -> None:
        try:
            leading = await self.store.hold_leadership()
        except Exception:
            log.exception("leadership.check_failed", node=self.node)
            leading = False
        if leading != self._leading:
            log.info("leadership.changed", node=self.node, leading=leading)
        self._leading = leading

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            await self._ask()
