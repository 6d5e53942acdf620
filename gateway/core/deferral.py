"""Small CPU work runs where it arrives; what turns out costly leaves the event loop.

A hand-off to a worker thread and back costs more CPU than checking a one-case submission (on two cores
under load the loop and the worker contend for the GIL: 2.8 ms of CPU per single-case intake request
through the pool, 2.2 ms on the loop), so the pipeline runs work on a small body inline. Explaining a
refusal in full is pure-Python schema work that can take tens of milliseconds, though: code about to do
something that costly calls ``defer_if_on_loop`` first, which raises ``Deferred`` when the work is running
inline, and the caller runs the whole step again in the worker pool (inline steps are pure, so a second
run is the same as the first)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

_ON_LOOP: ContextVar[bool] = ContextVar("on_loop", default=False)

#: work on a body up to this size is done where it arrives, on the event loop (a few cases, messages or
#: receipts: at most a few milliseconds, less CPU than the hand-off to a thread and back); larger bodies,
#: and any step that defers, go to a worker
INLINE_BYTES = 8 * 1024


class Deferred(BaseException):
    """The step turned out too costly for the event loop: run it again in the worker pool. A
    ``BaseException``, so that no ``except Exception`` in the step mistakes it for a refusal."""


@contextlib.contextmanager
def on_loop() -> Iterator[None]:
    """Mark the work inside as running on the event loop."""
    token = _ON_LOOP.set(True)
    try:
        yield
    finally:
        _ON_LOOP.reset(token)


def defer_if_on_loop() -> None:
    """Raise ``Deferred`` when called from work running on the event loop."""
    if _ON_LOOP.get():
        raise Deferred
