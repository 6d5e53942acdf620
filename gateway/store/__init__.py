"""Durable state behind one interface (``interface.Store``): SQLite for one node (the embedded default),
PostgreSQL for several nodes of one gateway."""

from __future__ import annotations

from hotline_gateway.config import Config
from hotline_gateway.store.interface import Store
from hotline_gateway.store.sqlite import SqliteStore


async def open_store(config: Config, *, recover: bool = True) -> Store:
    """The store the config names: ``[gateway] store`` (a PostgreSQL URL), else the SQLite file in its data
    folder. ``recover`` is for the gateway that runs the outbox (it takes the node's name and claims back
    what its previous run left); commands that only look on pass False."""
    if config.store_url is None:
        return await SqliteStore.open(config.db_path, recover=recover)
    from hotline_gateway.store.postgres import PostgresStore  # imported only by gateways that use it

    return await PostgresStore.open(config.store_url, gateway=config.id, node=config.node, recover=recover,
                                    claim_lease_s=config.delivery.claim_lease_s,
                                    leader_lease_s=config.leader_lease_s, vault=config.vault_url)


def store_label(config: Config) -> str:
    """Where the store is, for people: the SQLite file, or the PostgreSQL URL without its password."""
    if config.store_url is None:
        return str(config.db_path)
    from hotline_gateway.store.postgres import describe

    return f"{describe(config.store_url)} (node {config.node})"


def store_exists(config: Config) -> bool:
    """Whether a command that only reads has a store to read (a PostgreSQL store is assumed to exist)."""
    return config.store_url is not None or config.db_path.exists()


__all__ = ["Store", "open_store", "store_exists", "store_label"]
