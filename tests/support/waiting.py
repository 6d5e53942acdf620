"""Waiting on conditions, never on fixed sleeps: poll a predicate until it holds or the timeout passes."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


async def eventually(check: Callable[[], Awaitable[bool] | bool], *, timeout: float = 20.0, interval: float = 0.02,
                     what: str = "condition") -> None:
    """``check`` may be a coroutine function or a plain one (a look at in-memory state)."""
    deadline = time.monotonic() + timeout
    while True:
        held = check()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout} s")
        await asyncio.sleep(interval)
