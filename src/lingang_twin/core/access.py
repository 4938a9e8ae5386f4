"""Who may do what (权限): roles, permissions, the caller of every read and write, data classification grades.

Every read and write of the twin carries its caller, a :class:`Principal`. The :class:`~lingang_twin.core.twin.Twin`
checks it where data is read and written (``twin.as_caller(principal)`` gives a view that does), so a face that
forgets a check cannot leak: faces only authenticate (who is this?) and translate the core's refusals
(:class:`AccessDenied`) into 401/403.

Permissions are ``area:verb`` strings. The core's are listed in :data:`CORE_PERMISSIONS`; a pack declares its own
(``Pack.permissions``) and which roles hold them (``Pack.grants``). :data:`ROLES` gives each role the least it needs;
``admin`` holds every permission (``*``). Three things narrow a principal beyond its roles:

* ``tenant``: an enterprise tenant (``enterprise_tenant``) sees its own Enterprise, what it ``occupies`` and what
  lies inside that, and the meters whose ``tenant`` is that enterprise — nothing else;
* ``entity_scope``: an API key scoped to entities (ids, or patterns with ``*``) reads and writes those only;
* ``permission_scope``: an API key scoped to a subset of its owner's permissions (e.g. ``readings:write`` only).

Data classification follows the grades of China's Data Security Law (数据安全法) and the Personal Information
Protection Law: :data:`CLASSIFICATIONS`, lowest first.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from lingang_twin.core.errors import TwinError

Words = tuple[str, str]

# -- permissions -------------------------------------------------------------------------------------------------
CORE_PERMISSIONS: dict[str, Words] = {
    "entities:read": ("读取实体", "read entities"),
    "entities:write": ("创建和修改实体", "create and change entities"),
    "entities:delete": ("删除实体", "delete entities"),
    "lifecycle:write": ("变更生命周期阶段", "change lifecycle phases"),
    "readings:read": ("读取读数", "read readings"),
    "readings:write": ("写入读数", "write readings"),
    "readings:correct": ("更正和删除读数", "correct and delete readings"),
    "checks:read": ("查看检查结果", "see check findings"),
    "checks:run": ("运行检查并发出告警", "run checks and raise alerts"),
    "export:read": ("批量导出数据", "export data in bulk"),
    "export:approve": ("审批出境/对外数据导出", "approve exports leaving the district"),
    "data:personal": ("查看未脱敏的个人信息", "see personal information unmasked"),
    "data:important": ("查看重要数据", "see important data"),
    "store:admin": ("备份、恢复和整理数据库", "back up, restore and compact the database"),
    "accounts:manage": ("管理用户、角色和密钥", "manage users, roles and keys"),
    "keys:own": ("管理自己的 API 密钥", "manage one's own API keys"),
    "audit:read": ("查看审计日志", "read the audit log"),
    "docs:read": ("查看 API 文档", "read the API documentation"),
}
"""The core's permissions → (中文, English). A pack adds its own through ``Pack.permissions``."""

ALL = "*"
"""Every permission (the admin's)."""

Role = Literal["operator", "energy_manager", "property_manager", "mobility_operator", "planner", "integrator",
               "enterprise_tenant", "auditor", "admin"]


@dataclass(frozen=True)
class RoleSpec:
    """A role: its label, the core permissions it holds, and the entity types it may write (``None``: any type it
    may write at all; ``()``: none)."""

    label: Words
    permissions: frozenset[str]
    write_types: tuple[str, ...] | None = ()


_READ = frozenset({"entities:read", "readings:read"})
ROLES: dict[str, RoleSpec] = {
    # The operations centre: watches everything, runs checks, handles alerts and work orders.
    "operator": RoleSpec(("运营值班员", "operator"), _READ | {"checks:read", "checks:run", "entities:write",
                                                              "docs:read"},
                         write_types=("Alert", "MaintenanceRequest")),
    "energy_manager": RoleSpec(("能源管理员", "energy manager"),
                               _READ | {"readings:write", "readings:correct", "checks:read", "checks:run",
                                        "entities:write", "export:read", "docs:read"},
                               write_types=("Meter", "Alert", "HydrogenStation")),
    "property_manager": RoleSpec(("物业管理员", "property manager"),
                                 _READ | {"entities:write", "checks:read", "export:read", "docs:read"},
                                 write_types=("Building", "Space", "Enterprise", "OffStreetParking", "ParkingSpot",
                                              "MaintenanceRequest")),
    "mobility_operator": RoleSpec(("交通运营员", "mobility operator"),
                                  _READ | {"readings:write", "entities:write", "checks:read", "docs:read"},
                                  write_types=("OffStreetParking", "ParkingSpot", "Vehicle", "Road",
                                               "EVChargingStation", "Alert")),
    "planner": RoleSpec(("规划建设人员", "planner"),
                        _READ | {"entities:write", "lifecycle:write", "export:read", "docs:read"},
                        write_types=None),
    # Devices and integrators' systems: write readings and read the entities they feed (keys narrow them further).
    "integrator": RoleSpec(("系统集成方", "integrator"), _READ | {"readings:write", "docs:read"}),
    # A tenant of the district: its own entities and readings only (``Principal.tenant``).
    "enterprise_tenant": RoleSpec(("入驻企业", "enterprise tenant"), _READ | {"keys:own"}),
    "auditor": RoleSpec(("审计员", "auditor"), frozenset({"entities:read", "audit:read", "docs:read"})),
    "admin": RoleSpec(("系统管理员", "administrator"), frozenset({ALL}), write_types=None),
}
"""Each role with the least it needs. A pack's ``grants`` add its own permissions to roles."""

ROLE_NAMES: tuple[str, ...] = tuple(ROLES)


# -- classification ----------------------------------------------------------------------------------------------
Classification = Literal["public", "internal", "sensitive", "personal", "important"]
CLASSIFICATIONS: dict[str, Words] = {
    "public": ("公开", "public"),
    "internal": ("内部", "internal"),
    "sensitive": ("敏感", "sensitive"),
    "personal": ("个人信息", "personal"),
    "important": ("重要数据", "important"),
}
"""The grades (数据分类分级), lowest first. ``personal`` is masked unless the caller holds ``data:personal``;
``important`` is readable only with ``data:important``; both need an approved request to leave the district."""


# -- the caller ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Principal:
    """The caller of a read or write: ``subject`` (a user name, ``key:<id>`` for an API key, ``system``), its
    ``roles``, and what narrows it (see the module docstring). ``permissions`` is the resolved set (roles plus the
    packs' grants, intersected with ``permission_scope``): build principals with :func:`principal`."""

    subject: str
    roles: frozenset[str]
    permissions: frozenset[str]
    kind: Literal["user", "key", "system", "anonymous"] = "user"
    tenant: str | None = None
    entity_scope: tuple[str, ...] | None = None
    write_types: tuple[str, ...] | None = None
    session: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def can(self, permission: str) -> bool:
        """Whether this caller holds ``permission``."""
        return ALL in self.permissions or permission in self.permissions

    def require(self, permission: str) -> None:
        """Raise :class:`AccessDenied` unless this caller holds ``permission``."""
        if not self.can(permission):
            raise AccessDenied(self, permission)

    @property
    def unrestricted(self) -> bool:
        """True when nothing narrows which entities this caller sees (no tenant, no entity scope)."""
        return self.tenant is None and self.entity_scope is None

    def in_entity_scope(self, entity_id: str) -> bool:
        """Whether an API key's entity scope admits ``entity_id`` (always true without a scope)."""
        if self.entity_scope is None:
            return True
        return any(entity_id == p or ("*" in p and fnmatch.fnmatchcase(entity_id, p)) for p in self.entity_scope)

    def may_write_type(self, entity_type: str) -> bool:
        """Whether this caller may create or change entities of ``entity_type`` (``entities:write`` and the roles'
        write types)."""
        if not self.can("entities:write"):
            return False
        return self.write_types is None or entity_type in self.write_types


def principal(subject: str, roles: Iterable[str], *, kind: Literal["user", "key", "system", "anonymous"] = "user",
              tenant: str | None = None, entity_scope: Iterable[str] | None = None,
              permission_scope: Iterable[str] | None = None,
              grants: Mapping[str, Iterable[str]] | None = None, session: str | None = None) -> Principal:
    """Build a :class:`Principal` from role names: its permissions are the roles' plus ``grants`` (role →
    permissions, the packs' ``Pack.grants`` merged), narrowed to ``permission_scope`` when given (an API key)."""
    role_set = frozenset(roles)
    unknown = sorted(role_set - set(ROLES))
    if unknown:
        from lingang_twin.core.errors import ValidationError

        raise ValidationError("roles", "role-choice", f"unknown roles {unknown}; choose from {', '.join(ROLES)} "
                              "/ 未知角色")
    perms: set[str] = set()
    write_types: set[str] | None = set()
    for r in role_set:
        spec = ROLES[r]
        perms |= spec.permissions
        perms |= set((grants or {}).get(r, ()))
        if spec.write_types is None:
            write_types = None
        elif write_types is not None:
            write_types |= set(spec.write_types)
    if permission_scope is not None:
        scope = set(permission_scope)
        perms = (perms & scope) if ALL not in perms else scope
    return Principal(subject=subject, roles=role_set, permissions=frozenset(perms), kind=kind, tenant=tenant,
                     entity_scope=tuple(entity_scope) if entity_scope is not None else None,
                     write_types=tuple(sorted(write_types)) if write_types is not None else None, session=session)


SYSTEM = Principal(subject="system", roles=frozenset({"admin"}), permissions=frozenset({ALL}), kind="system",
                   write_types=None)
"""The platform itself (the demo builder, migrations, the CLI run by the machine's operator): holds everything."""

ANONYMOUS = Principal(subject="anonymous", roles=frozenset(), permissions=frozenset(), kind="anonymous")
"""A caller that has not signed in: holds nothing."""


class AccessDenied(TwinError, PermissionError):
    """The caller may not do this. ``permission`` names what was missing (or ``entity`` the entity out of its
    reach); faces answer 401 for an anonymous caller and 403 otherwise."""

    def __init__(self, who: Principal, permission: str, message: str | None = None, *,
                 entity: str | None = None) -> None:
        self.principal = who
        self.permission = permission
        self.entity = entity
        self.message = message or (f"{who.subject} lacks permission {permission} / 无权限: {permission}")
        super().__init__(self.message)


# -- audit -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditEvent:
    """One record of the audit log: who (``actor``, a principal's subject, and its ``roles``), did what
    (``action``, e.g. ``auth.sign-in``, ``auth.sign-in-failed``, ``entities.delete``, ``readings.correct``,
    ``export``, ``accounts.role-change``), to what (``target``), with what result (``outcome``: ``ok`` /
    ``denied`` / ``failed``) and the details (``detail``, JSON-able)."""

    actor: str
    action: str
    target: str | None = None
    outcome: Literal["ok", "denied", "failed"] = "ok"
    detail: Mapping[str, Any] = field(default_factory=dict)
    roles: tuple[str, ...] = ()
    at: datetime | None = None


@runtime_checkable
class AuditSink(Protocol):
    """Where audit events go: an append-only, hash-chained log (``stores`` implement it)."""

    def record(self, event: AuditEvent) -> None:
        """Append ``event`` durably (in its own transaction, or the caller's when one is open)."""


# -- authentication (faces call it; ``lingang_twin.core.accounts`` implements it) --------------------------------
@dataclass(frozen=True)
class SignedIn:
    """What a successful sign-in gives: a short-lived JWT ``access_token``, a ``refresh_token``, the access
    token's lifetime in seconds, and the principal."""

    access_token: str
    refresh_token: str
    expires_in: int
    principal: Principal


class Authenticator(Protocol):
    """Turns credentials into a :class:`Principal`. Every method raises :class:`AccessDenied` (permission
    ``auth``) on bad credentials, expired or revoked tokens, locked or disabled accounts; each outcome is audited.
    The API keeps one at ``app.state.authenticator``; ``None`` there means an embedded app without accounts, in
    which every request is :data:`SYSTEM` (tests and library use; ``serve`` and ``demo`` always have one)."""

    def sign_in(self, username: str, password: str, *, client: str | None = None) -> SignedIn:
        """Check a password (argon2) and open a session."""

    def refresh(self, refresh_token: str) -> SignedIn:
        """A new access token (and a rotated refresh token) for a live session."""

    def sign_out(self, token: str) -> None:
        """Revoke the session ``token`` (an access or refresh token) belongs to."""

    def principal_for_token(self, access_token: str) -> Principal:
        """The principal of a valid, unrevoked access token."""

    def principal_for_key(self, api_key: str) -> Principal:
        """The principal of a valid, unexpired, unrevoked API key (scoped as the key says)."""


__all__ = ["ALL", "ANONYMOUS", "CLASSIFICATIONS", "CORE_PERMISSIONS", "ROLES", "ROLE_NAMES", "SYSTEM",
           "AccessDenied", "AuditEvent", "AuditSink", "Authenticator", "Classification", "Principal", "Role",
           "RoleSpec", "SignedIn", "principal"]
