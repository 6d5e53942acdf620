"""Log levels in tests: a logger's level is fixed when it is first used (``core/log.py``), so a test that
needs info events must forget what earlier tests in the same worker cached (the in-process CLI logs at
warning). Test order differs between runs and xdist workers; this makes such a test independent of it."""

from __future__ import annotations

import gc

from structlog._config import BoundLoggerLazyProxy


def forget_cached_loggers() -> None:
    """Drop every lazy logger's cached assembly; the next event assembles it again under the current config."""
    for obj in gc.get_objects():
        if isinstance(obj, BoundLoggerLazyProxy):
            obj.__dict__.pop("bind", None)
