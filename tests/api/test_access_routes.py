"""Roles and tenants through the real API with every pack loaded.

* every route declares its permission (a route added later without one fails this suite);
* the proof: every GET route of the OpenAPI document, asked as A's tenant with real ids filled in, answers not
  one id of B; each role gets exactly what it may (401 anonymous, 403 without the permission); writes out of
  scope are 403 and write nothing.

Only the principal's source is replaced (``app.dependency_overrides[caller]``, the accounts' middleware's job in
a deployment); the app, its routes, the twin and the store below it are the real ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from access_district import (
    A_IDS,
    B_IDS,
    DAY,
    MA,
    MB,
    MONTH,
    MX,
    SA,
    SB,
    WX,
    A,
    B,
    X,
    as_role,
    layout,
    readings,
    tenant_a,
)
from lingang_twin.api import create_app
from lingang_twin.app import PACKS, open_accounts, open_twin
from lingang_twin.core.access import ANONYMOUS, CORE_PERMISSIONS, Principal
from lingang_twin.core.guard import PUBLIC, api_routes, caller, declared_permissions, requires
from lingang_twin.core.packs import configure
from lingang_twin.core.twin import Twin
from lingang_twin.settings import Settings

INSTALLED = configure(PACKS)
KNOWN = set(CORE_PERMISSIONS) | set(INSTALLED.permissions()) | {PUBLIC}


class Client:
    """The real app over the two-tenant district; ``as_(principal)`` chooses who asks."""

    def __init__(self, twin: Twin, app: FastAPI) -> None:
        self.twin = twin
        self.app = app
        self.http = TestClient(app)

    def as_(self, who: Principal) -> TestClient:
        self.app.dependency_overrides[caller] = lambda: who
        return self.http


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    path = Path(tmp_path_factory.mktemp("access")) / "access.duckdb"
    twin = open_twin(path)
    twin.upsert(layout())
    twin.append(readings())
    settings = Settings(db=path, secret_key="access-routes-test-signing-key-0123456789")
    # Real accounts (their routes answer too); only who asks is chosen by the test (Client.as_).
    app = create_app(twin, settings, INSTALLED, authenticator=open_accounts(twin, settings, PACKS))
    yield Client(twin, app)
    twin.close()


# -- (a) every route declares a permission -------------------------------------------------------------------------
def undeclared(app: FastAPI) -> list[str]:
    """Routes without a declared permission, or declaring one nobody defines (the documentation's too)."""
    bad = []
    for path, route in api_routes(app):
        perms = declared_permissions(route)
        if perms is None or not set(perms) <= KNOWN:
            bad.append(f"{sorted(route.methods)} {path} {perms}")
    return bad


def test_every_route_declares_a_known_permission(api: Client) -> None:
    paths = {path for path, _ in api_routes(api.app)}
    assert len(paths) >= 20 and "/api/v1/energy/account" in paths  # the core's and the energy pack's
    assert undeclared(api.app) == []
    declared = {path: declared_permissions(route) for path, route in api_routes(api.app)}
    assert {p: declared[p] for p in ("/openapi.json", "/docs", "/redoc")} == dict.fromkeys(
        ("/openapi.json", "/docs", "/redoc"), ("docs:read",))


def test_a_route_added_without_a_permission_fails(api: Client, tmp_path: Path) -> None:
    twin = Twin(api.twin.store, api.twin.types)
    app = create_app(twin, Settings(db=tmp_path / "x.duckdb"), INSTALLED)

    @app.get("/api/v1/forgot")
    def forgot() -> dict[str, str]:
        return {}

    extra = APIRouter(prefix="/api/v1/pack")

    @extra.post("/also-forgot", dependencies=[requires("no-such:permission")])
    def also() -> dict[str, str]:
        return {}

    app.include_router(extra)
    assert undeclared(app) == ["['GET'] /api/v1/forgot None",
                               "['POST'] /api/v1/pack/also-forgot ('no-such:permission',)"]


# -- (b) the proof: A's tenant sees nothing of B -------------------------------------------------------------------
START = DAY.isoformat()
END = (DAY + timedelta(days=1)).isoformat()
VALUES: dict[str, list[Any]] = {
    # Each required parameter with the values worth trying: A's own ids, the landlord's and B's (which must answer
    # as if they did not exist), and valid periods.
    "scope": [A, SA, MA, X, B, MB], "meter": [MA, MX, MB], "month": [MONTH], "start": [START], "end": [END],
    "attribute": ["reading"], "baseline_start": [START], "retrofit_date": [END],
    "reporting_end": [(DAY + timedelta(days=2)).isoformat()],
}
OPTIONAL: dict[str, list[Any]] = {
    # Optional parameters that choose what is read: every variant is asked too.
    "under": [X, SA, B], "entity_id": [MA, MX, MB], "type": ["Meter", "Enterprise,Space,Building"],
    "bucket": ["day"], "id": [f"{MA},{MB},{B}"], "format": ["json", "html", "csv"],
}
PATH_IDS = sorted(A_IDS | B_IDS | {X, MX})


def _variants(op: dict[str, Any]) -> list[dict[str, Any]]:
    """Query strings for one GET operation: its required parameters filled, one value varied at a time, then
    each optional parameter that selects data tried in turn."""
    params = [p for p in op.get("parameters", []) if p["in"] == "query"]
    required = {p["name"]: VALUES[p["name"]] for p in params if p.get("required")}
    base = {k: v[0] for k, v in required.items()}
    out = [base]
    for name, values in required.items():
        out.extend({**base, name: v} for v in values[1:])
    for p in params:
        for v in OPTIONAL.get(p["name"], []):
            out.append({**base, p["name"]: v})
    return out


def walk(http: TestClient) -> tuple[list[Any], int, int, set[str]]:
    """GET every operation of the OpenAPI document with every variant: (leaks of B's ids, requests, 200
    answers, A's ids seen in them). The document is the app's own (a tenant may not read ``/openapi.json``:
    ``docs:read``)."""
    spec = http.app.openapi()  # type: ignore[attr-defined]
    asked = answered = 0
    mine_seen: set[str] = set()
    leaks = []
    for path, ops in spec["paths"].items():
        op = ops.get("get")
        if op is None:
            continue
        names = re.findall(r"{(\w+)}", path)
        concrete = [path] if not names else [path.replace(f"{{{names[0]}}}", i) for i in PATH_IDS]
        for url in concrete:
            for query in _variants(op):
                r = http.get(url, params=query)
                asked += 1
                assert r.status_code < 500, (url, query, r.text[:300])
                body = r.text
                asked_for = url + str(query)  # an id the caller sent may be named back ("not found: …")
                leaked = sorted(i for i in B_IDS if i in body and i not in asked_for)
                if leaked:
                    leaks.append((url, query, r.status_code, leaked))
                if r.status_code == 200:
                    answered += 1
                    mine_seen |= {i for i in A_IDS if i in body}
    return leaks, asked, answered, mine_seen


def test_a_tenant_sees_nothing_of_another_on_every_get_route(api: Client) -> None:
    leaks, asked, answered, mine_seen = walk(api.as_(tenant_a()))
    assert leaks == []
    assert asked > 60 and answered > 20  # the walk really read: many answers, all of A's ids among them
    assert mine_seen == set(A_IDS)


def test_the_walk_finds_b_where_b_may_be_seen(api: Client) -> None:
    # The same walk as the district's operator finds B's ids in many answers: the proof above can fail.
    leaks, _, _, _ = walk(api.as_(as_role("operator")))
    assert len(leaks) > 10


def test_a_tenant_gets_its_own_bill_and_not_the_others(api: Client) -> None:
    http = api.as_(tenant_a())
    own = http.get("/api/v1/energy/account", params={"scope": A, "month": MONTH})
    assert own.status_code == 200, own.text
    assert own.json()["carriers"]["electricity"]["consumption"] == pytest.approx(20.0 * 24)
    other = http.get("/api/v1/energy/account", params={"scope": B, "month": MONTH})
    missing = http.get("/api/v1/energy/account", params={"scope": "urn:ngsi-ld:Enterprise:none", "month": MONTH})
    assert other.status_code == missing.status_code == 404
    assert other.json()["title"] == missing.json()["title"]
    tenants = http.get("/api/v1/energy/tenants", params={"month": MONTH}).json()
    assert [t["scope"] for t in tenants["tenants"]] == [A]
    assert http.get("/api/v1/entities", params={"type": "Enterprise"}).json()["count"] == 1


# -- roles ---------------------------------------------------------------------------------------------------------
REQUESTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "entities": ("GET", "/api/v1/entities", {}),
    "types": ("GET", "/api/v1/types", {}),
    "readings": ("GET", "/api/v1/observations", {"entity_id": MX, "attribute": "reading", "bucket": "day"}),
    "energy": ("GET", "/api/v1/energy/account", {"scope": X, "month": MONTH}),
    "checks": ("GET", "/api/v1/checks", {}),
    "run": ("POST", "/api/v1/checks/meter_quality:run", {"start": START, "end": END}),
}
EXPECTED: dict[str, dict[str, int]] = {
    # role → what it may (200) and may not (403) among the requests above
    "operator": {"entities": 200, "types": 200, "readings": 200, "energy": 200, "checks": 200, "run": 200},
    "energy_manager": {"entities": 200, "readings": 200, "energy": 200, "checks": 200, "run": 200},
    "property_manager": {"entities": 200, "readings": 200, "energy": 200, "checks": 200, "run": 403},
    "mobility_operator": {"entities": 200, "readings": 200, "energy": 403, "run": 403},
    "planner": {"entities": 200, "readings": 200, "energy": 200, "checks": 403, "run": 403},
    "integrator": {"entities": 200, "readings": 200, "energy": 403, "checks": 403, "run": 403},
    "auditor": {"entities": 200, "types": 200, "readings": 403, "energy": 403, "checks": 403, "run": 403},
    "enterprise_tenant": {"entities": 200, "readings": 404, "energy": 404, "checks": 403, "run": 403},
    "admin": {"entities": 200, "readings": 200, "energy": 200, "checks": 200, "run": 200},
}


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_role_gets_what_it_may(api: Client, role: str) -> None:
    who = tenant_a() if role == "enterprise_tenant" else as_role(role)
    http = api.as_(who)
    for name, expected in EXPECTED[role].items():
        method, url, params = REQUESTS[name]
        r = http.request(method, url, params=params)
        assert r.status_code == expected, (role, name, r.text[:300])
        if expected == 403:
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["rule"] == "forbidden" and r.json()["permission"]


def test_a_tenant_reads_readings_of_its_own_meters_only(api: Client) -> None:
    http = api.as_(tenant_a())
    own = http.get("/api/v1/observations", params={"entity_id": MA, "attribute": "reading"})
    assert own.status_code == 200 and own.json()["count"] == 24
    assert http.get("/api/v1/observations", params={"entity_id": MB, "attribute": "reading"}).status_code == 404
    every = http.get("/api/v1/observations", params={"type": "Meter", "attribute": "reading"}).json()
    assert {row["entity_id"] for row in every["data"]} == {MA}


def test_anonymous_is_401_and_health_answers(api: Client) -> None:
    http = api.as_(ANONYMOUS)
    r = http.get("/api/v1/entities")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert http.get("/api/v1/energy/account", params={"scope": A, "month": MONTH}).status_code == 401
    health = http.get("/health")
    assert health.status_code == 200 and health.json()["entities"] is None


def test_a_request_without_a_principal_is_anonymous_when_accounts_are_on(api: Client) -> None:
    api.app.dependency_overrides.pop(caller, None)
    assert api.http.get("/api/v1/entities").status_code == 401


def test_writes_out_of_scope_are_403_and_write_nothing(api: Client) -> None:
    twin = api.twin
    before = {i: twin.get(i).model_dump() for i in (SB, MB, WX)}
    readings_before = twin.read(MB, "reading").num_rows
    later = (DAY + timedelta(days=1, hours=1)).isoformat()
    cases: list[tuple[Principal, str, str, dict[str, Any], Any]] = [
        (tenant_a(), "PATCH", f"/api/v1/entities/{SB}", {}, {"properties": {"floorArea": 1.0}}),
        (tenant_a(), "DELETE", f"/api/v1/entities/{MA}", {}, None),
        (as_role("integrator"), "DELETE", f"/api/v1/entities/{WX}", {}, None),
        (as_role("operator"), "PATCH", f"/api/v1/entities/{X}", {}, {"properties": {"name": "x"}}),
        (as_role("property_manager", entity_scope=[SA]), "PATCH", f"/api/v1/entities/{SB}", {},
         {"properties": {"floorArea": 1.0}}),
        (as_role("integrator", entity_scope=[MA]), "POST", "/api/v1/observations", {},
         [{"entity_id": MB, "attribute": "reading", "observed_at": later, "value": 1.0}]),
        (as_role("integrator", entity_scope=[MA]), "POST", "/api/v1/observations", {},
         [{"entity_id": "urn:ngsi-ld:Meter:none", "attribute": "reading", "observed_at": later, "value": 1.0}]),
        (as_role("energy_manager", entity_scope=[MA]), "DELETE", "/api/v1/observations",
         {"entity_id": MB, "attribute": "reading", "start": START, "end": END}, None),
        (as_role("auditor"), "POST", "/api/v1/entities:batch", {},
         [{"id": "urn:ngsi-ld:Space:acc-x", "type": "Space", "properties": {}}]),
        (tenant_a(), "POST", "/api/v1/energy/quality/alerts", {"scope": A, "start": START, "end": END}, None),
    ]
    for who, method, url, params, body in cases:
        r = api.as_(who).request(method, url, params=params, json=body)
        assert r.status_code == 403, (who.subject, method, url, r.text[:300])
    assert {i: twin.get(i).model_dump() for i in (SB, MB, WX)} == before
    assert twin.read(MB, "reading").num_rows == readings_before
    assert not twin.existing(["urn:ngsi-ld:Space:acc-x"])


def test_allowed_writes_go_through(api: Client) -> None:
    later = (DAY + timedelta(days=1, hours=1)).isoformat()
    r = api.as_(as_role("integrator", entity_scope=[MA])).post(
        "/api/v1/observations", json=[{"entity_id": MA, "attribute": "reading", "observed_at": later, "value": 3.0}])
    assert r.status_code == 200 and r.json()["inserted"] == 1
    r = api.as_(as_role("property_manager")).patch(f"/api/v1/entities/{SA}", json={"properties": {"name": "甲区"}})
    assert r.status_code == 200 and api.twin.get(SA).value("name") == "甲区"
