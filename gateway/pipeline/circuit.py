"""A per-partner circuit breaker: after ``threshold`` failures in a row nobody calls the partner until
``reset_s`` has passed; then one probe decides whether the circuit closes again."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum


class Circuit(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(slots=True)
class CircuitBreaker:
    threshold: int
    reset_s: float
    failures: int = 0
    opened_at: float = 0.0
    probing: bool = False

    @property
    def state(self) -> Circuit:
        if self.failures < self.threshold:
            return Circuit.CLOSED
        return Circuit.HALF_OPEN if time.monotonic() - self.opened_at >= self.reset_s else Circuit.OPEN

    def allow(self) -> bool:
        state = self.state
        if state is Circuit.CLOSED:
            return True
        if state is Circuit.HALF_OPEN and not self.probing:
            self.probing = True
            return True
        return False

    def wait_s(self) -> float:
        return max(0.0, self.reset_s - (time.monotonic() - self.opened_at))

    def success(self) -> None:
        self.failures, self.probing = 0, False

    def failure(self) -> None:
        self.failures += 1
        self.probing = False
        if self.failures >= self.threshold:
            self.opened_at = time.monotonic()
