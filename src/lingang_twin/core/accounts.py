"""Accounts, sign-in, API keys and the audit log (账户、登录、密钥与审计).

:class:`Accounts` implements :class:`~lingang_twin.core.access.Authenticator` (faces turn credentials into a
:class:`~lingang_twin.core.access.Principal` through it) and :class:`~lingang_twin.core.access.AuditSink` (an
append-only, hash-chained log). It keeps its rows in an :class:`AccountStore` (``stores`` implement it, in the
twin's own file).

* **Passwords** are hashed with argon2id (argon2-cffi, RFC 9106). A sign-in of an unknown user still runs one
  argon2 verification, so the answer's timing does not tell which names exist.
* **Access tokens** are short-lived JWTs (HS256, claims ``sub``, ``sid``, ``iat``, ``exp``, ``iss``); they carry no
  roles: the principal is built from the user's current record, so a role change or a disable applies to tokens
  already issued, and a sign-out refuses them at once.
* **Refresh tokens** are ``<session id>.<secret>``; only ``sha256(secret)`` is stored. Each use rotates the secret;
  presenting a rotated one again (a stolen copy) revokes the whole session (OAuth 2.0 Security BCP, refresh token
  rotation).
* **API keys** are ``ltk_<id>_<secret>``: ``id`` (12 hex digits) finds the row in one look-up, only
  ``sha256(secret)`` is stored, and the secret (256 random bits) is shown once. A key acts as its owner's roles
  narrowed by its ``permission_scope`` and ``entity_scope``; verifying one runs no argon2 (a high-entropy secret
  needs no slow hash) and is cached per process, so a request with a key costs microseconds.
* **Lock-out**: ``lock_after`` (20) wrong passwords in a row lock the account for ``lock_minutes``.
* **Audit**: every sign-in, failure, lock, refresh reuse, sign-out, rights change and key creation or revocation is
  recorded; each record stores ``sha256(prev_hash + canonical JSON of the record)`` and the head of the chain is
  kept apart, so :meth:`Accounts.verify_audit` finds a changed, removed or cut-off record.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from lingang_twin.core.access import (
    ALL,
    ANONYMOUS,
    CORE_PERMISSIONS,
    ROLES,
    SYSTEM,
    AccessDenied,
    AuditEvent,
    Principal,
    SignedIn,
    principal,
)
from lingang_twin.core.errors import ConflictError, NotFoundError, ValidationError
from lingang_twin.core.ids import parse_entity_id

Clock = Callable[[], datetime]
GENESIS = "0" * 64
"""The ``prev_hash`` of the first audit record."""
KEY_PREFIX = "ltk_"
USER_NAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
KEY_ID = re.compile(r"[0-9a-f]{12}")
MIN_PASSWORD = 8
MIN_SECRET_BYTES = 32
ISSUER = "lingang-twin"


def utcnow() -> datetime:
    """Now, in UTC (the default clock; tests inject their own)."""
    return datetime.now(UTC)


# -- records ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class User:
    """A person (or a service account) who signs in: ``name`` (lower case, unique), roles from
    :data:`~lingang_twin.core.access.ROLES`, ``tenant`` (the Enterprise URN of an ``enterprise_tenant``),
    ``disabled``, the argon2 ``password_hash``, consecutive ``failed_logins`` and ``locked_until``."""

    name: str
    display_name: str
    roles: tuple[str, ...]
    password_hash: str
    tenant: str | None = None
    disabled: bool = False
    failed_logins: int = 0
    locked_until: datetime | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None

    def public(self) -> dict[str, Any]:
        """The user without the password hash (what faces show)."""
        return {"name": self.name, "displayName": self.display_name, "roles": list(self.roles),
                "tenant": self.tenant, "disabled": self.disabled,
                "lockedUntil": self.locked_until.isoformat() if self.locked_until else None,
                "createdAt": self.created_at.isoformat() if self.created_at else None}


@dataclass(frozen=True)
class Session:
    """A signed-in session: its refresh token's hash, when it ends, and whether it was revoked."""

    id: str
    user: str
    refresh_hash: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    client: str | None = None


@dataclass(frozen=True)
class ApiKey:
    """An API key (the secret itself is never stored): its owner, what narrows it, when it ends."""

    id: str
    owner: str
    label: str
    secret_hash: str
    created_at: datetime
    expires_at: datetime | None = None
    permission_scope: tuple[str, ...] | None = None
    entity_scope: tuple[str, ...] | None = None
    revoked_at: datetime | None = None
    created_by: str | None = None

    def public(self) -> dict[str, Any]:
        """The key without its hash (what faces show)."""
        return {"id": self.id, "owner": self.owner, "label": self.label,
                "createdAt": self.created_at.isoformat(),
                "expiresAt": self.expires_at.isoformat() if self.expires_at else None,
                "permissionScope": list(self.permission_scope) if self.permission_scope is not None else None,
                "entityScope": list(self.entity_scope) if self.entity_scope is not None else None,
                "revokedAt": self.revoked_at.isoformat() if self.revoked_at else None,
                "createdBy": self.created_by}


@dataclass(frozen=True)
class AuditRecord:
    """One stored audit record: its place in the chain (``seq`` from 1), the event, and the two hashes."""

    seq: int
    at: datetime
    actor: str
    roles: tuple[str, ...]
    action: str
    target: str | None
    outcome: str
    detail: Mapping[str, Any]
    prev_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        """What the hash covers: every field but the hashes, JSON-able."""
        return {"seq": self.seq, "at": self.at.astimezone(UTC).isoformat(), "actor": self.actor,
                "roles": list(self.roles), "action": self.action, "target": self.target, "outcome": self.outcome,
                "detail": dict(self.detail)}

    def to_dict(self) -> dict[str, Any]:
        """The record as faces show it (hashes included, for an auditor to check by hand)."""
        return {**self.body(), "prevHash": self.prev_hash, "hash": self.hash}


def canonical_json(value: Any) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8 (what the audit hashes cover)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def chain_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    """``sha256(prev_hash + canonical JSON of body)``, hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(body)).hexdigest()


@dataclass(frozen=True)
class AuditVerdict:
    """The result of checking the chain: ``ok``, how many records were checked, and the first bad one
    (``bad_seq``; for a cut-off tail, the first missing seq) with the ``reason``."""

    ok: bool
    count: int
    bad_seq: int | None = None
    reason: str | None = None


def verify_chain(records: Iterable[AuditRecord], head: tuple[int, str] | None) -> AuditVerdict:
    """Check records in ``seq`` order: consecutive numbers from 1, each ``prev_hash`` the previous ``hash``, each
    ``hash`` recomputed, and the last one equal to ``head`` (the chain's head, kept apart from the records)."""
    prev, expected, count = GENESIS, 1, 0
    for r in records:
        if r.seq != expected:
            return AuditVerdict(False, count, expected, f"record {expected} is missing (next found: {r.seq}) "
                                "/ 审计记录缺失")
        if r.prev_hash != prev:
            return AuditVerdict(False, count, r.seq, "its prev_hash does not match the record before "
                                "/ 与前一条记录的哈希不符")
        if chain_hash(prev, r.body()) != r.hash:
            return AuditVerdict(False, count, r.seq, "its content does not match its hash (changed) "
                                "/ 记录内容与哈希不符（被修改）")
        prev, expected, count = r.hash, expected + 1, count + 1
    head_seq, head_hash = head if head is not None else (0, GENESIS)
    if head_seq != count or head_hash != prev:
        if head_seq > count:
            return AuditVerdict(False, count, count + 1, f"the chain ends at {count} but its head says {head_seq}: "
                                "records were removed from the end / 末尾记录被删除")
        return AuditVerdict(False, count, count, "the last record does not match the chain's head "
                            "/ 最后一条记录与链头不符")
    return AuditVerdict(True, count)


# -- the store contract -------------------------------------------------------------------------------------------
class AccountStore(Protocol):
    """Where accounts live (``stores`` implement it, in the twin's own database). Each method is one transaction."""

    def get_user(self, name: str) -> User | None:
        """The user named ``name``, or None."""

    def list_users(self) -> list[User]:
        """Every user, by name."""

    def count_users(self) -> int:
        """How many users there are."""

    def insert_user(self, user: User) -> None:
        """Add a user; ConflictError if the name is taken."""

    def update_user(self, user: User) -> None:
        """Replace the stored user of ``user.name``."""

    def insert_session(self, session: Session) -> None:
        """Add a session."""

    def get_session(self, session_id: str) -> Session | None:
        """The session ``session_id``, or None."""

    def rotate_session(self, session_id: str, old_hash: str, new_hash: str) -> bool:
        """Replace the refresh hash if it is still ``old_hash`` and the session is not revoked (compare and set);
        False otherwise."""

    def revoke_sessions(self, session_ids: Sequence[str] | None, at: datetime, *, user: str | None = None) -> int:
        """Revoke these sessions (or every live one of ``user``); returns how many."""

    def insert_key(self, key: ApiKey) -> None:
        """Add an API key."""

    def get_key(self, key_id: str) -> ApiKey | None:
        """The key ``key_id``, or None."""

    def list_keys(self, owner: str | None = None) -> list[ApiKey]:
        """Every key (of ``owner``), newest first."""

    def revoke_key(self, key_id: str, at: datetime) -> bool:
        """Revoke a key; False if it was revoked already."""

    def append_audit(self, at: datetime, actor: str, roles: Sequence[str], action: str, target: str | None,
                     outcome: str, detail: Mapping[str, Any]) -> AuditRecord:
        """Append one record to the chain (its seq and hashes computed under the store's write lock with
        :func:`chain_hash`) and move the head; returns it."""

    def audit_records(self, *, after: int = 0, limit: int | None = None, actor: str | None = None,
                      action: str | None = None, outcome: str | None = None, since: datetime | None = None,
                      until: datetime | None = None, newest_first: bool = False) -> list[AuditRecord]:
        """Audit records by seq, filtered."""

    def audit_head(self) -> tuple[int, str] | None:
        """The chain's head (last seq and hash), kept apart from the records; None for an empty chain."""


# -- the service -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AccountPolicy:
    """How long tokens live and when an account locks. Defaults: access 15 min, refresh 12 h (a shift), lock for
    15 min after 20 wrong passwords in a row."""

    access_minutes: float = 15.0
    refresh_hours: float = 12.0
    lock_after: int = 20
    lock_minutes: float = 15.0


@dataclass
class _CachedKey:
    key: ApiKey
    principal: Principal


@dataclass
class _CachedSession:
    session: Session
    principal: Principal


@dataclass(frozen=True)
class CreatedKey:
    """A new API key: its record and the full key, shown this once."""

    key: ApiKey
    secret: str


def sha256_hex(text: str) -> str:
    """SHA-256 of ``text`` (UTF-8), hex: how a high-entropy secret (refresh token, API key) is stored."""
    return hashlib.sha256(text.encode()).hexdigest()


class Accounts:
    """The accounts service: users, sign-in, sessions, API keys and the audit log over an :class:`AccountStore`.

    ``secret_key``: the JWT signing key (≥ 32 bytes; from the environment or a file the operator names — never
    in the repository). ``grants``: the packs' role → permissions, merged; ``permissions``: every known permission
    (for checking key scopes). ``clock`` and ``hasher`` are injectable (tests)."""

    def __init__(self, store: AccountStore, secret_key: bytes, *, policy: AccountPolicy | None = None,
                 grants: Mapping[str, Iterable[str]] | None = None, permissions: Iterable[str] | None = None,
                 clock: Clock = utcnow, hasher: PasswordHasher | None = None) -> None:
        if len(secret_key) < MIN_SECRET_BYTES:
            raise ValidationError("secret_key", "secret-length", f"the signing key must be at least "
                                  f"{MIN_SECRET_BYTES} bytes / 签名密钥至少 {MIN_SECRET_BYTES} 字节")
        self.store = store
        self._secret = secret_key
        self.policy = policy or AccountPolicy()
        self.grants = {role: tuple(perms) for role, perms in (grants or {}).items()}
        self.permissions = frozenset(permissions or ()) | set(CORE_PERMISSIONS)
        self.clock = clock
        self.hasher = hasher or PasswordHasher()
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
        self._lock = threading.Lock()
        self._keys: dict[str, _CachedKey] = {}
        self._sessions: dict[str, _CachedSession] = {}

    # -- principals ----------------------------------------------------------------------------------------------
    def principal_of(self, user: User, *, session: str | None = None) -> Principal:
        """The principal a signed-in ``user`` acts as."""
        return principal(user.name, user.roles, tenant=user.tenant, grants=self.grants, session=session)

    def _forget(self) -> None:
        """Drop every cached principal (a user, key or session changed: the next request reads the store)."""
        with self._lock:
            self._keys.clear()
            self._sessions.clear()

    # -- users ---------------------------------------------------------------------------------------------------
    @staticmethod
    def check_roles(roles: Iterable[str], tenant: str | None) -> tuple[tuple[str, ...], str | None]:
        """Roles (at least one, each from ROLES) and the tenant (an Enterprise URN, for an enterprise_tenant
        only, which takes no other role), sorted; a ValidationError naming ``roles`` or ``tenant`` otherwise."""
        found = tuple(sorted(set(roles)))
        if not found:
            raise ValidationError("roles", "roles-required", "give at least one role / 至少指定一个角色")
        unknown = [r for r in found if r not in ROLES]
        if unknown:
            raise ValidationError("roles", "role-choice", f"unknown role {', '.join(unknown)}; choose from "
                                  f"{', '.join(ROLES)} / 未知角色", value=unknown)
        if "enterprise_tenant" in found:
            if not tenant:
                raise ValidationError("tenant", "tenant-required", "an enterprise_tenant needs the id of its "
                                      "Enterprise / 入驻企业用户须指定企业", value=tenant)
            try:
                kind, _ = parse_entity_id(tenant, "tenant")
            except ValidationError as err:
                raise ValidationError("tenant", "tenant-id", f"{tenant!r}: {err.message}", value=tenant) from None
            if kind != "Enterprise":
                raise ValidationError("tenant", "tenant-type", f"{tenant} is a {kind}, not an Enterprise "
                                      "/ 租户须为企业实体", value=tenant)
            if len(found) > 1:
                raise ValidationError("roles", "tenant-alone", "enterprise_tenant cannot be combined with other "
                                      "roles / 入驻企业角色不能与其他角色组合", value=list(found))
        elif tenant:
            raise ValidationError("tenant", "tenant-role", "only an enterprise_tenant has a tenant "
                                  "/ 仅入驻企业用户可指定企业", value=tenant)
        return found, tenant or None

    @staticmethod
    def check_password(password: str) -> None:
        """At least 8 and at most 1024 characters; a ValidationError naming ``password`` otherwise."""
        if not isinstance(password, str) or len(password) < MIN_PASSWORD:
            raise ValidationError("password", "password-length", f"a password needs at least {MIN_PASSWORD} "
                                  f"characters / 密码至少 {MIN_PASSWORD} 个字符")
        if len(password) > 1024:
            raise ValidationError("password", "password-length", "a password has at most 1024 characters "
                                  "/ 密码最多 1024 个字符")

    @staticmethod
    def check_name(name: str) -> str:
        """A user name: 1–64 of a-z 0-9 . _ @ - (lower-cased), starting with a letter or digit."""
        value = (name or "").strip().lower()
        if not USER_NAME.fullmatch(value):
            raise ValidationError("name", "user-name", f"{name!r}: 1–64 characters a-z 0-9 . _ @ -, starting with "
                                  "a letter or digit / 用户名格式无效", value=name)
        return value

    def _actor(self, by: Principal) -> dict[str, Any]:
        return {"actor": by.subject, "roles": tuple(sorted(by.roles))}

    def add_user(self, name: str, password: str, roles: Iterable[str], *, display_name: str | None = None,
                 tenant: str | None = None, by: Principal = SYSTEM) -> User:
        """Create a user (``accounts:manage``). Bad input (name, roles, tenant, password) is a ValidationError
        and a taken name a ConflictError; nothing is written then."""
        by.require("accounts:manage")
        key = self.check_name(name)
        found_roles, found_tenant = self.check_roles(roles, tenant)
        self.check_password(password)
        if self.store.get_user(key) is not None:
            raise ConflictError(f"user {key} exists / 用户已存在")
        now = self.clock()
        user = User(name=key, display_name=(display_name or key).strip()[:200] or key, roles=found_roles,
                    password_hash=self.hasher.hash(password), tenant=found_tenant, created_at=now, modified_at=now)
        self.store.insert_user(user)
        self._audit(by, "accounts.user-create", key, detail={"roles": list(found_roles), "tenant": found_tenant})
        return user

    def user(self, name: str) -> User:
        """The user ``name`` (NotFoundError if none)."""
        found = self.store.get_user((name or "").strip().lower())
        if found is None:
            raise NotFoundError("user", name)
        return found

    def list_users(self) -> list[User]:
        """Every user, by name."""
        return self.store.list_users()

    def has_users(self) -> bool:
        """Whether any user exists (``serve`` refuses a non-loopback address without one)."""
        return self.store.count_users() > 0

    def set_roles(self, name: str, roles: Iterable[str], *, tenant: str | None = None,
                  by: Principal = SYSTEM) -> User:
        """Change a user's roles (and tenant); applies to its tokens and keys at once. Audited."""
        by.require("accounts:manage")
        user = self.user(name)
        found_roles, found_tenant = self.check_roles(roles, tenant)
        if user.name == by.subject and "admin" in user.roles and "admin" not in found_roles:
            raise ValidationError("roles", "own-admin", "an administrator cannot remove its own admin role "
                                  "/ 管理员不能移除自己的管理员角色")
        changed = replace(user, roles=found_roles, tenant=found_tenant, modified_at=self.clock())
        self.store.update_user(changed)
        self._forget()
        self._audit(by, "accounts.role-change", user.name, detail={
            "from": list(user.roles), "to": list(found_roles), "tenantFrom": user.tenant, "tenantTo": found_tenant})
        return changed

    def set_disabled(self, name: str, disabled: bool = True, *, by: Principal = SYSTEM) -> User:
        """Disable (or enable) a user: a disabled user cannot sign in, its sessions are revoked and its keys stop
        working. Audited."""
        by.require("accounts:manage")
        user = self.user(name)
        if disabled and user.name == by.subject:
            raise ValidationError("name", "disable-self", "you cannot disable yourself / 不能停用自己")
        now = self.clock()
        changed = replace(user, disabled=disabled, modified_at=now,
                          failed_logins=0 if not disabled else user.failed_logins,
                          locked_until=None if not disabled else user.locked_until)
        self.store.update_user(changed)
        if disabled:
            self.store.revoke_sessions(None, now, user=user.name)
        self._forget()
        self._audit(by, "accounts.disable" if disabled else "accounts.enable", user.name)
        return changed

    def set_password(self, name: str, password: str, *, by: Principal = SYSTEM) -> User:
        """Set a user's password (``accounts:manage``, or the user itself); unlocks the account and revokes its
        sessions. Audited (never the password)."""
        if by.subject != (name or "").strip().lower():
            by.require("accounts:manage")
        user = self.user(name)
        self.check_password(password)
        now = self.clock()
        changed = replace(user, password_hash=self.hasher.hash(password), failed_logins=0, locked_until=None,
                          modified_at=now)
        self.store.update_user(changed)
        self.store.revoke_sessions(None, now, user=user.name)
        self._forget()
        self._audit(by, "accounts.password-change", user.name)
        return changed

    # -- sign-in and sessions ------------------------------------------------------------------------------------
    def _deny(self, actor: str, action: str, reason: str, *, target: str | None = None,
              detail: Mapping[str, Any] | None = None, message: str | None = None) -> AccessDenied:
        self._audit_raw(actor, (), action, target, "denied", {"reason": reason, **(detail or {})})
        return AccessDenied(replace(ANONYMOUS, subject=actor), "auth", message or "invalid credentials / 凭据无效")

    def sign_in(self, username: str, password: str, *, client: str | None = None) -> SignedIn:
        """Check a password and open a session. Wrong password, unknown user, disabled or locked account: all
        AccessDenied with the same message (the audit log says which); the ``lock_after``-th wrong password in a
        row locks the account for ``lock_minutes``."""
        name = (username or "").strip().lower()
        now = self.clock()
        user = self.store.get_user(name) if USER_NAME.fullmatch(name) else None
        detail = {"client": client} if client else {}
        if user is None:
            self._verify_password(self._dummy_hash, password)  # same time as for a real user
            raise self._deny(name[:64] or "-", "auth.sign-in-failed", "unknown-user", detail=detail)
        if user.locked_until is not None and user.locked_until > now:
            raise self._deny(name, "auth.sign-in-failed", "locked", target=name, detail=detail,
                             message="account locked; try again later / 账户已锁定，请稍后再试")
        if not self._verify_password(user.password_hash, password):
            failures = user.failed_logins + 1
            locked = failures >= self.policy.lock_after
            until = now + timedelta(minutes=self.policy.lock_minutes) if locked else None
            self.store.update_user(replace(user, failed_logins=0 if locked else failures,
                                           locked_until=until or user.locked_until))
            err = self._deny(name, "auth.sign-in-failed", "wrong-password", target=name,
                             detail={**detail, "failures": failures})
            if locked:
                self._audit_raw(name, user.roles, "auth.locked", name, "ok",
                                {"failures": failures, "until": until.isoformat() if until else None})
            raise err
        if user.disabled:
            raise self._deny(name, "auth.sign-in-failed", "disabled", target=name, detail=detail)
        if user.failed_logins or user.locked_until:
            user = replace(user, failed_logins=0, locked_until=None)
            self.store.update_user(user)
        if self.hasher.check_needs_rehash(user.password_hash):
            user = replace(user, password_hash=self.hasher.hash(password))
            self.store.update_user(user)
        session_id = secrets.token_hex(16)
        refresh_secret = secrets.token_urlsafe(32)
        session = Session(id=session_id, user=user.name, refresh_hash=sha256_hex(refresh_secret), created_at=now,
                          expires_at=now + timedelta(hours=self.policy.refresh_hours), client=client)
        self.store.insert_session(session)
        who = self.principal_of(user, session=session_id)
        self._audit(who, "auth.sign-in", user.name, detail={"session": session_id, **detail})
        return SignedIn(self._access_token(user.name, session_id, now), f"{session_id}.{refresh_secret}",
                        int(self.policy.access_minutes * 60), who)

    def _verify_password(self, stored: str, password: str) -> bool:
        try:
            return bool(self.hasher.verify(stored, password or ""))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _access_token(self, name: str, session_id: str, now: datetime) -> str:
        exp = now + timedelta(minutes=self.policy.access_minutes)
        claims = {"sub": name, "sid": session_id, "iss": ISSUER, "iat": int(now.timestamp()),
                  "exp": int(exp.timestamp())}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def _split_refresh(self, token: str) -> tuple[str, str]:
        sid, dot, secret = (token or "").partition(".")
        if not dot or not re.fullmatch(r"[0-9a-f]{32}", sid) or not secret:
            raise self._deny("-", "auth.refresh-failed", "malformed", message="invalid refresh token "
                             "/ 刷新令牌无效")
        return sid, secret

    def refresh(self, refresh_token: str) -> SignedIn:
        """A new access token and a rotated refresh token for a live session. A refresh token used before (a
        copy of a rotated one) revokes the session (reuse detection)."""
        sid, secret = self._split_refresh(refresh_token)
        now = self.clock()
        session = self.store.get_session(sid)
        if session is None or session.revoked_at is not None or session.expires_at <= now:
            reason = "unknown" if session is None else ("revoked" if session.revoked_at else "expired")
            raise self._deny(session.user if session else "-", "auth.refresh-failed", reason,
                             detail={"session": sid}, message="refresh token expired or revoked; sign in again "
                             "/ 刷新令牌已失效，请重新登录")
        if not hmac.compare_digest(session.refresh_hash, sha256_hex(secret)):
            self.store.revoke_sessions([sid], now)
            self._forget()
            raise self._deny(session.user, "auth.refresh-reuse", "reused-or-wrong", target=session.user,
                             detail={"session": sid}, message="refresh token already used; the session is revoked "
                             "/ 刷新令牌已被使用，会话已撤销")
        user = self.store.get_user(session.user)
        if user is None or user.disabled:
            raise self._deny(session.user, "auth.refresh-failed", "disabled", detail={"session": sid})
        new_secret = secrets.token_urlsafe(32)
        if not self.store.rotate_session(sid, session.refresh_hash, sha256_hex(new_secret)):
            raise self._deny(session.user, "auth.refresh-reuse", "raced", detail={"session": sid},
                             message="refresh token already used / 刷新令牌已被使用")
        who = self.principal_of(user, session=sid)
        return SignedIn(self._access_token(user.name, sid, now), f"{sid}.{new_secret}",
                        int(self.policy.access_minutes * 60), who)

    def _decode(self, access_token: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(access_token, self._secret, algorithms=["HS256"], issuer=ISSUER,
                                                options={"verify_exp": False, "require": ["sub", "sid", "exp"]})
        except jwt.PyJWTError as err:
            raise self._deny("-", "auth.token-refused", "invalid", detail={"error": type(err).__name__},
                             message="invalid access token / 访问令牌无效") from None
        return claims

    def sign_out(self, token: str) -> None:
        """Revoke the session an access token (a JWT) or a refresh token belongs to. Audited."""
        if token.count(".") == 2:
            sid = str(self._decode(token).get("sid", ""))
        else:
            sid, _ = self._split_refresh(token)
        session = self.store.get_session(sid)
        if session is None:
            raise self._deny("-", "auth.sign-out-failed", "unknown-session", detail={"session": sid})
        self.store.revoke_sessions([sid], self.clock())
        with self._lock:
            self._sessions.pop(sid, None)
        self._audit_raw(session.user, (), "auth.sign-out", session.user, "ok", {"session": sid})

    def principal_for_token(self, access_token: str) -> Principal:
        """The principal of a valid, unexpired access token whose session is live and whose user is enabled
        (the session and user are cached in this process; any change to them clears the cache)."""
        claims = self._decode(access_token)
        now = self.clock()
        if int(claims["exp"]) <= now.timestamp():
            # Expired tokens are routine (a client refreshes): refused, not audited, to keep the log meaningful.
            raise AccessDenied(ANONYMOUS, "auth", "access token expired; refresh it / 访问令牌已过期，请刷新")
        sid = str(claims["sid"])
        cached = self._sessions.get(sid)
        if cached is None:
            session = self.store.get_session(sid)
            user = self.store.get_user(session.user) if session is not None else None
            if session is None or user is None or user.name != claims["sub"]:
                raise self._deny(str(claims["sub"]), "auth.token-refused", "unknown-session",
                                 detail={"session": sid}, message="invalid access token / 访问令牌无效")
            if user.disabled:
                raise self._deny(user.name, "auth.token-refused", "disabled", detail={"session": sid},
                                 message="account disabled / 账户已停用")
            cached = _CachedSession(session, self.principal_of(user, session=sid))
            with self._lock:
                self._sessions[sid] = cached
        if cached.session.revoked_at is not None or cached.session.expires_at <= now:
            raise AccessDenied(cached.principal, "auth", "session ended; sign in again / 会话已结束，请重新登录")
        return cached.principal

    # -- API keys ------------------------------------------------------------------------------------------------
    def create_key(self, owner: str, label: str, *, permission_scope: Iterable[str] | None = None,
                   entity_scope: Iterable[str] | None = None, expires_at: datetime | None = None,
                   by: Principal = SYSTEM) -> CreatedKey:
        """A new API key for ``owner`` — by the owner (``keys:own``) or an account manager (``accounts:manage``);
        keys cannot mint keys. ``permission_scope`` must lie within the owner's permissions; ``entity_scope``
        lists entity ids or patterns with ``*``; ``expires_at`` must be in the future. The full key is in the
        result, this once. Audited."""
        owner_name = (owner or "").strip().lower()
        if by.kind == "key":
            raise AccessDenied(by, "keys:own", "an API key cannot create keys / API 密钥不能创建密钥")
        if by.subject == owner_name and by.can("keys:own"):
            pass
        else:
            by.require("accounts:manage")
        user = self.user(owner_name)
        text = (label or "").strip()
        if not text or len(text) > 200:
            raise ValidationError("label", "label-length", "a key needs a label of 1–200 characters "
                                  "/ 密钥须有 1–200 个字符的名称", value=label)
        owner_principal = self.principal_of(user)
        perms: tuple[str, ...] | None = None
        if permission_scope is not None:
            perms = tuple(sorted(set(permission_scope)))
            if not perms:
                raise ValidationError("permission_scope", "scope-empty", "an empty permission scope allows nothing "
                                      "/ 权限范围为空", value=[])
            unknown = [p for p in perms if p not in self.permissions and p != ALL]
            if unknown:
                raise ValidationError("permission_scope", "permission-choice", f"unknown permissions {unknown} "
                                      "/ 未知权限", value=unknown)
            beyond = [p for p in perms if not owner_principal.can(p)]
            if beyond:
                raise ValidationError("permission_scope", "beyond-owner", f"{user.name} does not hold {beyond}; a "
                                      "key cannot hold more than its owner / 密钥权限不能超出所有者", value=beyond)
        ents: tuple[str, ...] | None = None
        if entity_scope is not None:
            ents = tuple(dict.fromkeys(e.strip() for e in entity_scope))
            if not ents or any(not e or len(e) > 512 or not e.startswith("urn:ngsi-ld:") for e in ents):
                raise ValidationError("entity_scope", "entity-pattern", "entity scope: entity ids or patterns "
                                      "starting urn:ngsi-ld: (with * for any text) / 实体范围无效", value=list(ents))
        now = self.clock()
        if expires_at is not None:
            if expires_at.tzinfo is None:
                raise ValidationError("expires_at", "timezone", "give a time zone offset / 须带时区")
            if expires_at <= now:
                raise ValidationError("expires_at", "in-future", "a key must expire in the future "
                                      "/ 过期时间须在将来", value=expires_at.isoformat())
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        key = ApiKey(id=key_id, owner=user.name, label=text, secret_hash=sha256_hex(secret), created_at=now,
                     expires_at=expires_at, permission_scope=perms, entity_scope=ents, created_by=by.subject)
        self.store.insert_key(key)
        self._audit(by, "keys.create", key_id, detail={"owner": user.name, "label": text,
                                                       "permissionScope": list(perms) if perms else None,
                                                       "entityScope": list(ents) if ents else None,
                                                       "expiresAt": expires_at.isoformat() if expires_at else None})
        return CreatedKey(key, f"{KEY_PREFIX}{key_id}_{secret}")

    def list_keys(self, owner: str | None = None, *, by: Principal = SYSTEM) -> list[ApiKey]:
        """Keys of ``owner`` (the caller's own with ``keys:own``; anyone's with ``accounts:manage``)."""
        if owner is None or owner.strip().lower() != by.subject or not by.can("keys:own"):
            by.require("accounts:manage")
        return self.store.list_keys(owner.strip().lower() if owner else None)

    def revoke_key(self, key_id: str, *, by: Principal = SYSTEM) -> ApiKey:
        """Revoke a key (its owner with ``keys:own``, or ``accounts:manage``); it stops working at once.
        Audited."""
        key = self.store.get_key((key_id or "").strip().lower())
        if key is None:
            raise NotFoundError("API key", key_id)
        if not (by.subject == key.owner and by.can("keys:own") and by.kind != "key"):
            by.require("accounts:manage")
        now = self.clock()
        if not self.store.revoke_key(key.id, now):
            raise ConflictError(f"key {key.id} is revoked already / 密钥已撤销")
        self._forget()
        self._audit(by, "keys.revoke", key.id, detail={"owner": key.owner})
        return replace(key, revoked_at=now)

    def principal_for_key(self, api_key: str) -> Principal:
        """The principal of a valid, unexpired, unrevoked key of an enabled user: the owner's roles narrowed by
        the key's scopes. No argon2: SHA-256 of a 256-bit secret, compared in constant time, cached."""
        text = (api_key or "").strip()
        key_id, secret = text[len(KEY_PREFIX):len(KEY_PREFIX) + 12], text[len(KEY_PREFIX) + 13:]
        if not text.startswith(KEY_PREFIX) or not KEY_ID.fullmatch(key_id) or text[len(KEY_PREFIX) + 12:][:1] != "_" \
                or not secret:
            raise self._deny("-", "auth.key-refused", "malformed", message="invalid API key / API 密钥无效")
        cached = self._keys.get(key_id)
        if cached is None:
            key = self.store.get_key(key_id)
            user = self.store.get_user(key.owner) if key is not None else None
            if key is None or user is None:
                raise self._deny(f"key:{key_id}", "auth.key-refused", "unknown",
                                 message="invalid API key / API 密钥无效")
            if user.disabled:
                raise self._deny(f"key:{key_id}", "auth.key-refused", "owner-disabled",
                                 message="the key's owner is disabled / 密钥所有者已停用")
            who = principal(f"key:{key.id}", user.roles, kind="key", tenant=user.tenant,
                            entity_scope=key.entity_scope, permission_scope=key.permission_scope, grants=self.grants)
            cached = _CachedKey(key, replace(who, extra={"owner": user.name, "label": key.label}))
            with self._lock:
                self._keys[key_id] = cached
        key = cached.key
        if not hmac.compare_digest(key.secret_hash, sha256_hex(secret)):
            raise self._deny(f"key:{key_id}", "auth.key-refused", "wrong-secret",
                             message="invalid API key / API 密钥无效")
        if key.revoked_at is not None:
            raise self._deny(f"key:{key_id}", "auth.key-refused", "revoked",
                             message="API key revoked / API 密钥已撤销")
        if key.expires_at is not None and key.expires_at <= self.clock():
            raise self._deny(f"key:{key_id}", "auth.key-refused", "expired",
                             message="API key expired / API 密钥已过期")
        return cached.principal

    # -- audit ---------------------------------------------------------------------------------------------------
    def record(self, event: AuditEvent) -> None:
        """Append ``event`` to the hash-chained log (the :class:`~lingang_twin.core.access.AuditSink`)."""
        self._audit_raw(event.actor, event.roles, event.action, event.target, event.outcome, event.detail,
                        at=event.at)

    def _audit(self, by: Principal, action: str, target: str | None,
               outcome: Literal["ok", "denied", "failed"] = "ok", detail: Mapping[str, Any] | None = None) -> None:
        self._audit_raw(by.subject, tuple(sorted(by.roles)), action, target, outcome, detail or {})

    def _audit_raw(self, actor: str, roles: Iterable[str], action: str, target: str | None, outcome: str,
                   detail: Mapping[str, Any], *, at: datetime | None = None) -> None:
        clean = json.loads(canonical_json(dict(detail)))  # JSON-able now, so the stored record hashes alike
        self.store.append_audit(at or self.clock(), actor, tuple(roles), action, target, outcome, clean)

    def audit(self, *, after: int = 0, limit: int = 100, actor: str | None = None, action: str | None = None,
              outcome: str | None = None, since: datetime | None = None, until: datetime | None = None,
              newest_first: bool = False, by: Principal = SYSTEM) -> list[AuditRecord]:
        """Audit records (``audit:read``), filtered; ``after`` pages by seq (oldest first) — or, with
        ``newest_first``, records before seq ``after`` (0: from the newest)."""
        by.require("audit:read")
        return self.store.audit_records(after=after, limit=limit, actor=actor, action=action, outcome=outcome,
                                        since=since, until=until, newest_first=newest_first)

    def verify_audit(self) -> AuditVerdict:
        """Check the whole chain against its head (:func:`verify_chain`)."""
        return verify_chain(self.store.audit_records(), self.store.audit_head())


__all__ = ["GENESIS", "KEY_PREFIX", "AccountPolicy", "AccountStore", "Accounts", "ApiKey", "AuditRecord",
           "AuditVerdict", "CreatedKey", "Session", "User", "canonical_json", "chain_hash", "sha256_hex",
           "utcnow", "verify_chain"]
