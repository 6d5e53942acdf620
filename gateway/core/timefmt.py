"""Timestamps as we write them everywhere: UTC, ``Z``, microseconds only when present."""

from __future__ import annotations

from datetime import UTC, datetime


def format_timestamp(value: datetime) -> str:
    """Canonical timestamp: UTC, ``Z``, microseconds only when present (a naive value is taken as UTC)."""
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value.replace(tzinfo=None).isoformat() + "Z"


def parse_timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def now_iso() -> str:
    return format_timestamp(datetime.now(UTC))


def iso_from_epoch(epoch: float) -> str:
    return format_timestamp(datetime.fromtimestamp(epoch, UTC))
