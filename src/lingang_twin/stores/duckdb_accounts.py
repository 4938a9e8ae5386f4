"""The accounts store (:class:`~lingang_twin.core.accounts.AccountStore`) in the twin's DuckDB file.

Tables from migration 5: ``users``, ``sessions``, ``api_keys``, ``audit_log``. Writes go through the
:class:`~lingang_twin.stores.duckdb_store.DuckDBStore`'s write connection, lock and transactions (one writer per
file), reads through its per-thread read cursors. The audit log is only ever appended to; the chain's head (last
seq and hash) is kept in ``store_meta`` under ``audit_head``, written in the same transaction as the record, so a
record removed from the end is noticed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import duckdb

from lingang_twin.core.accounts import GENESIS, ApiKey, AuditRecord, Session, User, canonical_json, chain_hash
from lingang_twin.core.errors import ConflictError, StoreError
from lingang_twin.stores.duckdb_store import DuckDBStore

ACCOUNTS_VERSION = 5
_USER_COLUMNS = ("name, display_name, roles, password_hash, tenant, disabled, failed_logins, locked_until, "
                 "created_at, modified_at")
_KEY_COLUMNS = ("id, owner, label, secret_hash, created_at, expires_at, permission_scope, entity_scope, revoked_at, "
                "created_by")
_AUDIT_COLUMNS = "seq, recorded_at, actor, roles, action, target, outcome, detail, prev_hash, hash"
_HEAD = "audit_head"


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def _user(row: Sequence[Any]) -> User:
    return User(name=row[0], display_name=row[1], roles=tuple(row[2]), password_hash=row[3], tenant=row[4],
                disabled=bool(row[5]), failed_logins=int(row[6]), locked_until=_utc(row[7]),
                created_at=_utc(row[8]), modified_at=_utc(row[9]))


def _key(row: Sequence[Any]) -> ApiKey:
    created = _utc(row[4])
    assert created is not None
    return ApiKey(id=row[0], owner=row[1], label=row[2], secret_hash=row[3], created_at=created,
                  expires_at=_utc(row[5]), permission_scope=tuple(row[6]) if row[6] is not None else None,
                  entity_scope=tuple(row[7]) if row[7] is not None else None, revoked_at=_utc(row[8]),
                  created_by=row[9])


def _record(row: Sequence[Any]) -> AuditRecord:
    at = _utc(row[1])
    assert at is not None
    return AuditRecord(seq=int(row[0]), at=at, actor=row[2], roles=tuple(row[3]), action=row[4], target=row[5],
                       outcome=row[6], detail=json.loads(row[7]), prev_hash=row[8], hash=row[9])


class DuckDBAccountStore:
    """Accounts in the DuckDB file of ``store`` (which must be at schema version 5 or later)."""

    def __init__(self, store: DuckDBStore) -> None:
        if store.schema_version < ACCOUNTS_VERSION:
            raise StoreError(f"{store.path} is at schema version {store.schema_version}; accounts need "
                             f"{ACCOUNTS_VERSION} (open it writable once to migrate) / 数据库版本过旧")
        self.store = store

    def _read(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> list[Any]:
        try:
            return self.store._reader().execute(sql, params).fetchall()
        except duckdb.Error as err:
            raise StoreError(f"accounts read failed: {err}") from err

    # -- users ---------------------------------------------------------------------------------------------------
    def get_user(self, name: str) -> User | None:
        """The user ``name``, or None."""
        rows = self._read(f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?", [name])
        return _user(rows[0]) if rows else None

    def list_users(self) -> list[User]:
        """Every user, by name."""
        return [_user(r) for r in self._read(f"SELECT {_USER_COLUMNS} FROM users ORDER BY name")]

    def count_users(self) -> int:
        """How many users."""
        return int(self._read("SELECT count(*) FROM users")[0][0])

    @staticmethod
    def _user_params(u: User) -> list[Any]:
        return [u.name, u.display_name, list(u.roles), u.password_hash, u.tenant, u.disabled, u.failed_logins,
                u.locked_until, u.created_at, u.modified_at or u.created_at]

    def insert_user(self, user: User) -> None:
        """Add a user (ConflictError if the name is taken)."""
        with self.store._tx() as con:
            if con.execute("SELECT 1 FROM users WHERE name = ?", [user.name]).fetchall():
                raise ConflictError(f"user {user.name} exists / 用户已存在")
            con.execute(f"INSERT INTO users ({_USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        self._user_params(user))

    def update_user(self, user: User) -> None:
        """Replace the stored row of ``user.name``."""
        with self.store._tx() as con:
            con.execute("UPDATE users SET display_name = ?, roles = ?, password_hash = ?, tenant = ?, disabled = ?, "
                        "failed_logins = ?, locked_until = ?, modified_at = ? WHERE name = ?",
                        [user.display_name, list(user.roles), user.password_hash, user.tenant, user.disabled,
                         user.failed_logins, user.locked_until, user.modified_at or datetime.now(UTC), user.name])

    # -- sessions ------------------------------------------------------------------------------------------------
    def insert_session(self, session: Session) -> None:
        """Add a session."""
        with self.store._tx() as con:
            con.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [session.id, session.user, session.refresh_hash, session.created_at, session.expires_at,
                         session.revoked_at, session.client])

    def get_session(self, session_id: str) -> Session | None:
        """The session, or None."""
        rows = self._read("SELECT id, user_name, refresh_hash, created_at, expires_at, revoked_at, client "
                          "FROM sessions WHERE id = ?", [session_id])
        if not rows:
            return None
        r = rows[0]
        return Session(id=r[0], user=r[1], refresh_hash=r[2], created_at=_utc(r[3]) or r[3],
                       expires_at=_utc(r[4]) or r[4], revoked_at=_utc(r[5]), client=r[6])

    def rotate_session(self, session_id: str, old_hash: str, new_hash: str) -> bool:
        """Compare and set the refresh hash of a live session."""
        with self.store._tx() as con:
            rows = con.execute("UPDATE sessions SET refresh_hash = ? WHERE id = ? AND refresh_hash = ? "
                               "AND revoked_at IS NULL RETURNING id", [new_hash, session_id, old_hash]).fetchall()
        return bool(rows)

    def revoke_sessions(self, session_ids: Sequence[str] | None, at: datetime, *, user: str | None = None) -> int:
        """Revoke the given sessions, or every live one of ``user``."""
        with self.store._tx() as con:
            if session_ids is not None:
                rows = con.execute("UPDATE sessions SET revoked_at = ? WHERE id IN (SELECT unnest(?)) "
                                   "AND revoked_at IS NULL RETURNING id", [at, list(session_ids)]).fetchall()
            else:
                rows = con.execute("UPDATE sessions SET revoked_at = ? WHERE user_name = ? AND revoked_at IS NULL "
                                   "RETURNING id", [at, user]).fetchall()
        return len(rows)

    # -- keys ----------------------------------------------------------------------------------------------------
    def insert_key(self, key: ApiKey) -> None:
        """Add a key."""
        with self.store._tx() as con:
            con.execute(f"INSERT INTO api_keys ({_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [key.id, key.owner, key.label, key.secret_hash, key.created_at, key.expires_at,
                         list(key.permission_scope) if key.permission_scope is not None else None,
                         list(key.entity_scope) if key.entity_scope is not None else None, key.revoked_at,
                         key.created_by])

    def get_key(self, key_id: str) -> ApiKey | None:
        """The key, or None."""
        rows = self._read(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE id = ?", [key_id])
        return _key(rows[0]) if rows else None

    def list_keys(self, owner: str | None = None) -> list[ApiKey]:
        """Keys (of ``owner``), newest first."""
        rows = self._read(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE ? IS NULL OR owner = ? "
                          "ORDER BY created_at DESC, id", [owner, owner])
        return [_key(r) for r in rows]

    def revoke_key(self, key_id: str, at: datetime) -> bool:
        """Revoke a key; False if it was revoked already (or does not exist)."""
        with self.store._tx() as con:
            rows = con.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING id",
                               [at, key_id]).fetchall()
        return bool(rows)

    # -- audit ---------------------------------------------------------------------------------------------------
    def append_audit(self, at: datetime, actor: str, roles: Sequence[str], action: str, target: str | None,
                     outcome: str, detail: Mapping[str, Any]) -> AuditRecord:
        """Append one record: seq and prev_hash from the head, hash by :func:`chain_hash`, head moved — one
        transaction, under the store's write lock (so two writers can never fork the chain)."""
        at = at.astimezone(UTC)
        with self.store._tx() as con:
            head = con.execute("SELECT value FROM store_meta WHERE key = ?", [_HEAD]).fetchall()
            seq, prev = (0, GENESIS)
            if head:
                text_seq, _, text_hash = str(head[0][0]).partition(":")
                seq, prev = int(text_seq), text_hash
            record = AuditRecord(seq=seq + 1, at=at, actor=actor, roles=tuple(roles), action=action, target=target,
                                 outcome=outcome, detail=dict(detail), prev_hash=prev, hash="")
            digest = chain_hash(prev, record.body())
            con.execute(f"INSERT INTO audit_log ({_AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [record.seq, at, actor, list(roles), action, target, outcome,
                         canonical_json(dict(detail)).decode(), prev, digest])
            con.execute("DELETE FROM store_meta WHERE key = ?", [_HEAD])
            con.execute("INSERT INTO store_meta VALUES (?, ?)", [_HEAD, f"{record.seq}:{digest}"])
        return replace(record, hash=digest)

    def audit_records(self, *, after: int = 0, limit: int | None = None, actor: str | None = None,
                      action: str | None = None, outcome: str | None = None, since: datetime | None = None,
                      until: datetime | None = None, newest_first: bool = False) -> list[AuditRecord]:
        """Records by seq (ascending from ``after``, or descending below ``after`` with ``newest_first``)."""
        where: list[str] = []
        params: list[Any] = []
        if newest_first and after > 0:
            where.append("seq < ?")
            params.append(after)
        elif not newest_first:
            where.append("seq > ?")
            params.append(after)
        for column, value in (("actor", actor), ("outcome", outcome)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if action is not None:  # "auth." matches every auth action
            where.append("(action = ? OR (right(?, 1) = '.' AND starts_with(action, ?)))")
            params.extend([action, action, action])
        if since is not None:
            where.append("recorded_at >= ?")
            params.append(since)
        if until is not None:
            where.append("recorded_at < ?")
            params.append(until)
        sql = (f"SELECT {_AUDIT_COLUMNS} FROM audit_log" + (f" WHERE {' AND '.join(where)}" if where else "")
               + f" ORDER BY seq {'DESC' if newest_first else 'ASC'}" + (f" LIMIT {int(limit)}" if limit else ""))
        return [_record(r) for r in self._read(sql, params)]

    def audit_head(self) -> tuple[int, str] | None:
        """The chain's head from ``store_meta``."""
        rows = self._read("SELECT value FROM store_meta WHERE key = ?", [_HEAD])
        if not rows:
            return None
        text_seq, _, text_hash = str(rows[0][0]).partition(":")
        return int(text_seq), text_hash
