"""Durable state behind one interface (``interface.Store``); SQLite is the embedded default."""

from __future__ import annotations

from pathlib import Path

from hotline_gateway.store.interface import Store
from hotline_gateway.store.sqlite import SqliteStore


async def open_store(db_path: Path, *, recover: bool = True) -> Store:
    """The store a gateway's config names (today the SQLite file in its data folder)."""
    return await SqliteStore.open(db_path, recover=recover)


__all__ = ["Store", "open_store"]
