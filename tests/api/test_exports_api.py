"""``/api/v1/exports``: bulk exports through the guard and their approvals, over HTTP against the real app and a
DuckDB file.

Who calls: the principal named by a test header (``app.dependency_overrides[caller]``, the one source every route
and the twin's view read). The audit sink is the list of ``governance_fixtures``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from governance_fixtures import PLATE, VEHICLE, Clock, ListAuditSink, open_governed, who
from lingang_twin.api import create_app
from lingang_twin.core.access import Principal
from lingang_twin.core.guard import caller
from lingang_twin.settings import Settings

CST = timezone(timedelta(hours=8))
RECIPIENT = "Acme Mobility GmbH"
PEOPLE = {"alice": who("alice", "planner"), "bob": who("bob", "admin"), "olga": who("olga", "operator"),
          "hu": who("hu", "planner", grants={"planner": ["data:personal"]})}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    sink = ListAuditSink()
    twin = open_governed(tmp_path, sink, Clock(datetime.now(CST)))
    start = datetime.now(CST).replace(microsecond=0) - timedelta(hours=2)
    twin.append([{"entity_id": VEHICLE, "attribute": "speed", "observed_at": start + timedelta(minutes=i),
                  "value": 20.0 + i} for i in range(6)])
    app = create_app(twin, Settings(db=tmp_path / "twin.duckdb"))

    def as_person(request: Request) -> Principal:
        return PEOPLE[request.headers.get("x-test-as", "alice")]

    # Only the principal's source is the test's (the accounts' middleware's job in a deployment).
    app.dependency_overrides[caller] = as_person

    with TestClient(app) as c:
        c.sink = sink  # type: ignore[attr-defined]
        yield c
    twin.close()


def as_(name: str) -> dict[str, str]:
    return {"x-test-as": name}


def test_personal_data_leave_only_with_someone_elses_approval(client: TestClient) -> None:
    sink: ListAuditSink = client.sink  # type: ignore[attr-defined]
    params = {"type": "Vehicle", "recipient": RECIPIENT}
    r = client.get("/api/v1/exports/entities", params=params)
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    assert "approv" in r.json()["detail"] and sink.of("export")[-1].outcome == "denied"

    r = client.post("/api/v1/exports/requests", json={
        "reason": "fleet utilisation study", "recipient": RECIPIENT, "legal_basis": "standard-contract",
        "types": ["Vehicle"], "classifications": ["personal"]})
    assert r.status_code == 201, r.text
    req = r.json()
    assert (req["status"], req["requester"]) == ("pending", "alice")
    assert client.post(f"/api/v1/exports/requests/{req['id']}/approve", json={}).status_code == 403  # no right
    assert client.post(f"/api/v1/exports/requests/{req['id']}/approve", json={"valid_days": 7},
                       headers=as_("bob")).json()["decided_by"] == "bob"
    assert client.post(f"/api/v1/exports/requests/{req['id']}/reject", json={},
                       headers=as_("bob")).status_code == 409

    r = client.get("/api/v1/exports/entities", params={**params, "approval": req["id"]})
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    [feature] = r.json()["features"]
    assert feature["properties"]["vehiclePlateIdentifier"] == "沪*******"  # masked for alice all the same
    event = sink.of("export")[-1]
    assert (event.outcome, event.detail["approval"], event.detail["count"]) == ("ok", req["id"], 1)


def test_an_approver_cannot_approve_their_own_request(client: TestClient) -> None:
    r = client.post("/api/v1/exports/requests", headers=as_("bob"), json={
        "reason": "r", "recipient": RECIPIENT, "legal_basis": "cac-security-assessment", "types": ["Building"],
        "classifications": ["important"]})
    r = client.post(f"/api/v1/exports/requests/{r.json()['id']}/approve", json={}, headers=as_("bob"))
    assert r.status_code == 403 and "own" in r.json()["detail"]


def test_requests_are_listed_to_whom_may_see_them(client: TestClient) -> None:
    body = {"reason": "r", "recipient": RECIPIENT, "legal_basis": "separate-consent", "types": ["Vehicle"],
            "classifications": ["personal"]}
    mine = client.post("/api/v1/exports/requests", json=body).json()["id"]
    client.post("/api/v1/exports/requests", json=body, headers=as_("hu"))
    assert client.get("/api/v1/exports/requests", headers=as_("bob")).json()["count"] == 2
    assert [r["id"] for r in client.get("/api/v1/exports/requests").json()["data"]] == [mine]
    assert client.get(f"/api/v1/exports/requests/{mine}", headers=as_("hu")).status_code == 404
    assert client.get("/api/v1/exports/requests", headers=as_("olga")).status_code == 403


@pytest.mark.parametrize(("change", "field"), [
    ({"legal_basis": "because"}, "legal_basis"), ({"classifications": ["internal"]}, "classifications"),
    ({"types": []}, "types"), ({"reason": ""}, "reason"),
])
def test_a_bad_request_is_422_naming_the_field(client: TestClient, change: dict, field: str) -> None:
    body = {"reason": "r", "recipient": RECIPIENT, "legal_basis": "standard-contract", "types": ["Vehicle"],
            "classifications": ["personal"], **change}
    r = client.post("/api/v1/exports/requests", json=body)
    assert r.status_code == 422 and field in r.text
    assert client.get("/api/v1/exports/requests", headers=as_("bob")).json()["count"] == 0


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_readings_export_csv_and_parquet(client: TestClient, fmt: str) -> None:
    r = client.get("/api/v1/exports/readings", params={"attribute": "speed", "entity": VEHICLE, "format": fmt})
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text))) if fmt == "csv" else pq.read_table(io.BytesIO(r.content))
    assert len(rows) == 6
    d = client.sink.of("export")[-1].detail  # type: ignore[attr-defined]
    assert (d["kind"], d["format"], d["count"], d["classifications"]) == ("readings", fmt, 6, ["internal"])
    assert client.get("/api/v1/exports/readings", params={"attribute": "speed", "entity": VEHICLE},
                      headers=as_("olga")).status_code == 403  # no export:read


def test_holder_of_data_personal_exports_values_as_they_are(client: TestClient) -> None:
    r = client.get("/api/v1/exports/entities", params={"type": "Vehicle"}, headers=as_("hu"))
    assert r.json()["features"][0]["properties"]["vehiclePlateIdentifier"] == PLATE
