"""The store contract suite runs every behaviour against each implementation: SQLite (a file) and
PostgreSQL (a database of the test's own; skipped with a message when no server is to be had)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from hotline_gateway.store.interface import Store
from hotline_gateway.store.postgres import PostgresStore
from hotline_gateway.store.sqlite import SqliteStore

Opener = Callable[..., Awaitable[Store]]


@pytest.fixture(params=["sqlite", "postgresql"])
async def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens stores of one implementation on one database (several, for PostgreSQL's nodes); all closed after."""
    opened: list[Store] = []
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None

    async def opener(node: str = "n1", **kwargs: float) -> Store:
        store: Store
        if url is None:
            store = await SqliteStore.open(tmp_path / "store.sqlite3")
        else:
            store = await PostgresStore.open(url, gateway="FR-PDC", node=node, **kwargs)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield opener
    for store in opened:
        await store.close()


@pytest.fixture
async def store(open_store: Opener) -> Store:
    return await open_store()
