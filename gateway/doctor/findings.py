"""What a check found: ``fix`` must be fixed before the gateway can be trusted, ``warn`` deserves a look."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"
    FIX = "fix"


@dataclass(frozen=True, slots=True)
class Finding:
    level: Level
    check: str  # files | keys | partners | routing
    subject: str
    message: str
    fix: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ok(check: str, subject: str, message: str) -> Finding:
    return Finding(Level.OK, check, subject, message)


def warn(check: str, subject: str, message: str, fix: str | None = None) -> Finding:
    return Finding(Level.WARN, check, subject, message, fix)


def must_fix(check: str, subject: str, message: str, fix: str | None = None) -> Finding:
    return Finding(Level.FIX, check, subject, message, fix)
