"""Sign-in and the authentication step over HTTP: tokens, refresh rotation, sign-out, keys (header forms, scope,
revocation, shown once), bad credentials answered 401 problem+json with WWW-Authenticate, users and audit routes
with their permissions — the real app over a real DuckDB file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from lingang_fixtures import lingang_layout
from lingang_twin.api import create_app
from lingang_twin.core.accounts import AccountPolicy, Accounts
from lingang_twin.core.twin import Twin
from lingang_twin.settings import Settings
from lingang_twin.stores.duckdb_accounts import DuckDBAccountStore
from lingang_twin.stores.duckdb_store import DuckDBStore

FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
TENANT = "urn:ngsi-ld:Enterprise:deepharbor-ai"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def secured(tmp_path: Path, clock: Clock) -> Iterator[TestClient]:
    """The API with accounts: admin ``ada``, operator ``olga``, auditor ``audrey``."""
    store = DuckDBStore(tmp_path / "auth.duckdb")
    twin = Twin(store)
    twin.upsert(lingang_layout())
    accounts = Accounts(DuckDBAccountStore(store), b"s" * 32, clock=clock, hasher=FAST,
                        policy=AccountPolicy(lock_after=20))
    accounts.add_user("ada", "correct horse", ["admin"])
    accounts.add_user("olga", "operator pw 1", ["operator"])
    accounts.add_user("audrey", "auditor pw 1", ["auditor"])
    # The sign-in rate limit (10 a minute per address) would answer 429 before the 20 failures that lock an
    # account; it has its own test (tests/api/test_security_http.py), here the lock is under test.
    app = create_app(twin, Settings(db=tmp_path / "auth.duckdb", sign_in_burst=100), authenticator=accounts)
    with TestClient(app) as client:
        client.accounts = accounts  # type: ignore[attr-defined]
        yield client
    twin.close()


def sign_in(client: TestClient, user: str, password: str) -> dict[str, Any]:
    r = client.post("/api/v1/auth/token", data={"username": user, "password": password})
    assert r.status_code == 200, r.text
    return dict(r.json())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_401(r: Any) -> None:
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith('Bearer realm="lingang-twin"')


def test_password_flow_gives_a_bearer_token(secured: TestClient) -> None:
    body = sign_in(secured, "ada", "correct horse")
    assert body["token_type"] == "bearer" and body["expires_in"] == 900 and body["refresh_token"]
    me = secured.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json()["subject"] == "ada" and me.json()["permissions"] == ["*"]
    assert_401(secured.get("/api/v1/auth/me"))  # anonymous


def test_wrong_password_and_bad_tokens_are_401_problems(secured: TestClient) -> None:
    r = secured.post("/api/v1/auth/token", data={"username": "ada", "password": "wrong horse"})
    assert_401(r)
    assert r.json()["status"] == 401
    token = sign_in(secured, "ada", "correct horse")["access_token"]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert_401(secured.get("/health", headers=bearer(tampered)))
    assert_401(secured.get("/health", headers={"Authorization": "Basic YWRhOmNvcnJlY3QgaG9yc2U="}))
    assert_401(secured.get("/health", headers={"X-API-Key": "ltk_000000000000_nope"}))
    assert secured.get("/health").status_code == 200  # no credentials: anonymous, not refused here


def test_locked_after_twenty_failures(secured: TestClient) -> None:
    for _ in range(20):
        assert_401(secured.post("/api/v1/auth/token", data={"username": "olga", "password": "guess"}))
    r = secured.post("/api/v1/auth/token", data={"username": "olga", "password": "operator pw 1"})
    assert_401(r)
    assert "locked" in r.json()["detail"]
    audit = secured.get("/api/v1/audit", params={"action": "auth.locked"},
                        headers=bearer(sign_in(secured, "audrey", "auditor pw 1")["access_token"]))
    assert audit.status_code == 200 and audit.json()["count"] == 1 and audit.json()["data"][0]["target"] == "olga"


def test_refresh_rotates_and_sign_out_revokes(secured: TestClient) -> None:
    first = sign_in(secured, "olga", "operator pw 1")
    second = secured.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200 and second.headers["cache-control"] == "no-store"
    new = second.json()
    assert_401(secured.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}))
    # reuse ended the session: sign in again, then sign out
    third = sign_in(secured, "olga", "operator pw 1")
    assert secured.get("/api/v1/auth/me", headers=bearer(third["access_token"])).status_code == 200
    assert secured.post("/api/v1/auth/sign-out", headers=bearer(third["access_token"])).status_code == 204
    assert_401(secured.get("/api/v1/auth/me", headers=bearer(third["access_token"])))
    assert_401(secured.post("/api/v1/auth/refresh", json={"refresh_token": third["refresh_token"]}))
    assert_401(secured.get("/api/v1/auth/me", headers=bearer(new["access_token"])))


def test_expired_access_token_is_refused(secured: TestClient, clock: Clock) -> None:
    body = sign_in(secured, "olga", "operator pw 1")
    clock.now += timedelta(minutes=16)
    r = secured.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert_401(r)
    assert "expired" in r.json()["detail"]


def test_keys_shown_once_in_every_header_form_and_revoked(secured: TestClient) -> None:
    olga = bearer(sign_in(secured, "olga", "operator pw 1")["access_token"])
    ada = bearer(sign_in(secured, "ada", "correct horse")["access_token"])
    r = secured.post("/api/v1/keys", json={"label": "wall display", "owner": "olga",
                                           "permissionScope": ["entities:read"],
                                           "entityScope": ["urn:ngsi-ld:Building:*"]}, headers=ada)
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store", r.text
    secret, key_id = r.json()["secret"], r.json()["key"]["id"]
    listed = secured.get("/api/v1/keys", params={"owner": "olga"}, headers=ada).json()
    assert listed["count"] == 1 and secret not in str(listed)
    for headers in ({"X-API-Key": secret}, {"Authorization": f"ApiKey {secret}"}, bearer(secret)):
        me = secured.get("/api/v1/auth/me", headers=headers).json()
        assert me["subject"] == f"key:{key_id}" and me["permissions"] == ["entities:read"], me
        assert me["entityScope"] == ["urn:ngsi-ld:Building:*"]
    # olga (operator) holds no keys:own: she can neither list nor revoke her keys herself
    assert secured.get("/api/v1/keys", headers=olga).status_code == 403
    assert secured.delete(f"/api/v1/keys/{key_id}", headers=olga).status_code == 403
    assert secured.delete(f"/api/v1/keys/{key_id}", headers=ada).status_code == 200
    assert_401(secured.get("/api/v1/auth/me", headers={"X-API-Key": secret}))


def test_users_admin_routes_need_accounts_manage(secured: TestClient) -> None:
    ada = bearer(sign_in(secured, "ada", "correct horse")["access_token"])
    olga = bearer(sign_in(secured, "olga", "operator pw 1")["access_token"])
    assert secured.get("/api/v1/users", headers=olga).status_code == 403
    assert_401(secured.get("/api/v1/users"))
    new = {"name": "tina", "password": "tenant pw 12", "roles": ["enterprise_tenant"], "tenant": TENANT}
    assert secured.post("/api/v1/users", json=new, headers=olga).status_code == 403
    r = secured.post("/api/v1/users", json=new, headers=ada)
    assert r.status_code == 201 and "password" not in str(r.json()).lower().replace("tenant pw", ""), r.text
    assert secured.post("/api/v1/users", json=new, headers=ada).status_code == 409
    bad = secured.post("/api/v1/users", json={**new, "name": "x", "roles": ["wizard"]}, headers=ada)
    assert bad.status_code == 422 and bad.json()["field"] == "roles" and bad.json()["rule"] == "role-choice"
    tina = bearer(sign_in(secured, "tina", "tenant pw 12")["access_token"])
    mine = secured.post("/api/v1/keys", json={"label": "my ERP"}, headers=tina)  # keys:own
    assert mine.status_code == 201 and mine.json()["key"]["owner"] == "tina"
    r = secured.patch("/api/v1/users/olga", json={"roles": ["planner"]}, headers=ada)
    assert r.status_code == 200 and r.json()["roles"] == ["planner"]
    assert "lifecycle:write" in secured.get("/api/v1/auth/me", headers=olga).json()["permissions"]
    r = secured.patch("/api/v1/users/olga", json={"disabled": True}, headers=ada)
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert_401(secured.get("/api/v1/auth/me", headers=olga))
    names = [u["name"] for u in secured.get("/api/v1/users", headers=ada).json()["data"]]
    assert names == ["ada", "audrey", "olga", "tina"]


def test_audit_route_pages_and_filters(secured: TestClient) -> None:
    for _ in range(3):
        sign_in(secured, "ada", "correct horse")
    audrey = bearer(sign_in(secured, "audrey", "auditor pw 1")["access_token"])
    olga = bearer(sign_in(secured, "olga", "operator pw 1")["access_token"])
    assert secured.get("/api/v1/audit", headers=olga).status_code == 403
    page = secured.get("/api/v1/audit", params={"limit": 2, "action": "auth.sign-in"}, headers=audrey).json()
    assert page["count"] == 2 and page["next"] is not None
    assert [r["actor"] for r in page["data"]] == ["olga", "audrey"]  # newest first
    rest = secured.get("/api/v1/audit", params={"limit": 100, "action": "auth.sign-in", "after": page["next"]},
                       headers=audrey).json()
    assert [r["actor"] for r in rest["data"]] == ["ada", "ada", "ada"] and rest["next"] is None
    assert all(len(r["hash"]) == 64 for r in rest["data"])
    bad = secured.get("/api/v1/audit", params={"since": "2026-01-01T00:00:00"}, headers=audrey)
    assert bad.status_code == 422 and bad.json()["field"] == "since"


def test_without_accounts_every_request_is_system(api: TestClient) -> None:
    me = api.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["subject"] == "system"
    r = api.get("/api/v1/users")
    assert r.status_code == 503 and r.json()["rule"] == "accounts-off"
