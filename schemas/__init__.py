"""Schemas shipped with hotline-gateway: the canonical case schema and one folder per wire format."""

from __future__ import annotations

from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parent


def path(name: str) -> Path:
    """Absolute path of a schema file, e.g. ``path("case.schema.json")`` or ``path("iccam/report.schema.json")``."""
    return SCHEMA_DIR / name
