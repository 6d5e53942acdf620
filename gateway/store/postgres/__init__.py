"""The store for several nodes of one gateway: PostgreSQL (psycopg 3, a connection pool per node)."""

from hotline_gateway.store.postgres.base import describe
from hotline_gateway.store.postgres.store import PostgresStore

__all__ = ["PostgresStore", "describe"]
