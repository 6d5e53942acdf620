"""How much to keep in flight to one partner: a congestion window in batches, grown while the partner
keeps up and halved when it says it cannot (TCP's additive increase, multiplicative decrease).

A partner that answers a full batch about as fast as its best round trip gets one more batch in flight
per window's worth of answers; a 429, a 503 or a timeout halves the window. So a fast partner is kept
busy without tuning, and a slow or overloaded one is not buried. The window starts at
``delivery.concurrency`` and never exceeds ``delivery.max_concurrency``.

A part-filled batch means the lanes in flight already carry everything due: the window then shrinks by
the same step, down to one batch, so that at a trickle the cases that arrive while a batch is out ride
together in the next one instead of one request each (at 200 single-case submissions a second, a case
a request cost each gateway a claim, a signed request, a receipt and a commit per case). Full batches
bring it back a whole batch per answer up to where it started (TCP's slow start), then additively.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass(slots=True)
class Flow:
    window: float
    ceiling: int
    floor: int = 1
    #: the configured concurrency: below it, each full answer adds a whole batch
    start: float = 4.0
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
        if not full:
            # the lanes in flight carry all there is: one batch fewer per window's worth of such answers
            self.window = max(float(self.floor), self.window - 1 / max(self.window, 1.0))
        elif rtt <= 2 * self.best_rtt + 0.05:
            # back to where it started in a batch per full answer (slow start), then the additive step
            step = 1.0 if self.window < self.start else 1 / max(self.window, 1.0)
            self.window = min(float(self.ceiling), self.window + step)

    def congested(self) -> None:
        self.window = max(float(self.floor), self.window / 2)
