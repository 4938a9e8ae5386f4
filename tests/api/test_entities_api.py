"""``/api/v1/entities`` and friends, through the real app and a real DuckDB file."""

from __future__ import annotations

from fastapi.testclient import TestClient

from lingang_fixtures import DISTRICT, HQ_TOWER, JOINT_LAB, LINGANG_CENTER, M_ELEC, M_ELEC_SUB, PARCEL, ZONE_TSC

PROBLEM = "application/problem+json"


def test_health_and_types(api: TestClient) -> None:
    h = api.get("/health").json()
    assert h["status"] == "ok" and h["entities"] == 11 and h["schemaVersion"] >= 2
    types = {t["name"]: t for t in api.get("/api/v1/types").json()["data"]}
    assert {"District", "Zone", "Building", "Meter"} <= set(types)
    assert types["Building"]["units"]["floorArea"] == "m2"
    assert types["Meter"]["series"] == {"reading": "@unit"}
    assert types["Building"]["label"] == {"zh": "建筑", "en": "Building"}


def test_list_with_filters_and_total(api: TestClient) -> None:
    r = api.get("/api/v1/entities", params={"type": "Building", "orderBy": "-floorArea", "limit": 2})
    body = r.json()
    assert r.status_code == 200 and body["count"] == 3 and r.headers["NGSILD-Results-Count"] == "3"
    assert [e["id"] for e in body["data"]] == [LINGANG_CENTER, JOINT_LAB]
    q = api.get("/api/v1/entities", params={"type": "Building", "q": 'use=="lab"|height>100'}).json()
    assert {e["id"] for e in q["data"]} == {JOINT_LAB, HQ_TOWER}
    under = api.get("/api/v1/entities", params={"type": "Meter", "under": ZONE_TSC}).json()
    assert under["count"] == 3
    rel = api.get("/api/v1/entities", params={"relationship": f"submeterOf=={M_ELEC}"}).json()
    assert [e["id"] for e in rel["data"]] == [M_ELEC_SUB]
    geo = api.get("/api/v1/entities", params={"georel": "near;maxDistance==200", "geometry": "Point",
                                             "coordinates": "[121.9302, 30.9001]"}).json()
    assert [e["id"] for e in geo["data"]] == [LINGANG_CENTER]
    past = api.get("/api/v1/entities", params={"type": "Building", "asOf": "2021-06-01"}).json()
    assert [(e["id"], e["phase"]) for e in past["data"]] == [(JOINT_LAB, "design")]


def test_create_get_patch_delete(api: TestClient) -> None:
    new = {"id": "urn:ngsi-ld:Building:school-1", "type": "Building",
           "properties": {"name": {"value": "临港第一学校"}, "floorArea": {"value": 18000, "unit": "m2"},
                          "use": {"value": "school"}},
           "relationships": {"containedIn": {"object": PARCEL}}, "phase": "construction",
           "phase_since": "2025-03-01"}
    r = api.post("/api/v1/entities", json=new)
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == "/api/v1/entities/urn:ngsi-ld:Building:school-1"
    assert api.post("/api/v1/entities", json=new).status_code == 409
    got = api.get("/api/v1/entities/urn:ngsi-ld:Building:school-1").json()
    assert got["properties"]["name"]["value"] == "临港第一学校"
    assert got["lifecycle"] == [{"phase": "construction", "since": "2025-03-01"}]
    p = api.patch("/api/v1/entities/urn:ngsi-ld:Building:school-1",
                  json={"properties": {"occupants": {"value": 1200}}, "remove": ["use"], "phase": "operation",
                        "phaseSince": "2026-09-01"})
    assert p.status_code == 200, p.text
    assert p.json()["phase"] == "operation" and "use" not in p.json()["properties"]
    assert [c["phase"] for c in p.json()["lifecycle"]] == ["construction", "operation"]
    assert api.delete("/api/v1/entities/urn:ngsi-ld:Building:school-1").status_code == 204
    gone = api.get("/api/v1/entities/urn:ngsi-ld:Building:school-1")
    assert gone.status_code == 404 and gone.headers["content-type"] == PROBLEM
    refused = api.delete(f"/api/v1/entities/{DISTRICT}")
    assert refused.status_code == 409 and "referenced" in refused.json()["detail"]


def test_batch_answers_per_item(api: TestClient) -> None:
    items = [
        {"id": "urn:ngsi-ld:Building:b-ok", "type": "Building", "relationships": {"containedIn": {"object": PARCEL}}},
        {"id": "urn:ngsi-ld:Building:b-bad", "type": "Building", "properties": {"floors": {"value": -1}}},
        {"id": "urn:ngsi-ld:Meter:in-bad", "type": "Meter",
         "properties": {"carrier": {"value": "water"}, "unit": {"value": "m3"}},
         "relationships": {"containedIn": {"object": "urn:ngsi-ld:Building:b-bad"}}},
    ]
    r = api.post("/api/v1/entities:batch", json=items)
    assert r.status_code == 207
    body = r.json()
    assert body["stored"] == 1 and body["failed"] == 2
    assert [x["status"] for x in body["results"]] == ["stored", "failed", "failed"]
    assert body["results"][1]["error"]["field"] == "properties.floors"
    assert body["results"][2]["error"]["rule"] == "unknown-target"
    assert api.get("/api/v1/entities/urn:ngsi-ld:Building:b-ok").status_code == 200
    assert api.get("/api/v1/entities/urn:ngsi-ld:Building:b-bad").status_code == 404
    all_bad = api.post("/api/v1/entities:batch", json=[items[1]])
    assert all_bad.status_code == 422


def _problem(r, status: int, field: str | None = None, rule: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if field is not None:
        assert body["field"].startswith(field), body
    if rule is not None:
        assert body["rule"] == rule, body
    return body


def test_bad_input_is_problem_json_and_writes_nothing(api: TestClient) -> None:
    before = api.get("/health").json()["entities"]
    url = "/api/v1/entities"
    truncated = b'{"id": "urn:ngsi-ld:Zone:x", "type": '
    _problem(api.post(url, content=truncated, headers={"content-type": "application/json"}), 400, "body", "json-syntax")
    _problem(api.post(url, content=b"id=1", headers={"content-type": "application/x-www-form-urlencoded"}),
             415, "content-type", "media-type")
    _problem(api.post(url, json=[1, 2]), 422, "body", "json-shape")
    _problem(api.post(url, json={"id": "zone-x", "type": "Zone"}), 422, "id", "urn-format")
    _problem(api.post(url, json={"id": "urn:ngsi-ld:Zone:x", "type": "Zone", "colour": "red"}), 422,
             "entity.colour", "extra_forbidden")
    _problem(api.post(url, json={"id": "urn:ngsi-ld:Zone:x", "type": "Zone",
                                 "geo": {"location": {"type": "Point", "coordinates": [30.9, 121.9]}}}),
             422, "geo.location", "lon-lat-swapped")
    _problem(api.post(url, json={"id": "urn:ngsi-ld:Zone:x", "type": "Zone",
                                 "properties": {"since": {"value": 1, "observed_at": "2024-01-01T00:00:00"}}}),
             422, "properties.since.observed_at", "timezone-required")
    big = {"id": "urn:ngsi-ld:Zone:x", "type": "Zone", "properties": {"note": {"value": "x" * 70_000}}}
    _problem(api.post(url, json=big), 413, "body", "body-too-large")
    body = _problem(api.get(url, params={"q": "floorArea>>3"}), 400, "q", "q-syntax")
    assert body["position"] == 10
    _problem(api.get(url, params={"limit": 20000}), 422, "limit")
    _problem(api.get(url, params={"georel": "near", "geometry": "Point", "coordinates": "[121.9, 30.9]"}), 422,
             rule="georel-near-distance")
    _problem(api.get(url, params={"georel": "within"}), 422, "geometry")
    _problem(api.get(url, params={"type": "Spaceship"}), 422, "types", "unknown-type")
    _problem(api.patch(f"{url}/{JOINT_LAB}", json={"colour": "red"}), 422, "body.colour")
    _problem(api.get(f"{url}/not-a-urn"), 422, "id", "urn-format")
    assert api.get("/health").json()["entities"] == before
