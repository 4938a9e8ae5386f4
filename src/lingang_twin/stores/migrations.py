"""Versioned schema migrations for the DuckDB store.

Each migration has a version, a description and SQL statements; a store file records the versions applied in
``schema_version``. Opening a file applies whatever is missing, in order, in one transaction, so a file written
by an older Lingang Twin opens after an upgrade; a file from a newer one is refused rather than misread.
Never edit a released migration: add the next one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """One schema step."""

    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "entities, relationships, lifecycle, series and observations",
        (
            """CREATE TABLE entities (
                id VARCHAR NOT NULL, type VARCHAR NOT NULL, phase VARCHAR NOT NULL,
                props JSON NOT NULL, rels JSON NOT NULL, geo JSON NOT NULL,
                created_at TIMESTAMPTZ NOT NULL, modified_at TIMESTAMPTZ NOT NULL)""",
            "CREATE TABLE relationships (entity_id VARCHAR NOT NULL, name VARCHAR NOT NULL, target VARCHAR NOT NULL)",
            """CREATE TABLE lifecycle (entity_id VARCHAR NOT NULL, phase VARCHAR NOT NULL, since DATE NOT NULL,
                recorded_at TIMESTAMPTZ NOT NULL)""",
            """CREATE TABLE series (series_id INTEGER NOT NULL, entity_id VARCHAR NOT NULL,
                attribute VARCHAR NOT NULL, unit VARCHAR)""",
            # ts: UTC epoch microseconds. No index: idempotency is an anti-join pruned by the ts zone maps,
            # which keeps bulk appends near DuckDB's raw append speed (see BENCHMARKS.md).
            "CREATE TABLE observations (series_id INTEGER NOT NULL, ts BIGINT NOT NULL, value DOUBLE NOT NULL)",
        ),
    ),
    Migration(
        2,
        "change feed: one row per entity write or delete, for live pages and integrations",
        (
            "CREATE SEQUENCE changes_seq START 1",
            """CREATE TABLE changes (seq BIGINT NOT NULL DEFAULT nextval('changes_seq'),
                changed_at TIMESTAMPTZ NOT NULL, entity_id VARCHAR NOT NULL, op VARCHAR NOT NULL)""",
        ),
    ),
    Migration(
        3,
        "store metadata (the compaction watermark of the observations table)",
        ("CREATE TABLE store_meta (key VARCHAR NOT NULL, value VARCHAR NOT NULL)",),
    ),
    Migration(
        4,
        "change feed detail: what a readings deletion or correction touched (attribute, range, count)",
        ("ALTER TABLE changes ADD COLUMN detail VARCHAR",),
    ),
    Migration(
        5,
        "accounts: users, sessions (refresh tokens, hashed), API keys (hashed) and the hash-chained audit log",
        (
            """CREATE TABLE users (name VARCHAR PRIMARY KEY, display_name VARCHAR NOT NULL, roles VARCHAR[] NOT NULL,
                password_hash VARCHAR NOT NULL, tenant VARCHAR, disabled BOOLEAN NOT NULL,
                failed_logins INTEGER NOT NULL, locked_until TIMESTAMPTZ, created_at TIMESTAMPTZ NOT NULL,
                modified_at TIMESTAMPTZ NOT NULL)""",
            """CREATE TABLE sessions (id VARCHAR PRIMARY KEY, user_name VARCHAR NOT NULL, refresh_hash VARCHAR NOT NULL,
                created_at TIMESTAMPTZ NOT NULL, expires_at TIMESTAMPTZ NOT NULL, revoked_at TIMESTAMPTZ,
                client VARCHAR)""",
            """CREATE TABLE api_keys (id VARCHAR PRIMARY KEY, owner VARCHAR NOT NULL, label VARCHAR NOT NULL,
                secret_hash VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL, expires_at TIMESTAMPTZ,
                permission_scope VARCHAR[], entity_scope VARCHAR[], revoked_at TIMESTAMPTZ, created_by VARCHAR)""",
            # Append-only: the store never updates or deletes a row; the chain's head is in store_meta.
            """CREATE TABLE audit_log (seq BIGINT PRIMARY KEY, recorded_at TIMESTAMPTZ NOT NULL, actor VARCHAR NOT NULL,
                roles VARCHAR[] NOT NULL, action VARCHAR NOT NULL, target VARCHAR, outcome VARCHAR NOT NULL,
                detail VARCHAR NOT NULL, prev_hash VARCHAR NOT NULL, hash VARCHAR NOT NULL)""",
        ),
    ),
    Migration(
        6,
        "export requests: approvals of personal or important data leaving the district (governed data sharing)",
        (
            """CREATE TABLE export_requests (
                id VARCHAR PRIMARY KEY, requester VARCHAR NOT NULL, reason VARCHAR NOT NULL,
                recipient VARCHAR NOT NULL, legal_basis VARCHAR NOT NULL, types JSON NOT NULL,
                classifications JSON NOT NULL, requested_at TIMESTAMPTZ NOT NULL, status VARCHAR NOT NULL,
                decided_by VARCHAR, decided_at TIMESTAMPTZ, expires_at TIMESTAMPTZ, note VARCHAR)""",
        ),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version
