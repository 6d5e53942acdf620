"""How much to keep in flight to one partner: a congestion window in batches, grown while the partner
keeps up and halved when it says it cannot (TCP's additive increase, multiplicative decrease).

A partner that answers a full batch about as fast as its best round trip gets one more batch in flight
per window's worth of answers; a 429, a 503 or a timeout halves the window. So a fast partner is kept
busy without tuning, and a slow or overloaded one is not buried. The window starts at
``delivery.concurrency`` and never exceeds ``delivery.max_concurrency``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass(slots=True)
class Flow:
    window: float
    ceiling: int
    floor: int = 1
    in_flight: int = 0
    best_rtt: float = float("inf")
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def limit(self) -> int:
        return max(self.floor, min(self.ceiling, int(self.window)))

    async def acquire(self) -> None:
        """Wait for room in the window, then take a slot."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1

    async def release(self) -> None:
        async with self._changed:
            self.in_flight -= 1
            self._changed.notify_all()

    def answered(self, rtt: float, *, full: bool) -> None:
        """A batch was answered in ``rtt`` seconds; ``full`` when it carried as much as a batch may."""
        self.best_rtt = min(self.best_rtt, rtt)
        if full and rtt <= 2 * self.best_rtt + 0.05:
            self.window = min(float(self.ceiling), self.window + 1 / max(self.window, 1.0))

    def congested(self) -> None:
        self.window = max(float(self.floor), self.window / 2)
