"""Versioned schema of the SQLite store: one script per version, applied in order, tracked by user_version."""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: inbound messages, cases, the outbox, the audit chain and seen nonces.
    """
    CREATE TABLE inbound (
        message_id TEXT PRIMARY KEY,
        sender TEXT NOT NULL,
        kid TEXT,
        received_at TEXT NOT NULL,
        payload_sha256 TEXT NOT NULL,
        receipt TEXT NOT NULL
    );
    CREATE TABLE cases (
        case_id TEXT PRIMARY KEY,
        origin TEXT NOT NULL,
        message_id TEXT,
        received_at TEXT NOT NULL,
        category TEXT NOT NULL,
        doc BLOB NOT NULL,
        routing BLOB NOT NULL,
        stored_at REAL NOT NULL
    );
    CREATE TABLE deliveries (
        message_id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL REFERENCES cases(case_id),
        partner TEXT NOT NULL,
        format TEXT NOT NULL,
        transport TEXT NOT NULL,
        message_type TEXT NOT NULL,
        payload BLOB NOT NULL,
        payload_sha256 TEXT NOT NULL,
        signature TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        next_attempt_at REAL NOT NULL,
        deadline_at REAL NOT NULL,
        last_error TEXT,
        receipt TEXT,
        delivered_at REAL
    );
    CREATE INDEX deliveries_due ON deliveries(partner, state, next_attempt_at);
    CREATE INDEX deliveries_case ON deliveries(case_id);
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        message_id TEXT,
        case_id TEXT,
        partner TEXT,
        payload_sha256 TEXT,
        signatures TEXT NOT NULL,
        detail TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE TABLE nonces (
        kid TEXT NOT NULL,
        nonce TEXT NOT NULL,
        created INTEGER NOT NULL,
        PRIMARY KEY (kid, nonce)
    ) WITHOUT ROWID;
    CREATE TABLE partner_state (
        partner TEXT PRIMARY KEY,
        circuit TEXT NOT NULL,
        failures INTEGER NOT NULL,
        changed_at REAL NOT NULL
    );
    """,
    # 2: the takedown lifecycle: which items each message carries (to record a notice against them and
    # to withdraw a notice whose items were all reported removed), and cases' last update time.
    """
    ALTER TABLE deliveries ADD COLUMN item_ids TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE cases ADD COLUMN updated_at REAL;
    """,
    # 3: progress of multi-step transports (a report id between submit and finish), so a retry resumes
    # the same report instead of filing a second one.
    """
    CREATE TABLE transport_state (
        message_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
    # 4: the digest of a case as first submitted: the stored document gains actions over time (notices
    # sent, removals), so "the same case again" is judged against what was submitted, not what we hold.
    """
    ALTER TABLE cases ADD COLUMN submitted_sha256 TEXT;
    """,
    # 5: message ids are unique per sender (two partners may pick the same id; each gets its own
    # receipt); payloads move to an immutable side table so delivery state changes rewrite small rows
    # only; audit entries record the digest of the case document they leave behind; nonces by age.
    """
    CREATE TABLE inbound_v5 (
        sender TEXT NOT NULL,
        message_id TEXT NOT NULL,
        kid TEXT,
        received_at TEXT NOT NULL,
        payload_sha256 TEXT NOT NULL,
        receipt TEXT NOT NULL,
        PRIMARY KEY (sender, message_id)
    ) WITHOUT ROWID;
    INSERT INTO inbound_v5 SELECT sender, message_id, kid, received_at, payload_sha256, receipt FROM inbound;
    DROP TABLE inbound;
    ALTER TABLE inbound_v5 RENAME TO inbound;
    CREATE TABLE payloads (
        message_id TEXT PRIMARY KEY,
        payload BLOB NOT NULL,
        signature TEXT NOT NULL
    );
    INSERT INTO payloads SELECT message_id, payload, signature FROM deliveries;
    CREATE TABLE deliveries_v5 (
        message_id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL REFERENCES cases(case_id),
        partner TEXT NOT NULL,
        format TEXT NOT NULL,
        transport TEXT NOT NULL,
        message_type TEXT NOT NULL,
        payload_sha256 TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        next_attempt_at REAL NOT NULL,
        deadline_at REAL NOT NULL,
        last_error TEXT,
        receipt TEXT,
        delivered_at REAL,
        item_ids TEXT NOT NULL DEFAULT '[]'
    );
    INSERT INTO deliveries_v5 SELECT message_id, case_id, partner, format, transport, message_type, payload_sha256,
        state, attempts, created_at, next_attempt_at, deadline_at, last_error, receipt, delivered_at, item_ids
        FROM deliveries ORDER BY rowid;
    DROP TABLE deliveries;
    ALTER TABLE deliveries_v5 RENAME TO deliveries;
    CREATE INDEX deliveries_due ON deliveries(partner, state, next_attempt_at);
    CREATE INDEX deliveries_case ON deliveries(case_id);
    ALTER TABLE audit ADD COLUMN doc_sha256 TEXT;
    CREATE INDEX nonces_created ON nonces(created);
    """,
    # 6: the audit chain's anchors: our signed checkpoints, and the checkpoints partners sent us (we
    # witness theirs as they witness ours); the chain looked up by case and by message for verification.
    """
    CREATE TABLE checkpoints (
        seq INTEGER PRIMARY KEY,
        head TEXT NOT NULL,
        at TEXT NOT NULL,
        jws TEXT NOT NULL
    );
    CREATE TABLE witnessed (
        gateway TEXT NOT NULL,
        seq INTEGER NOT NULL,
        head TEXT NOT NULL,
        at TEXT NOT NULL,
        jws TEXT NOT NULL,
        received_at REAL NOT NULL,
        PRIMARY KEY (gateway, seq)
    ) WITHOUT ROWID;
    CREATE INDEX audit_case ON audit(case_id) WHERE case_id IS NOT NULL;
    CREATE INDEX audit_message ON audit(message_id) WHERE message_id IS NOT NULL;
    """,
    # 7: operators' sessions on the status page, kept across restarts (by the digest of the cookie's
    # value, so a copy of the store signs nobody in).
    """
    CREATE TABLE sessions (
        id_sha256 TEXT PRIMARY KEY,
        csrf TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL
    ) WITHOUT ROWID;
    """,
    # 8: reporter data sealed per case (the key lives in the vault beside the store): the sealed reporter,
    # an index to find a reporter's cases by a keyed digest of the address, sealed payloads (those that
    # carry reporter data), and when a case closed and when its reporter data was erased.
    """
    CREATE TABLE reporter_data (
        case_id TEXT PRIMARY KEY REFERENCES cases(case_id),
        kind TEXT NOT NULL,
        sealed BLOB,
        sealed_at REAL NOT NULL,
        erased_at REAL
    ) WITHOUT ROWID;
    CREATE TABLE reporter_index (
        token TEXT NOT NULL,
        case_id TEXT NOT NULL,
        PRIMARY KEY (token, case_id)
    ) WITHOUT ROWID;
    ALTER TABLE payloads ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE deliveries ADD COLUMN carries_reporter INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE cases ADD COLUMN closed_at REAL;
    """,
    # 9: TAXII 2.1. Each partner's collection as an index of the STIX objects in its outbox: one row per object
    # version, with the time it was added to the collection and its version as integer microseconds, the one
    # representation both stored and compared (added_after, match[version]); seq orders objects added in the
    # same microsecond. taxii_indexed is how far each partner's outbox has been indexed (delivery rowid);
    # taxii_status keeps the status resources of "add objects".
    """
    CREATE TABLE taxii_objects (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        partner TEXT NOT NULL,
        object_id TEXT NOT NULL,
        type TEXT NOT NULL,
        spec_version TEXT NOT NULL,
        version TEXT NOT NULL,
        version_us INTEGER NOT NULL,
        added_us INTEGER NOT NULL,
        message_id TEXT NOT NULL,
        object BLOB NOT NULL,
        UNIQUE (partner, object_id, version_us)
    );
    CREATE INDEX taxii_objects_added ON taxii_objects(partner, added_us, seq);
    CREATE TABLE taxii_indexed (
        partner TEXT PRIMARY KEY,
        last_rowid INTEGER NOT NULL,
        last_added_us INTEGER NOT NULL
    );
    CREATE TABLE taxii_status (
        id TEXT PRIMARY KEY,
        partner TEXT NOT NULL,
        created_at REAL NOT NULL,
        doc BLOB NOT NULL
    );
    """,
    # 10: retractions and corrections. Each notice as its originator sent it (or our case system asked for it),
    # and the outbox rows that carry it to each destination (deliveries.notice_id).
    """
    CREATE TABLE lifecycle (
        notice_id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        origin TEXT NOT NULL,
        reason TEXT NOT NULL,
        notice BLOB NOT NULL,
        recorded_at REAL NOT NULL,
        message_id TEXT
    ) WITHOUT ROWID;
    CREATE INDEX lifecycle_case ON lifecycle(case_id);
    ALTER TABLE deliveries ADD COLUMN notice_id TEXT;
    CREATE INDEX deliveries_notice ON deliveries(notice_id) WHERE notice_id IS NOT NULL;
    """,
]


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to the newest version; returns that version."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    return len(MIGRATIONS)
