"""structlog, configured once: JSON lines when output is not a terminal, readable lines when it is.

Events carry identifiers (message id, case id, partner, outcome, duration), never payload contents
or reporter data: ``redact`` drops any key that could hold them, whatever a caller passes.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

#: keys that may hold payloads or personal data; they never reach a log line
FORBIDDEN_KEYS = frozenset({"payload", "body", "case", "reporter", "email", "name", "phone", "explanation", "document"})

_configured = False


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time, so redirection (tests, daemons) is honoured."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in FORBIDDEN_KEYS.intersection(event):
        event[key] = "[redacted]"
    return event


def configure(*, level: str = "info", json: bool | None = None, stream: Any = None) -> None:
    """Set up structlog for the process; safe to call more than once (last call wins)."""
    global _configured
    stream = stream or _CurrentStderr()
    as_json = (not stream.isatty()) if json is None else json
    renderer: Any = structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            structlog.processors.format_exc_info,  # exceptions logged with their traceback, as text
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    _configured = True


def get_logger(name: str) -> Any:
    if not _configured:
        configure()
    return structlog.get_logger(name)
