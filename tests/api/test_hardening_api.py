"""Regression tests of issue 10 (items 4, 5, 7, 9) and issue 9's unknown names and raw pydantic errors.

Each test failed before its fix: the real app over a real DuckDB file, in process.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from lingang_fixtures import JOINT_LAB, M_ELEC_SUB, PARCEL
from lingang_twin.api import create_app
from lingang_twin.core.twin import Twin
from lingang_twin.core.values import MAX_VALUE_BYTES, MAX_VALUE_DEPTH
from lingang_twin.settings import Settings
from lingang_twin.stores.duckdb_store import DuckDBStore

PROBLEM = "application/problem+json"
ENTITIES = "/api/v1/entities"
OBSERVATIONS = "/api/v1/observations"


def nested(depth: int) -> str:
    """A JSON array nested ``depth`` levels deep, as text (Python's encoder would itself recurse)."""
    return "[" * depth + "1" + "]" * depth


def post_raw(api: TestClient, url: str, text: str, method: str = "POST") -> Any:
    return api.request(method, url, content=text.encode(), headers={"content-type": "application/json"})


def assert_problem(r: Any, status: int, field: str, rule: str) -> dict[str, Any]:
    assert r.status_code == status, r.text[:400]
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert (body["field"], body["rule"]) == (field, rule), body
    assert " / " in body["detail"], body["detail"]  # English / 中文
    return body


# -- 10.4: nesting depth and size of property values ----------------------------------------------------------
def test_deeply_nested_property_is_refused_and_nothing_is_stored(api: TestClient) -> None:
    for depth in (MAX_VALUE_DEPTH + 1, 300, 1000):  # 300: orjson's limit on reads; 1000: Python's recursion
        eid = f"urn:ngsi-ld:Building:deep-{depth}"
        text = f'{{"id": "{eid}", "type": "Building", "properties": {{"spec": {{"value": {nested(depth)}}}}}}}'
        assert_problem(post_raw(api, ENTITIES, text), 422, "properties.spec.value", "value-depth")
        assert api.get(f"{ENTITIES}/{eid}").status_code == 404
        batch = post_raw(api, f"{ENTITIES}:batch", f"[{text}]")
        assert batch.status_code == 422 and batch.json()["results"][0]["error"]["rule"] == "value-depth"
        patch = post_raw(api, f"{ENTITIES}/{JOINT_LAB}", f'{{"properties": {{"spec": {nested(depth)}}}}}', "PATCH")
        assert_problem(patch, 422, "properties.spec.value", "value-depth")
    assert "spec" not in api.get(f"{ENTITIES}/{JOINT_LAB}").json()["properties"]
    first_page = api.get(ENTITIES)
    assert first_page.status_code == 200 and first_page.json()["count"] == 11  # the layout, nothing added


def test_nesting_up_to_the_limit_is_stored_and_read_back(api: TestClient) -> None:
    eid = "urn:ngsi-ld:Building:deep-ok"
    text = f'{{"id": "{eid}", "type": "Building", "properties": {{"spec": {nested(MAX_VALUE_DEPTH)}}}}}'
    assert post_raw(api, ENTITIES, text).status_code == 201
    value = api.get(f"{ENTITIES}/{eid}").json()["properties"]["spec"]["value"]
    depth = 0
    while isinstance(value, list):
        value, depth = value[0], depth + 1
    assert (depth, value) == (MAX_VALUE_DEPTH, 1)
    assert api.get(ENTITIES, params={"type": "Building"}).status_code == 200


def test_oversized_and_unsafe_property_values_are_refused(api: TestClient, tmp_path: Path) -> None:
    twin = Twin(DuckDBStore(tmp_path / "big.duckdb"))
    with TestClient(create_app(twin, Settings(db=tmp_path / "big.duckdb", max_body_bytes=4 * MAX_VALUE_BYTES))) as c:
        big = {"id": "urn:ngsi-ld:Building:big", "type": "Building",
               "properties": {"notes": {"value": ["x" * 1000] * (MAX_VALUE_BYTES // 1000 + 1)}}}
        assert_problem(c.post(ENTITIES, json=big), 422, "properties.notes.value", "value-size")
        assert c.get(f"{ENTITIES}/urn:ngsi-ld:Building:big").status_code == 404
        just_under = {**big, "properties": {"notes": {"value": ["x" * 1000] * (MAX_VALUE_BYTES // 1000 - 8)}}}
        assert c.post(ENTITIES, json=just_under).status_code == 201
    twin.close()
    huge_int = {"id": "urn:ngsi-ld:Building:int", "type": "Building", "properties": {"serial": 2**53 + 1}}
    assert_problem(api.post(ENTITIES, json=huge_int), 422, "properties.serial.value", "value-integer-range")
    assert api.get(ENTITIES, params={"id": "urn:ngsi-ld:Building:big,urn:ngsi-ld:Building:int"}).json()["count"] == 0


# -- 10.5: offset is bounded ----------------------------------------------------------------------------------
def test_offset_beyond_the_bound_is_a_clear_422(api: TestClient) -> None:
    body = assert_problem(api.get(ENTITIES, params={"offset": 2**63}), 422, "offset", "less_than_equal")
    assert "offset" in body["detail"] and "不能大于" in body["detail"]
    assert api.get(ENTITIES, params={"offset": 10**12}).json()["data"] == []


# -- issue 9: unknown names are refused with the valid ones; pydantic's errors in both languages ------------------
def test_unknown_order_by_is_refused_with_the_valid_names(api: TestClient) -> None:
    body = assert_problem(api.get(ENTITIES, params={"type": "Building", "orderBy": "floorarea"}), 422, "orderBy",
                          "unknown-order-name")
    assert "floorArea" in body["detail"] and "createdAt" in body["detail"]
    ordered = api.get(ENTITIES, params={"type": "Building", "orderBy": "-floorArea"})
    assert ordered.status_code == 200
    areas = [e["properties"].get("floorArea", {}).get("value") for e in ordered.json()["data"]]
    assert areas == sorted(areas, key=lambda a: -(a or 0))
    # A property no type declares, but an entity has, is a valid name (types are open).
    api.patch(f"{ENTITIES}/{JOINT_LAB}", json={"properties": {"rating": {"value": 5}}})
    assert api.get(ENTITIES, params={"type": "Building", "orderBy": "rating"}).status_code == 200


def test_unknown_attribute_is_refused_with_the_valid_names(api: TestClient) -> None:
    body = assert_problem(api.get(OBSERVATIONS, params={"type": "Meter", "attribute": "readings"}), 422,
                          "attribute", "unknown-attribute")
    assert "reading" in body["detail"]
    one = assert_problem(api.get(OBSERVATIONS, params={"entity_id": M_ELEC_SUB, "attribute": "power"}), 422,
                         "attribute", "unknown-attribute")
    assert "reading" in one["detail"]
    # A declared series with nothing in range is an empty answer, not an error.
    empty = api.get(OBSERVATIONS, params={"type": "Meter", "attribute": "reading", "bucket": "day"})
    assert empty.status_code == 200 and empty.json()["count"] == 0
    # An undeclared series that exists somewhere in scope is valid even where the range holds none of it.
    ok = api.post(OBSERVATIONS, json=[{"entity_id": M_ELEC_SUB, "attribute": "voltage",
                                       "observed_at": "2024-03-01T00:00:00+08:00", "value": 229.5, "unit": "V"}])
    assert ok.status_code == 200, ok.text
    later = api.get(OBSERVATIONS, params={"type": "Meter", "attribute": "voltage",
                                          "start": "2025-01-01T00:00:00+08:00"})
    assert later.status_code == 200 and later.json()["count"] == 0


def test_pydantic_errors_reach_users_in_both_languages(api: TestClient) -> None:
    body = assert_problem(api.get(ENTITIES, params={"limit": "abc"}), 422, "limit", "int_parsing")
    assert body["detail"] == "limit must be a whole number / limit 必须是整数"
    assert body["errors"][0]["message"] == body["detail"]
    assert_problem(api.get(ENTITIES, params={"asOf": "0"}), 422, "asOf", "value_error")  # not 1970-01-01
    patch = api.patch(f"{ENTITIES}/{JOINT_LAB}", json={"phase": "demolished"})
    body = assert_problem(patch, 422, "body.phase", "literal_error")
    assert "必须是以下之一" in body["detail"] and "'operation'" in body["detail"]


# -- 10.9: the OpenAPI says what the server accepts and answers; 405 carries Allow -------------------------------
def test_openapi_declares_bodies_and_problem_answers(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    for path, method in [(ENTITIES, "post"), (f"{ENTITIES}:batch", "post"),
                         (f"{ENTITIES}/{{entity_id}}", "patch"), (OBSERVATIONS, "post")]:
        op = paths[path][method]
        assert op["requestBody"]["required"] is True
        assert "application/json" in op["requestBody"]["content"]
        for status in ("400", "413", "415", "422"):
            assert "application/problem+json" in op["responses"][status]["content"], (path, method, status)
    assert "text/csv" in paths[OBSERVATIONS]["post"]["requestBody"]["content"]
    assert set(paths[OBSERVATIONS]["get"]["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    entity_in = paths[ENTITIES]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert entity_in["required"] == ["id", "type"]
    assert "409" in paths[ENTITIES]["post"]["responses"] and "409" in paths[f"{ENTITIES}/{{entity_id}}"]["delete"][
        "responses"]
    assert "application/json" not in paths[f"{ENTITIES}/{{entity_id}}"]["get"]["responses"]["422"]["content"]


def test_405_lists_every_allowed_method(api: TestClient) -> None:
    r = api.put(ENTITIES)
    assert r.status_code == 405 and r.headers["content-type"] == PROBLEM
    assert r.headers["allow"] == "GET, POST"
    one = api.post(f"{ENTITIES}/{JOINT_LAB}")
    assert one.status_code == 405 and one.headers["allow"] == "GET, PATCH, DELETE"


# -- 10.7: a write never stalls the event loop ------------------------------------------------------------------
def _parked_in_append() -> bool:
    """Some thread waits inside Twin.append (on the twin's write lock, which the test holds)."""
    return any(f.f_code.co_name == "append" and f.f_code.co_filename.endswith("twin.py")
               for f in _frames())


def _frames() -> list[Any]:
    out = []
    for frame in sys._current_frames().values():
        while frame is not None:
            out.append(frame)
            frame = frame.f_back
    return out


def test_health_answers_while_a_write_waits(api: TestClient) -> None:
    twin = api.twin  # type: ignore[attr-defined]
    answers: dict[str, Any] = {}
    twin._lock.acquire()  # a long write elsewhere: the ingest below must wait for it
    try:
        writer = threading.Thread(target=lambda: answers.update(post=api.post(OBSERVATIONS, json=[
            {"entity_id": M_ELEC_SUB, "attribute": "reading", "observed_at": "2024-03-01T00:15:00+08:00",
             "value": 1.0}])))
        writer.start()
        for _ in range(6000):  # wait (generously) until the ingest is parked on the lock
            if _parked_in_append():
                break
            threading.Event().wait(0.02)
        assert _parked_in_append(), "the ingest never reached Twin.append"
        prober = threading.Thread(target=lambda: answers.update(health=api.get("/health")))
        prober.start()
        prober.join(timeout=300)
        # Before the fix the ingest ran on the event loop, so /health could not be answered until it finished.
        assert "health" in answers and answers["health"].status_code == 200
        assert "post" not in answers  # the ingest is still waiting: it did not block /health
    finally:
        twin._lock.release()
    writer.join(timeout=300)
    assert answers["post"].status_code == 200 and answers["post"].json()["inserted"] == 1


def test_create_entity_runs_off_the_loop_too(api: TestClient) -> None:
    twin = api.twin  # type: ignore[attr-defined]
    answers: dict[str, Any] = {}
    twin._lock.acquire()
    try:
        creator = threading.Thread(target=lambda: answers.update(post=api.post(ENTITIES, json={
            "id": "urn:ngsi-ld:Building:waits", "type": "Building",
            "relationships": {"containedIn": {"object": PARCEL}}})))
        creator.start()
        for _ in range(6000):
            if any(f.f_code.co_name == "create" and f.f_code.co_filename.endswith("twin.py") for f in _frames()):
                break
            threading.Event().wait(0.02)
        prober = threading.Thread(target=lambda: answers.update(health=api.get("/health")))
        prober.start()
        prober.join(timeout=300)
        assert "health" in answers and answers["health"].status_code == 200 and "post" not in answers
    finally:
        twin._lock.release()
    creator.join(timeout=300)
    assert answers["post"].status_code == 201


def test_openapi_of_pack_routes_says_problem_json(tmp_path: Path) -> None:
    from lingang_twin.energy import PACK

    twin = Twin(DuckDBStore(tmp_path / "packs.duckdb"))
    PACK.setup(twin)
    with TestClient(create_app(twin, Settings(db=tmp_path / "packs.duckdb"), packs=[PACK])) as client:
        paths = client.get("/openapi.json").json()["paths"]
        account = paths["/api/v1/energy/account"]["get"]["responses"]
        assert set(account["422"]["content"]) == {PROBLEM}  # not FastAPI's HTTPValidationError
        assert set(account["4XX"]["content"]) == {PROBLEM}
        refused = client.get("/api/v1/energy/account", params={"scope": "x", "month": "13"})
        assert refused.status_code in (404, 422) and refused.headers["content-type"] == PROBLEM
    twin.close()


def test_unknown_path_and_method_answer_in_both_languages(api: TestClient) -> None:
    missing = api.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["detail"] == "Not found / 未找到"
    assert api.delete(ENTITIES).json()["detail"] == "Method not allowed / 不支持该方法"
