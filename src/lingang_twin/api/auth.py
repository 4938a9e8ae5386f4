"""Sign-in, sessions, users, API keys and the audit log over HTTP; and the authentication step every request passes.

:class:`Authenticate` (pure ASGI middleware) turns ``Authorization: Bearer <access token>``, ``Authorization: ApiKey
<key>`` or ``X-API-Key: <key>`` into a :class:`~lingang_twin.core.access.Principal` at ``request.state.principal``:
:data:`~lingang_twin.core.access.ANONYMOUS` without credentials, a 401 problem+json with ``WWW-Authenticate`` for
bad ones, and :data:`~lingang_twin.core.access.SYSTEM` for every request of an app without accounts
(``create_app(twin)`` with no ``authenticator``: embedded use and tests). It runs no argon2: a key is one SHA-256
and a cached look-up, a token one HMAC check (see :mod:`lingang_twin.core.accounts`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Receive, Scope, Send

from lingang_twin.api.problems import PROBLEM_TYPE, ProblemError
from lingang_twin.api.ratelimit import check_sign_in
from lingang_twin.core.access import ANONYMOUS, SYSTEM, AccessDenied, Authenticator, Principal
from lingang_twin.core.accounts import KEY_PREFIX, Accounts
from lingang_twin.core.guard import caller, requires, requires_any

REALM = 'Bearer realm="lingang-twin"'


def challenge(error: str | None = None, description: str | None = None) -> str:
    """The ``WWW-Authenticate`` value of a 401 (RFC 6750 §3)."""
    if error is None:
        return REALM
    text = (description or "").split(" / ")[0].replace('"', "'")
    return f'{REALM}, error="{error}", error_description="{text}"'


def unauthorized_body(detail: str, rule: str = "unauthenticated") -> bytes:
    """A 401 problem+json body."""
    return orjson.dumps({"type": f"urn:lingang-twin:problem:{rule}", "title": "Unauthorized / 未认证",
                         "status": 401, "detail": detail, "rule": rule})


class Authenticate:
    """Resolve the caller of every HTTP and WebSocket request into ``scope["state"]["principal"]`` (what
    ``request.state.principal`` reads); the authenticator is ``app.state.authenticator``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        authenticator: Authenticator | None = getattr(scope["app"].state, "authenticator", None)
        if authenticator is None:
            state["principal"] = SYSTEM
            await self.app(scope, receive, send)
            return
        authorization = api_key = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1").strip()
            elif name == b"x-api-key":
                api_key = value.decode("latin-1").strip()
        try:
            state["principal"] = resolve(authenticator, authorization, api_key)
        except AccessDenied as err:
            if scope["type"] != "http":
                await send({"type": "websocket.close", "code": 1008})
                return
            body = unauthorized_body(err.message, "invalid-credentials")
            await send({"type": "http.response.start", "status": 401, "headers": [
                (b"content-type", PROBLEM_TYPE.encode()), (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", challenge("invalid_token", err.message).encode("latin-1", "replace")),
                (b"cache-control", b"no-store")]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def resolve(authenticator: Authenticator, authorization: str | None, api_key: str | None) -> Principal:
    """The principal of a request's credentials (AccessDenied for bad ones; ANONYMOUS for none)."""
    if api_key:
        return authenticator.principal_for_key(api_key)
    if not authorization:
        return ANONYMOUS
    scheme, _, credentials = authorization.partition(" ")
    credentials = credentials.strip()
    scheme = scheme.lower()
    if scheme == "bearer" and credentials:
        if credentials.startswith(KEY_PREFIX):  # clients that only speak Bearer may send a key that way
            return authenticator.principal_for_key(credentials)
        return authenticator.principal_for_token(credentials)
    if scheme == "apikey" and credentials:
        return authenticator.principal_for_key(credentials)
    raise AccessDenied(ANONYMOUS, "auth", "unsupported Authorization scheme; use Bearer or ApiKey "
                       "/ 不支持的认证方式")


def get_principal(request: Request) -> Principal:
    """The caller of this request (set by :class:`Authenticate`; :func:`lingang_twin.core.guard.caller`)."""
    return caller(request)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_accounts(request: Request) -> Accounts:
    """The app's accounts service; 503 in an app without accounts (embedded, tests)."""
    found = getattr(request.app.state, "authenticator", None)
    if not isinstance(found, Accounts):
        raise ProblemError(503, "Accounts not configured / 未配置账户",
                           "this server runs without accounts (an embedded app); nothing to manage", "accounts-off")
    return found


AccountsDep = Annotated[Accounts, Depends(get_accounts)]


def signed_in(who: Principal) -> Principal:
    """``who``, or AccessDenied (401) for an anonymous caller."""
    if who.kind == "anonymous":
        raise AccessDenied(who, "auth", "sign in first / 请先登录")
    return who


# -- schemas -------------------------------------------------------------------------------------------------------
class TokenOut(BaseModel):
    """An OAuth2 token answer (RFC 6749 §5.1) with the refresh token."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="lifetime of the access token [s]")
    refresh_token: str


class RefreshIn(BaseModel):
    """A refresh token to exchange (it is rotated: use the new one next time)."""

    model_config = ConfigDict(extra="forbid")
    refresh_token: str = Field(min_length=1, max_length=512)


class SignOutIn(BaseModel):
    """Optionally the refresh token of the session to end (else the session of the request's access token)."""

    model_config = ConfigDict(extra="forbid")
    refresh_token: str | None = Field(default=None, max_length=512)


class MeOut(BaseModel):
    """Who the caller is and what it may do."""

    subject: str
    kind: str
    roles: list[str]
    permissions: list[str]
    tenant: str | None = None
    entityScope: list[str] | None = None
    session: str | None = None


class UserOut(BaseModel):
    """A user (never its password hash)."""

    name: str
    displayName: str
    roles: list[str]
    tenant: str | None = None
    disabled: bool
    lockedUntil: str | None = None
    createdAt: str | None = None


class UserList(BaseModel):
    """Every user."""

    data: list[UserOut]
    count: int


class UserIn(BaseModel):
    """A new user. The password is only ever sent here (over TLS) and stored as an argon2 hash."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    roles: list[str] = Field(min_length=1, max_length=16)
    displayName: str | None = Field(default=None, max_length=200)
    tenant: str | None = Field(default=None, max_length=256)


class UserPatch(BaseModel):
    """Change a user's roles (with its tenant) and/or disable or enable it."""

    model_config = ConfigDict(extra="forbid")
    roles: list[str] | None = Field(default=None, min_length=1, max_length=16)
    tenant: str | None = Field(default=None, max_length=256)
    disabled: bool | None = None


class KeyOut(BaseModel):
    """An API key (never its secret, never its hash)."""

    id: str
    owner: str
    label: str
    createdAt: str
    expiresAt: str | None = None
    permissionScope: list[str] | None = None
    entityScope: list[str] | None = None
    revokedAt: str | None = None
    createdBy: str | None = None


class KeyList(BaseModel):
    """Keys."""

    data: list[KeyOut]
    count: int


class KeyIn(BaseModel):
    """A new API key: for ``owner`` (default: the caller), narrowed to permissions and entities, until
    ``expiresAt``."""

    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=200)
    owner: str | None = Field(default=None, max_length=64)
    permissionScope: list[str] | None = Field(default=None, max_length=64)
    entityScope: list[str] | None = Field(default=None, max_length=1000)
    expiresAt: datetime | None = None


class KeyCreated(BaseModel):
    """The new key: ``secret`` is the full API key, shown this once (only its hash is kept)."""

    key: KeyOut
    secret: str


class AuditOut(BaseModel):
    """One audit record with its chain hashes."""

    seq: int
    at: str
    actor: str
    roles: list[str]
    action: str
    target: str | None = None
    outcome: str
    detail: dict[str, Any]
    prevHash: str
    hash: str


class AuditPage(BaseModel):
    """A page of the audit log; ``next``: the ``after`` of the next page (None at the end)."""

    data: list[AuditOut]
    count: int
    next: int | None = None


# -- routes --------------------------------------------------------------------------------------------------------
router = APIRouter(tags=["accounts · 账户"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _token(signed: Any, response: Response) -> TokenOut:
    response.headers.update(NO_STORE)
    return TokenOut(access_token=signed.access_token, expires_in=signed.expires_in,
                    refresh_token=signed.refresh_token)


@router.post("/api/v1/auth/token", response_model=TokenOut, summary="Sign in (OAuth2 password flow) · 登录",
             dependencies=[requires()])
def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], accounts: AccountsDep, request: Request,
          response: Response) -> TokenOut:
    """Exchange a user name and password (form fields ``username``, ``password``) for a short-lived access token
    (a JWT, send it as ``Authorization: Bearer …``) and a refresh token. Wrong credentials, a disabled or a locked
    account: 401, all alike (the audit log says which). Attempts are rate-limited per client address and per user
    name before the password is checked (429 with Retry-After; ``LINGANG_SIGN_IN_PER_MINUTE``)."""
    check_sign_in(request, form.username)
    return _token(accounts.sign_in(form.username, form.password, client=_client(request)), response)


@router.post("/api/v1/auth/refresh", response_model=TokenOut, summary="Refresh a session · 刷新令牌",
             dependencies=[requires()])
def refresh(body: RefreshIn, accounts: AccountsDep, response: Response) -> TokenOut:
    """A new access token and a new refresh token; the one sent is used up (sending it again ends the
    session)."""
    return _token(accounts.refresh(body.refresh_token), response)


@router.post("/api/v1/auth/sign-out", status_code=204, summary="Sign out · 退出登录",
             dependencies=[requires()])
def sign_out(who: PrincipalDep, accounts: AccountsDep, request: Request,
             body: SignOutIn | None = None) -> Response:
    """End the session of the request's access token (or of ``refresh_token``): its tokens stop working."""
    if body is not None and body.refresh_token:
        accounts.sign_out(body.refresh_token)
    else:
        signed_in(who)
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or who.kind != "user":
            raise ProblemError(422, "Invalid input / 输入无效", "sign out with the session's access token "
                               "(Authorization: Bearer) or its refresh_token; an API key is revoked with DELETE "
                               "/api/v1/keys/{id}", "session-token", "authorization")
        accounts.sign_out(credentials.strip())
    return Response(status_code=204, headers=NO_STORE)


@router.get("/api/v1/auth/me", response_model=MeOut, summary="Who am I · 当前用户",
            dependencies=[requires()])
def me(who: PrincipalDep) -> MeOut:
    """The caller: subject, roles, resolved permissions, tenant, entity scope (401 when not signed in)."""
    signed_in(who)
    return MeOut(subject=who.subject, kind=who.kind, roles=sorted(who.roles), permissions=sorted(who.permissions),
                 tenant=who.tenant, entityScope=list(who.entity_scope) if who.entity_scope is not None else None,
                 session=who.session)


@router.get("/api/v1/users", response_model=UserList, summary="Users · 用户列表",
            dependencies=[requires("accounts:manage")])
def list_users(who: PrincipalDep, accounts: AccountsDep) -> UserList:
    """Every user (``accounts:manage``)."""
    who.require("accounts:manage")
    users = [UserOut(**u.public()) for u in accounts.list_users()]
    return UserList(data=users, count=len(users))


@router.post("/api/v1/users", response_model=UserOut, status_code=201, summary="Add a user · 新增用户",
             dependencies=[requires("accounts:manage")])
def add_user(body: UserIn, who: PrincipalDep, accounts: AccountsDep) -> UserOut:
    """Create a user (``accounts:manage``); audited."""
    user = accounts.add_user(body.name, body.password, body.roles, display_name=body.displayName,
                             tenant=body.tenant, by=who)
    return UserOut(**user.public())


@router.patch("/api/v1/users/{name}", response_model=UserOut, summary="Change roles, disable · 修改用户",
              dependencies=[requires("accounts:manage")])
def patch_user(name: str, body: UserPatch, who: PrincipalDep, accounts: AccountsDep) -> UserOut:
    """Change a user's roles (and tenant) and/or disable or enable it (``accounts:manage``); applies to its
    tokens and keys at once; audited."""
    who.require("accounts:manage")
    user = accounts.user(name)
    if body.roles is not None:
        user = accounts.set_roles(name, body.roles, tenant=body.tenant, by=who)
    if body.disabled is not None and body.disabled != user.disabled:
        user = accounts.set_disabled(name, body.disabled, by=who)
    return UserOut(**user.public())


@router.get("/api/v1/keys", response_model=KeyList, summary="API keys · 密钥列表",
            dependencies=[requires_any("keys:own", "accounts:manage")])
def list_keys(who: PrincipalDep, accounts: AccountsDep,
              owner: Annotated[str | None, Query(max_length=64, description="whose keys (default: yours; "
                                                 "'*' every key, accounts:manage)")] = None) -> KeyList:
    """Your keys (``keys:own``), or anyone's (``accounts:manage``)."""
    signed_in(who)
    wanted = None if owner == "*" else (owner or (who.extra.get("owner") if who.kind == "key" else who.subject))
    keys = [KeyOut(**k.public()) for k in accounts.list_keys(wanted, by=who)]
    return KeyList(data=keys, count=len(keys))


@router.post("/api/v1/keys", response_model=KeyCreated, status_code=201, summary="Create an API key · 新建密钥",
             dependencies=[requires_any("keys:own", "accounts:manage")])
def create_key(body: KeyIn, who: PrincipalDep, accounts: AccountsDep, response: Response) -> KeyCreated:
    """A new API key for you (``keys:own``) or for ``owner`` (``accounts:manage``). The answer's ``secret`` is
    the key, shown this once: store it now. Audited."""
    signed_in(who)
    created = accounts.create_key(body.owner or who.subject, body.label, permission_scope=body.permissionScope,
                                  entity_scope=body.entityScope, expires_at=body.expiresAt, by=who)
    response.headers.update(NO_STORE)
    return KeyCreated(key=KeyOut(**created.key.public()), secret=created.secret)


@router.delete("/api/v1/keys/{key_id}", response_model=KeyOut, summary="Revoke an API key · 撤销密钥",
               dependencies=[requires_any("keys:own", "accounts:manage")])
def revoke_key(key_id: str, who: PrincipalDep, accounts: AccountsDep) -> KeyOut:
    """Revoke a key (yours with ``keys:own``, anyone's with ``accounts:manage``); it stops working at once."""
    signed_in(who)
    return KeyOut(**accounts.revoke_key(key_id, by=who).public())


@router.get("/api/v1/audit", response_model=AuditPage, summary="Audit log · 审计日志",
            dependencies=[requires("audit:read")])
def audit(who: PrincipalDep, accounts: AccountsDep,
          after: Annotated[int, Query(ge=0, description="page on: the 'next' of the previous page")] = 0,
          limit: Annotated[int, Query(ge=1, le=1000)] = 100,
          actor: Annotated[str | None, Query(max_length=200)] = None,
          action: Annotated[str | None, Query(max_length=200, description="an action, or a prefix ending in "
                                              "'.' (e.g. auth.)")] = None,
          outcome: Annotated[Literal["ok", "denied", "failed"] | None, Query()] = None,
          since: Annotated[datetime | None, Query(description="ISO 8601 with offset, inclusive")] = None,
          until: Annotated[datetime | None, Query(description="ISO 8601 with offset, exclusive")] = None,
          order: Annotated[Literal["newest", "oldest"], Query()] = "newest") -> AuditPage:
    """The audit log (``audit:read``), newest first by default, filtered by actor, action, outcome and time."""
    signed_in(who)
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ProblemError(422, "Invalid input / 输入无效", f"{name}: give a time zone offset / 须带时区",
                               "timezone", name)
    newest = order == "newest"
    rows = accounts.audit(after=after, limit=limit + 1, actor=actor, action=action, outcome=outcome, since=since,
                          until=until, newest_first=newest, by=who)
    page = rows[:limit]
    more = len(rows) > limit
    return AuditPage(data=[AuditOut(**r.to_dict()) for r in page], count=len(page),
                     next=page[-1].seq if more and page else None)

