"""How a partner's idle delivery lanes are woken: one per ring, not all of them.

An ``asyncio.Event`` woke every idle lane on each intake, and each of them ran a claim (a read on the
store's one reader) and, finding nothing, a ``next_due`` read before sleeping again: at 200 single-case
submissions a second, a few dozen reads per case queued on that reader, which is where the latency went.
Now a ring wakes one waiting lane; a lane whose claim came back full rings again, so more lanes join only
while there is more work than one batch. A ring while no lane waits is kept for the next one that does, so
no wake-up is lost between a lane's empty claim and its going to sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque


class Doorbell:
    def __init__(self) -> None:
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._rung = False

    def ring(self) -> None:
        """Wake one waiting lane, or the next lane to wait when none is."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._rung = True

    def ring_all(self) -> None:
        """Wake every waiting lane (shutdown)."""
        self._rung = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    @property
    def rung(self) -> bool:
        """A ring is waiting for the next lane to wait (so that lane need not look for when work is due)."""
        return self._rung

    def clear(self) -> None:
        """Forget a ring no lane has taken yet: called by a lane about to claim, which will see that work."""
        self._rung = False

    async def wait(self, timeout: float) -> None:
        """Until this lane is rung for, or ``timeout`` seconds have passed."""
        if self._rung:
            self._rung = False
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, timeout)
        finally:
            if not waiter.done():
                waiter.cancel()
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
