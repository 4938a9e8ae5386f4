"""The HTTP shell of issue 12 ("Security tests"), in process over the real app and a real DuckDB file: security
headers, the Host check (DNS rebinding), no state change through a GET or a cross-origin / form-encoded request
(the issue's CSRF probe), rate limits, and the docs behind ``docs:read``. What needs a real server process (the
banner, TLS, the console's websocket) is in ``tests/e2e/test_security_server.py``.

Where a test needs a signed-in caller it signs in for real: users of the app's real accounts (argon2 made fast),
the OAuth2 password flow, bearer tokens and API keys through the accounts' authentication step.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.requests import Request

from lingang_fixtures import DISTRICT, JOINT_LAB, M_ELEC, M_ELEC_SUB, M_WATER, lingang_layout
from lingang_twin.api import create_app
from lingang_twin.api.guard import allowed_host_names, host_name
from lingang_twin.api.headers import tile_origin
from lingang_twin.api.ratelimit import Buckets, Rate, RateLimited, check_sign_in
from lingang_twin.app import PACKS, check_exposure, tls_files
from lingang_twin.core.accounts import Accounts
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.twin import Twin
from lingang_twin.settings import Settings
from lingang_twin.stores.duckdb_accounts import DuckDBAccountStore
from lingang_twin.stores.duckdb_store import DuckDBStore

PROBLEM = "application/problem+json"
CST = timezone(timedelta(hours=8))
DAY = datetime(2026, 3, 1, tzinfo=CST)
WINDOW = {"scope": DISTRICT, "start": "2026-03-01T00:00:00+08:00", "end": "2026-03-04T00:00:00+08:00"}
ALERTS = "/api/v1/energy/quality/alerts"
OWN = "http://testserver"


@pytest.fixture
def twin(tmp_path: Path) -> Iterator[Twin]:
    """The small Lingang layout with one day of hourly readings on two meters: the quality check finds gaps in a
    three-day window, so raising alerts would write."""
    t = Twin(DuckDBStore(tmp_path / "security.duckdb"))
    from lingang_twin.core.packs import install

    install(t, PACKS)
    t.upsert(lingang_layout())
    t.append([{"entity_id": m, "attribute": "reading", "value": 10.0 + h, "observed_at": DAY + timedelta(hours=h)}
              for m in (M_ELEC, M_WATER) for h in range(24)])
    # The main meter's register is cumulative (23 kWh in the day), its sub-meter's interval (2.4 kWh): the
    # unmetered loss (90 %) is flagged, so raising its alerts would write.
    t.append([{"entity_id": M_ELEC_SUB, "attribute": "reading", "value": 0.1,
               "observed_at": DAY + timedelta(hours=h)} for h in range(24)])
    yield t
    t.close()


FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
USERS = {  # name → (password, role); ann is a tenant of TENANT
    "ann": ("tenant pw 1", "enterprise_tenant"), "olga": ("operator pw 1", "operator"),
    "aud": ("auditor pw 1", "auditor"), "ivy": ("integrator pw 1", "integrator"),
}
TENANT = "urn:ngsi-ld:Enterprise:deepharbor-ai"


@pytest.fixture
def accounts(twin: Twin) -> Accounts:
    """Real accounts kept in the twin's file, with the users of :data:`USERS`."""
    found = Accounts(DuckDBAccountStore(twin.store), b"s" * 32, hasher=FAST)  # type: ignore[arg-type]
    for name, (password, role) in USERS.items():
        found.add_user(name, password, [role], tenant=TENANT if role == "enterprise_tenant" else None)
    return found


def client_of(twin: Twin, accounts: Accounts | None = None, **settings: Any) -> TestClient:
    """A client of the real app (with the packs); with ``accounts``, callers are whoever signs in (else every
    request is the platform's: an embedded app)."""
    app = create_app(twin, Settings(db=Path("unused.duckdb"), max_body_bytes=64 * 1024, **settings), PACKS,
                     authenticator=accounts)
    return TestClient(app)


def signed_in(api: TestClient, name: str) -> dict[str, str]:
    """The headers of user ``name`` signed in through the OAuth2 password flow."""
    r = api.post("/api/v1/auth/token", data={"username": name, "password": USERS[name][0]})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def alerts_stored(twin: Twin) -> int:
    return twin.query(types=["Alert"], limit=1000).total


def assert_problem(r: Any, status: int, rule: str) -> dict[str, Any]:
    assert r.status_code == status, r.text[:300]
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["rule"] == rule and " / " in body["detail"], body
    return body


# -- security headers ------------------------------------------------------------------------------------------
BASE_HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer"}


def assert_base_headers(r: Any) -> str:
    for name, value in BASE_HEADERS.items():
        assert r.headers.get(name) == value, (r.request.url, name, dict(r.headers))
    csp: str = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    return csp


def test_every_answer_carries_the_security_headers_refusals_too(twin: Twin) -> None:
    with client_of(twin) as api:
        answers = [api.get("/health"), api.get("/api/v1/nope"),
                   api.post("/api/v1/entities", content=b"x" * (65 * 1024),
                            headers={"content-type": "application/json"}),
                   api.get("/health", headers={"host": "evil.example"}),
                   api.delete(f"/api/v1/entities/{JOINT_LAB}", headers={"origin": "http://evil.example"})]
        assert [r.status_code for r in answers] == [200, 404, 413, 400, 403]
        for r in answers:
            csp = assert_base_headers(r)
            assert csp.startswith("default-src 'none'"), csp  # JSON opened as a page runs nothing
            assert "strict-transport-security" not in r.headers  # plain HTTP: no HSTS promise
        docs = api.get("/docs")
        assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
        csp = assert_base_headers(docs)
        # An HTML page: its own scripts (Swagger's inline start-up) and this server's websocket, nothing foreign.
        assert "script-src 'self' 'unsafe-inline'" in csp and "connect-src 'self' ws://testserver" in csp
        assert "object-src 'none'" in csp and "http" not in csp.replace("https", "")  # no other origin
    with TestClient(create_app(twin, Settings(db=Path("x.duckdb"), tile_url="https://{s}.tiles.example/{z}/{x}/{y}"
                                              ".png")), base_url="https://testserver") as tls:
        r = tls.get("/docs")
        assert r.headers["strict-transport-security"] == "max-age=31536000"  # over HTTPS (or a trusted proxy's)
        assert "img-src 'self' data: blob: https://*.tiles.example;" in r.headers["content-security-policy"]
    assert tile_origin("https://tiles.example:8443/{z}/{x}/{y}.png") == "https://tiles.example:8443"


# -- the Host header (DNS rebinding) ---------------------------------------------------------------------------
def test_host_header_is_checked_against_the_configured_names(twin: Twin) -> None:
    with client_of(twin) as api:
        body = assert_problem(api.get("/api/v1/entities", headers={"host": "evil.example"}), 400,
                              "host-not-allowed")
        assert body["field"] == "host" and "evil.example" in body["detail"] and "data" not in body
        for host in ("evil.example:8000", "127.0.0.1.evil.example", "localhost.evil.example", ""):
            assert api.get("/health", headers={"host": host}).status_code == 400, host
        for host in ("127.0.0.1:8000", "localhost", "LOCALHOST:80", "[::1]:8000", "localhost."):
            assert api.get("/health", headers={"host": host}).status_code == 200, host
    with client_of(twin, allowed_hosts=["twin.example.com", "*.lingang.example"]) as api:
        assert api.get("/health", headers={"host": "twin.example.com:443"}).status_code == 200
        assert api.get("/health", headers={"host": "ops.lingang.example"}).status_code == 200
        assert api.get("/health", headers={"host": "lingang.example.evil"}).status_code == 400
        assert api.get("/health", headers={"host": "evillingang.example"}).status_code == 400
    # The defaults: loopback names and the bind address, never a wildcard bind's "0.0.0.0".
    assert allowed_host_names(Settings(host="10.0.0.5", allowed_hosts=[])) == ("localhost", "127.0.0.1", "::1",
                                                                                 "10.0.0.5")
    assert "0.0.0.0" not in allowed_host_names(Settings(host="0.0.0.0", allowed_hosts=[]))
    assert [host_name(h) for h in ("[::1]:8000", "Twin.Example.COM.", "10.0.0.5:80")] == [
        "::1", "twin.example.com", "10.0.0.5"]


# -- CSRF: no state change cross-origin or form-encoded ---------------------------------------------------------
def test_the_issues_csrf_probe_writes_nothing(twin: Twin) -> None:
    """Issue 12: "a form-encoded cross-origin POST to /api/v1/energy/quality/alerts (query parameters only) created
    7 Alert entities". Each way a cross-site page can send it is refused, and nothing is written."""
    before = twin.latest_change()
    with client_of(twin) as api:
        form = {"content-type": "application/x-www-form-urlencoded"}
        probes = [
            # the probe itself: an HTML form on evil.example, auto-submitted
            ({**form, "origin": "http://evil.example", "sec-fetch-site": "cross-site"}, b"", 403, "cross-origin"),
            # the same without the Origin a browser sends (an old browser, a privacy extension): its body type
            ({**form}, b"x=1", 415, "media-type"),
            ({"content-type": "text/plain"}, b"{}", 415, "media-type"),
            ({"content-type": "multipart/form-data; boundary=x"}, b"--x--", 415, "media-type"),
            # fetch(..., {mode: "no-cors", method: "POST"}): no body, no type, but the browser says where from
            ({"origin": "http://evil.example"}, b"", 403, "cross-origin"),
            ({"sec-fetch-site": "cross-site"}, b"", 403, "cross-origin"),
            ({"origin": "null"}, b"", 403, "cross-origin"),  # a sandboxed frame or a file:// page
            ({"origin": "http://testserver.evil.example"}, b"", 403, "cross-origin"),
            ({"origin": "http://testserver:8080"}, b"", 403, "cross-origin"),  # another port is another origin
        ]
        for headers, body, status, rule in probes:
            assert_problem(api.post(ALERTS, params=WINDOW, headers=headers, content=body), status, rule)
        assert alerts_stored(twin) == 0 and twin.latest_change() == before
        # The control: the console's own page (same origin), or a client that is not a browser, may.
        r = api.post(ALERTS, params=WINDOW, headers={"origin": OWN, "sec-fetch-site": "same-origin"})
        assert r.status_code == 200 and r.json()["count"] > 0, r.text
        assert alerts_stored(twin) == r.json()["count"]


def test_no_cross_origin_or_form_encoded_write_on_any_method(twin: Twin) -> None:
    entity = {"id": "urn:ngsi-ld:Building:csrf", "type": "Building", "containedIn": DISTRICT}
    with client_of(twin, allowed_origins=["https://ops.lingang.example"]) as api:
        evil = {"origin": "https://evil.example"}
        assert_problem(api.delete(f"/api/v1/entities/{JOINT_LAB}", headers=evil), 403, "cross-origin")
        assert_problem(api.patch(f"/api/v1/entities/{JOINT_LAB}", json={"phase": "retired"}, headers=evil), 403,
                       "cross-origin")
        assert_problem(api.post("/api/v1/entities", json=entity, headers=evil), 403, "cross-origin")
        assert_problem(api.post("/api/v1/observations", content=b"entity_id,attribute,observed_at,value\n",
                                headers={"content-type": "text/plain"}), 415, "media-type")
        assert_problem(api.post("/api/v1/entities", content=b"id=x&type=Building",
                                headers={"content-type": "application/x-www-form-urlencoded"}), 415, "media-type")
        assert api.get(f"/api/v1/entities/{JOINT_LAB}").json()["phase"] != "retired"
        assert api.get("/api/v1/entities/urn:ngsi-ld:Building:csrf").status_code == 404
        # A configured origin (another of the district's own sites) may; reads stay open to any page's links.
        r = api.patch(f"/api/v1/entities/{JOINT_LAB}", json={"properties": {"name": "ok"}},
                      headers={"origin": "https://ops.lingang.example", "sec-fetch-site": "cross-site"})
        assert r.status_code == 200, r.text
        assert api.get("/health", headers=evil).status_code == 200
        # The OAuth2 token endpoint is form-encoded by its standard: the body type passes, a foreign Origin not.
        token = api.post("/api/v1/auth/token", data={"username": "a", "password": "b"})
        assert token.status_code not in (403, 415), token.text
        assert_problem(api.post("/api/v1/auth/token", data={"username": "a", "password": "b"}, headers=evil),
                       403, "cross-origin")


def _value(name: str, schema: dict[str, Any]) -> Any:
    """A plausible value for a query or path parameter of the energy and core routes, by its name."""
    lowered = name.lower()
    if schema.get("type") == "boolean":
        return "true"  # every switch on: a GET that writes when asked (alerts=true) is what this looks for
    if lowered in ("scope", "meter", "entity_id", "id", "under", "entity", "main"):
        return M_ELEC
    if "month" in lowered:
        return "2026-03"
    if lowered in ("start", "baseline_start") or lowered.endswith("start"):
        return "2026-03-01T00:00:00+08:00"
    if lowered in ("end", "reporting_end", "retrofit_date", "issued_at") or lowered.endswith("end"):
        return "2026-03-02T00:00:00+08:00"
    if lowered == "attribute":
        return "reading"
    return schema.get("default", "x")


def test_no_get_changes_state(twin: Twin) -> None:
    """Every GET of the OpenAPI (the packs' too), every switch on, changes nothing: not the entities, not the
    readings, not the change feed. /api/v1/energy/unmetered-loss?alerts=true raised alerts before issue 12."""
    before = (twin.latest_change(), alerts_stored(twin), twin.count())
    answered: dict[str, int] = {}
    with client_of(twin) as api:
        document = api.get("/openapi.json").json()
        for path, ops in document["paths"].items():
            if "get" not in ops:
                continue
            params = {p["name"]: _value(p["name"], p.get("schema", {})) for p in ops["get"].get("parameters", [])
                      if p["in"] == "query" and (p.get("required") or p.get("schema", {}).get("type") == "boolean")}
            url = re.sub(r"\{[^}]+\}", M_ELEC, path)
            answered[path] = api.get(url, params=params).status_code
    assert (twin.latest_change(), alerts_stored(twin), twin.count()) == before, answered
    assert len(answered) >= 15 and sum(s == 200 for s in answered.values()) >= 10, answered
    assert answered["/api/v1/energy/unmetered-loss"] in (200, 422)  # walked (422: M_ELEC's sub-meters unread)


# -- rate limits -------------------------------------------------------------------------------------------------
def test_token_bucket_refills_and_stays_bounded() -> None:
    now = [0.0]
    buckets = Buckets("sign-in", Rate(per_second=0.5, burst=3), clock=lambda: now[0], max_keys=2)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(2.0)  # empty: one token comes in 1 / 0.5 s
    assert buckets.take("b") == 0.0  # another key has its own bucket
    now[0] = 1.0
    assert buckets.take("a") == pytest.approx(1.0)  # half a token refilled: a second more
    now[0] = 3.0
    assert buckets.take("a") == 0.0
    with pytest.raises(RateLimited) as err:
        buckets.check("a")
    assert err.value.limit == "sign-in" and err.value.retry_after > 0
    buckets.take("c")  # a third key: the least recently used ("b") is dropped, memory stays bounded
    assert set(buckets._state) == {"a", "c"}
    assert Buckets("x", Rate(0.0, 1)).take("k") == 0.0  # rate 0: unlimited


def test_ingest_is_limited_per_key_with_429_and_retry_after(twin: Twin, accounts: Accounts) -> None:
    rows = [{"entity_id": M_ELEC, "attribute": "reading", "value": 1.0,
             "observed_at": (DAY + timedelta(days=1, hours=h)).isoformat()} for h in range(4)]
    # Two real API keys of one integrator, sent as devices send them: each key has its own bucket.
    key_a, key_b = ({"X-API-Key": accounts.create_key("ivy", label).secret} for label in ("gateway a", "gateway b"))
    with client_of(twin, accounts, ingest_per_second=0.001, ingest_burst=2) as api:
        for i in range(2):
            assert api.post("/api/v1/observations", json=[rows[i]], headers=key_a).status_code == 200
        stored = len(twin.read(M_ELEC, "reading"))
        r = api.post("/api/v1/observations", json=[rows[2]], headers=key_a)
        body = assert_problem(r, 429, "rate-limit")
        assert int(r.headers["retry-after"]) >= 900 and body["retryAfter"] == int(r.headers["retry-after"])
        assert body["quota"] == "ingest"
        assert len(twin.read(M_ELEC, "reading")) == stored  # refused before the body was read
        assert api.post("/api/v1/observations", json=[rows[3]], headers=key_b).status_code == 200  # B: its own
        # The key's owner signed in is another caller (its subject, not the key's): not held back by key A.
        assert api.post("/api/v1/observations", json=[rows[2]], headers=signed_in(api, "ivy")).status_code == 200
    with client_of(twin, ingest_per_second=0.001, ingest_burst=1) as api:  # no accounts: the platform, unlimited
        for _ in range(3):
            assert api.post("/api/v1/observations", json=rows[:1]).status_code == 200


def test_sign_in_is_limited_per_address_and_per_user(twin: Twin) -> None:
    app = create_app(twin, Settings(db=Path("x.duckdb"), sign_in_per_minute=1, sign_in_burst=2))

    def request(address: str) -> Request:
        return Request({"type": "http", "app": app, "client": (address, 5555), "headers": [], "method": "POST",
                        "path": "/api/v1/auth/token"})

    check_sign_in(request("10.0.0.1"), "alice")
    check_sign_in(request("10.0.0.1"), "Alice ")  # the same user, however typed
    with pytest.raises(RateLimited):
        check_sign_in(request("10.0.0.2"), "alice")  # a new address, but alice has had her two
    with pytest.raises(RateLimited):
        check_sign_in(request("10.0.0.1"), "bob")  # a new name, but this address has had its two
    check_sign_in(request("10.0.0.3"), "carol")


def test_sign_in_over_http_is_limited_before_the_password_is_checked(twin: Twin, accounts: Accounts) -> None:
    with client_of(twin, accounts, sign_in_per_minute=1, sign_in_burst=2) as api:
        for _ in range(2):
            wrong = api.post("/api/v1/auth/token", data={"username": "olga", "password": "guess"})
            assert wrong.status_code == 401, wrong.text
        # Olga has had her two: even the right password waits, and is not checked (no sign-in recorded).
        r = api.post("/api/v1/auth/token", data={"username": "olga", "password": USERS["olga"][0]})
        body = assert_problem(r, 429, "rate-limit")
        assert body["quota"] == "sign-in" and int(r.headers["retry-after"]) >= 30
        assert [e.action for e in accounts.audit(actor="olga", limit=10)].count("auth.sign-in") == 0
        assert accounts.user("olga").failed_logins == 2  # the refused attempt did not count as a guess either


# -- the docs ----------------------------------------------------------------------------------------------------
def test_docs_only_for_callers_with_docs_read(twin: Twin, accounts: Accounts) -> None:
    paths = ("/docs", "/redoc", "/openapi.json")
    with client_of(twin) as api:  # no accounts: the platform reads its docs (embedded use, the tests)
        assert [api.get(p).status_code for p in paths] == [200, 200, 200]
    with client_of(twin, accounts) as api:
        tenant, operator, auditor = (signed_in(api, name) for name in ("ann", "olga", "aud"))
        for p in paths:
            r = api.get(p)
            assert_problem(r, 401, "unauthenticated")
            assert r.headers["www-authenticate"].startswith("Bearer") and "swagger" not in r.text.lower()
            refused = api.get(p, headers=tenant)  # signed in, but an enterprise tenant may not read the docs
            assert assert_problem(refused, 403, "forbidden")["permission"] == "docs:read"
            assert "swagger" not in refused.text.lower() and "paths" not in refused.json()
            assert api.get(p, headers=operator).status_code == 200
        assert "/api/v1/entities" in api.get("/openapi.json", headers=auditor).json()["paths"]
        # The bundled Swagger assets and the OAuth2 redirect page are the same for everyone.
        assert api.get("/static-offline-docs/swagger-ui.css").status_code == 200
        assert api.get("/docs/oauth2-redirect").status_code == 200


# -- serve's refusals --------------------------------------------------------------------------------------------
def test_serve_refuses_exposure_without_accounts_and_half_a_tls_pair(twin: Twin, tmp_path: Path) -> None:
    check_exposure(twin, Settings(host="127.0.0.1"))
    check_exposure(twin, Settings(host="::1"))
    for host in ("0.0.0.0", "192.168.1.20", "::"):
        with pytest.raises(ValidationError) as err:
            check_exposure(twin, Settings(host=host))
        assert (err.value.field, err.value.rule) == ("host", "accounts-required")
        assert "accounts" in err.value.message and "账户" in err.value.message
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    assert tls_files(Settings()) == (None, None)
    with pytest.raises(ValidationError) as err:
        tls_files(Settings(tls_cert=cert))
    assert (err.value.field, err.value.rule) == ("tls_key", "tls-pair")
    with pytest.raises(ValidationError) as err:
        tls_files(Settings(tls_cert=cert, tls_key=tmp_path / "missing.pem"))
    assert (err.value.field, err.value.rule) == ("tls_key", "file-missing")


def test_fastapi_app_has_no_unguarded_document_route(twin: Twin) -> None:
    """FastAPI's own /docs and /openapi.json (which check nobody) are off; ours are the only ones."""
    app: FastAPI = create_app(twin)
    assert app.openapi_url is None and app.docs_url is None and app.redoc_url is None
    paths = [getattr(r, "path", "") for r in app.routes]
    assert paths.count("/openapi.json") == 1 and paths.count("/docs") == 1
