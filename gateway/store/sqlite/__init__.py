"""The embedded default store (SQLite, one file, WAL, group commit)."""

from hotline_gateway.store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
