"""structlog, configured once: JSON lines when output is not a terminal, readable lines when it is.

Events carry identifiers (message id, case id, partner, outcome, duration), never payload contents
or reporter data: ``redact`` drops any key that could hold them, whatever a caller passes.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO, cast

import structlog

#: keys that may hold payloads or personal data; they never reach a log line
FORBIDDEN_KEYS = frozenset({"payload", "body", "case", "reporter", "email", "name", "phone", "explanation", "document"})

_configured = False


class _Sink:
    """Where log lines go: a stream given to ``configure``, or whatever ``sys.stderr`` is at the time.

    Loggers are cached on first use (structlog's ``cache_logger_on_first_use``: no proxy and no
    re-binding per event), so a cached logger keeps the file it was made with. That file is this one
    sink, which ``configure`` re-points, so redirection (tests, daemons) still reaches every logger.
    """

    target: Any = None

    def _stream(self) -> Any:
        return self.target if self.target is not None else sys.stderr

    def write(self, text: str) -> int:
        return int(self._stream().write(text))

    def flush(self) -> None:
        self._stream().flush()

    def isatty(self) -> bool:
        return bool(self._stream().isatty())


_SINK = _Sink()
#: one list, updated in place by ``configure``: cached loggers hold this very list, so they see a new renderer
_PROCESSORS: list[Any] = []


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in FORBIDDEN_KEYS.intersection(event):
        event[key] = "[redacted]"
    return event


def configure(*, level: str = "info", json: bool | None = None, stream: Any = None) -> None:
    """Set up structlog for the process; safe to call more than once (last call wins).

    The renderer and the stream change for every logger, cached or not. The level is part of a
    logger's class and is fixed when that logger is first used: set it before logging starts (the
    CLI does, from ``--log-level``).
    """
    global _configured
    _SINK.target = stream
    as_json = (not _SINK.isatty()) if json is None else json
    renderer: Any = structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=False)
    _PROCESSORS[:] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
        structlog.processors.format_exc_info,  # exceptions logged with their traceback, as text
        renderer,
    ]
    structlog.configure(
        processors=_PROCESSORS,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=cast(TextIO, _SINK)),  # write and flush are all it uses
        cache_logger_on_first_use=True,
    )
    _configured = True


def get_logger(name: str) -> Any:
    if not _configured:
        configure()
    return structlog.get_logger(name)
