"""The store contract suite runs every behaviour against each implementation: SQLite (a file) and
PostgreSQL (a database of the test's own; skipped with a message when no server is to be had)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import pytest

from hotline_gateway.store.interface import Store
from hotline_gateway.store.postgres import PostgresStore
from hotline_gateway.store.sqlite import SqliteStore


class Opener:
    """Opens stores of one implementation on one database (several, for PostgreSQL's nodes), and reaches
    past them with raw SQL, as someone with write access to the database (not the key) could."""

    def __init__(self, path: Path, url: str | None) -> None:
        self.path, self.url = path, url
        self.opened: list[Store] = []

    async def __call__(self, node: str = "n1", **kwargs: Any) -> Store:
        store: Store
        if self.url is None:
            store = await SqliteStore.open(self.path)
        else:
            store = await PostgresStore.open(self.url, gateway="FR-PDC", node=node, **kwargs)
        self.opened.append(store)
        return store

    def raw(self, sql: str, *args: Any) -> None:
        """One statement outside the store (``?`` placeholders), committed."""
        if self.url is None:
            with closing(sqlite3.connect(self.path)) as conn:
                conn.execute(sql, args)
                conn.commit()
        else:
            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute(sql.replace("?", "%s"), args)


@pytest.fixture(params=["sqlite", "postgresql"])
async def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    opener = Opener(tmp_path / "store.sqlite3", url)
    yield opener
    for store in opener.opened:
        await store.close()


@pytest.fixture
async def store(open_store: Opener) -> Store:
    return await open_store()
