"""Versioned schema of the PostgreSQL store: one script per version, applied in order, each in its own
transaction (PostgreSQL's DDL is transactional), under an advisory lock so nodes starting together
migrate once. ``schema_migrations`` records what was applied and when. A node older than the schema
refuses to run on it rather than write what it does not understand.

The tables are the SQLite store's (same names, same meaning), with what several nodes need:
deliveries carry ``claimed_by`` and ``lease_until``, and a ``row_id`` gives insertion order. Text that
is ordered (timestamps, message ids in the outbox's paging) is compared byte-wise (``COLLATE "C"``), as
SQLite does, whatever the database's collation.
"""

from __future__ import annotations

from typing import Any

import psycopg

from hotline_gateway.core.errors import StoreError
from hotline_gateway.store.postgres import locks

MIGRATIONS: list[str] = [
    # 1: everything the SQLite store has at its version 7, plus claims with leases.
    """
    CREATE TABLE meta (
        key text PRIMARY KEY,
        value text NOT NULL
    );
    CREATE TABLE inbound (
        sender text NOT NULL,
        message_id text NOT NULL,
        kid text,
        received_at text NOT NULL,
        payload_sha256 text NOT NULL,
        receipt text NOT NULL,
        PRIMARY KEY (sender, message_id)
    );
    CREATE TABLE cases (
        case_id text PRIMARY KEY,
        origin text NOT NULL,
        message_id text,
        received_at text COLLATE "C" NOT NULL,
        category text NOT NULL,
        doc bytea NOT NULL,
        routing bytea NOT NULL,
        stored_at double precision NOT NULL,
        updated_at double precision,
        submitted_sha256 text
    );
    CREATE INDEX cases_received ON cases (received_at);
    CREATE TABLE payloads (
        message_id text PRIMARY KEY,
        payload bytea NOT NULL,
        signature text NOT NULL
    );
    CREATE TABLE deliveries (
        message_id text COLLATE "C" PRIMARY KEY,
        row_id bigint GENERATED ALWAYS AS IDENTITY,
        case_id text NOT NULL REFERENCES cases (case_id),
        partner text NOT NULL,
        format text NOT NULL,
        transport text NOT NULL,
        message_type text NOT NULL,
        payload_sha256 text NOT NULL,
        state text NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        created_at double precision NOT NULL,
        next_attempt_at double precision NOT NULL,
        deadline_at double precision NOT NULL,
        last_error text,
        receipt text,
        delivered_at double precision,
        item_ids text NOT NULL DEFAULT '[]',
        claimed_by text,
        lease_until double precision
    );
    CREATE INDEX deliveries_due ON deliveries (partner, next_attempt_at) WHERE state = 'queued';
    CREATE INDEX deliveries_leased ON deliveries (partner, lease_until) WHERE state = 'in_flight';
    CREATE INDEX deliveries_case ON deliveries (case_id);
    CREATE INDEX deliveries_outbox ON deliveries (partner, created_at, message_id);
    CREATE INDEX deliveries_state ON deliveries (state, partner);
    CREATE INDEX deliveries_errors ON deliveries (partner, row_id) WHERE last_error IS NOT NULL;
    CREATE TABLE audit (
        seq bigint PRIMARY KEY,
        at text NOT NULL,
        kind text NOT NULL,
        message_id text,
        case_id text,
        partner text,
        payload_sha256 text,
        signatures text NOT NULL,
        detail text,
        doc_sha256 text,
        prev_hash text NOT NULL,
        hash text NOT NULL
    );
    CREATE INDEX audit_case ON audit (case_id) WHERE case_id IS NOT NULL;
    CREATE INDEX audit_message ON audit (message_id) WHERE message_id IS NOT NULL;
    CREATE TABLE nonces (
        kid text NOT NULL,
        nonce text NOT NULL,
        created bigint NOT NULL,
        PRIMARY KEY (kid, nonce)
    );
    CREATE INDEX nonces_created ON nonces (created);
    CREATE TABLE partner_state (
        partner text PRIMARY KEY,
        circuit text NOT NULL,
        failures integer NOT NULL,
        changed_at double precision NOT NULL
    );
    CREATE TABLE transport_state (
        message_id text PRIMARY KEY,
        state text NOT NULL,
        updated_at double precision NOT NULL
    );
    CREATE TABLE checkpoints (
        seq bigint PRIMARY KEY,
        head text NOT NULL,
        at text NOT NULL,
        jws text NOT NULL
    );
    CREATE TABLE witnessed (
        gateway text NOT NULL,
        seq bigint NOT NULL,
        head text NOT NULL,
        at text NOT NULL,
        jws text NOT NULL,
        received_at double precision NOT NULL,
        PRIMARY KEY (gateway, seq)
    );
    CREATE TABLE sessions (
        id_sha256 text PRIMARY KEY,
        csrf text NOT NULL,
        created_at double precision NOT NULL,
        expires_at double precision NOT NULL
    );
    """,
    # 2: reporter data sealed per case (the keys live in the vault, ``vault.py``): the sealed reporter, an
    # index to find a reporter's cases by a keyed digest of the address, sealed payloads (those that carry
    # reporter data), and when a case closed and when its reporter data was erased.
    """
    CREATE TABLE reporter_data (
        case_id text PRIMARY KEY REFERENCES cases (case_id),
        kind text NOT NULL,
        sealed bytea,
        sealed_at double precision NOT NULL,
        erased_at double precision
    );
    CREATE TABLE reporter_index (
        token text NOT NULL,
        case_id text NOT NULL,
        PRIMARY KEY (token, case_id)
    );
    CREATE INDEX reporter_index_case ON reporter_index (case_id);
    ALTER TABLE payloads ADD COLUMN sealed boolean NOT NULL DEFAULT false;
    ALTER TABLE deliveries ADD COLUMN carries_reporter boolean NOT NULL DEFAULT false;
    ALTER TABLE cases ADD COLUMN closed_at double precision;
    """,
    # 3: TAXII 2.1 collections (``taxii.py``): each partner's STIX outbox indexed object by object, with the
    # time it was added and its version as integer microseconds; which deliveries are indexed (a flag,
    # not a watermark: several nodes commit rows in another order than they numbered them); how far each
    # partner's collection got in time; the status resources of "add objects".
    """
    CREATE TABLE taxii_objects (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        partner text NOT NULL,
        object_id text NOT NULL,
        type text NOT NULL,
        spec_version text NOT NULL,
        version text NOT NULL,
        version_us bigint NOT NULL,
        added_us bigint NOT NULL,
        message_id text NOT NULL,
        object bytea NOT NULL,
        UNIQUE (partner, object_id, version_us)
    );
    CREATE INDEX taxii_objects_added ON taxii_objects (partner, added_us, seq);
    CREATE INDEX taxii_objects_object ON taxii_objects (partner, object_id, version_us);
    CREATE TABLE taxii_indexed (
        partner text PRIMARY KEY,
        last_added_us bigint NOT NULL
    );
    CREATE TABLE taxii_status (
        id text PRIMARY KEY,
        partner text NOT NULL,
        created_at double precision NOT NULL,
        doc bytea NOT NULL
    );
    ALTER TABLE deliveries ADD COLUMN taxii_indexed boolean NOT NULL DEFAULT false;
    UPDATE deliveries SET taxii_indexed = true WHERE transport != 'taxii';
    CREATE INDEX deliveries_taxii_pending ON deliveries (partner, row_id) WHERE NOT taxii_indexed;
    """,
    # 4: retractions and corrections (``lifecycle.py``): each notice as its originator sent it (or our case
    # system asked for it), and the outbox rows that carry it to each destination (deliveries.notice_id).
    """
    CREATE TABLE lifecycle (
        notice_id text PRIMARY KEY,
        case_id text NOT NULL REFERENCES cases (case_id),
        kind text NOT NULL,
        origin text NOT NULL,
        reason text NOT NULL,
        notice bytea NOT NULL,
        recorded_at double precision NOT NULL,
        message_id text
    );
    CREATE INDEX lifecycle_case ON lifecycle (case_id);
    ALTER TABLE deliveries ADD COLUMN notice_id text;
    CREATE INDEX deliveries_notice ON deliveries (notice_id) WHERE notice_id IS NOT NULL;
    """,
]


async def migrate(conn: psycopg.AsyncConnection[Any], gateway: str) -> int:
    """Bring the schema to the newest version (inside the caller's transaction) and bind the database to
    ``gateway``; returns the version."""
    await conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (locks.NAMESPACE, locks.MIGRATE))
    await conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,"
                       " applied_at timestamptz NOT NULL DEFAULT now())")
    row = await (await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")).fetchone()
    version = int(_first(row))
    if version > len(MIGRATIONS):
        raise StoreError(f"the store's schema is version {version}, newer than this gateway knows "
                         f"({len(MIGRATIONS)}): upgrade this node before running it")
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        await conn.execute(script.encode())
        await conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (number,))
    await conn.execute("INSERT INTO meta (key, value) VALUES ('gateway', %s) ON CONFLICT (key) DO NOTHING",
                       (gateway,))
    owner = _first(await (await conn.execute("SELECT value FROM meta WHERE key = 'gateway'")).fetchone())
    if owner != gateway:
        raise StoreError(f"this database holds the store of gateway {owner}, not {gateway}: each gateway needs "
                         "a database of its own (its nodes share it)")
    return len(MIGRATIONS)


def _first(row: Any) -> Any:
    if row is None:
        return None
    return next(iter(row.values())) if isinstance(row, dict) else row[0]
