"""CPU-heavy work off the event loop: decoding, validation (and explaining a refusal), encoding and
signing run in a small bounded thread pool, so one large or hostile document never stalls health
checks, receipts or other partners. The pool's queue is bounded too: past it, callers wait their turn
rather than piling up memory. Work on a small body stays on the loop (``run_sized``): there the
hand-off would cost more than the work (``core.deferral``)."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from hotline_gateway.core.deferral import INLINE_BYTES, Deferred, on_loop

P = ParamSpec("P")
T = TypeVar("T")


class CpuPool:
    def __init__(self, workers: int = 2, queue: int = 64) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cpu")
        self._slots = asyncio.Semaphore(workers + queue)

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        async with self._slots:
            ctx = contextvars.copy_context()
            call = functools.partial(ctx.run, fn, *args, **kwargs)
            return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def run_sized(self, size: int, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn`` on the loop when it works on ``size`` bytes or fewer, unless it defers (``core.deferral``);
        in the pool otherwise. ``fn`` must be pure: a deferred step is run again from the start."""
        if size <= INLINE_BYTES:
            try:
                with on_loop():
                    return fn(*args, **kwargs)
            except Deferred:
                pass
        return await self.run(fn, *args, **kwargs)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
