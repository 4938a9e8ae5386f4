"""What a request can send that used to break reads or slip through: out-of-range and far-future instants,
control characters, ``asOf=0``, and register-blind aggregates (issues 9 and 10). Real app, real DuckDB file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from lingang_fixtures import DISTRICT, LINGANG_CENTER, M_ELEC, M_ELEC_SUB, M_WATER
from lingang_twin.core.observations import BATCH_SCHEMA, ObservationBatch

URL = "/api/v1/observations"
CST = timezone(timedelta(hours=8))
NOW = datetime(2024, 3, 2, 12, 0, tzinfo=CST)  # the twin's clock in these tests, not the machine's


def reading(entity: str, at: str, value: float = 1.0) -> dict:
    return {"entity_id": entity, "attribute": "reading", "observed_at": at, "value": value}


def stored(api: TestClient, entity: str = M_WATER) -> int:
    return api.twin.read(entity, "reading").num_rows if "reading" in api.twin.store.series_of(entity) else 0


@pytest.fixture
def clocked(api: TestClient) -> TestClient:
    api.twin.clock = lambda: NOW  # type: ignore[attr-defined]
    return api


def test_a_reading_past_the_horizon_is_refused(clocked: TestClient) -> None:
    ok = clocked.post(URL, json=[reading(M_WATER, "2024-03-03T11:00:00+08:00")])  # 23 h ahead: a fast clock
    assert ok.status_code == 200
    r = clocked.post(URL, json=[reading(M_WATER, "2024-03-01T00:00:00+08:00"),
                                reading(M_WATER, "2099-01-01T00:00:00+08:00")])
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert (body["field"], body["rule"], body["index"]) == ("observed_at", "future-horizon", 1)
    assert stored(clocked) == 1  # the whole batch was refused
    # A deployment that stores forecasts widens the horizon.
    clocked.twin.future_horizon = timedelta(days=40000)  # type: ignore[attr-defined]
    assert clocked.post(URL, json=[reading(M_WATER, "2099-01-01T00:00:00+08:00")]).status_code == 200


@pytest.mark.parametrize("at", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00",
                                "1899-12-31T23:59:59Z"])
def test_instants_outside_1900_2200_are_refused_at_the_door(clocked: TestClient, at: str) -> None:
    clocked.twin.future_horizon = timedelta(days=10**6)  # type: ignore[attr-defined]  # the range, not the horizon
    for body, kind in ((None, "json"), ("csv", "csv")):
        if body is None:
            r = clocked.post(URL, json=[reading(M_WATER, at)])
        else:
            text = f"entity_id,attribute,observed_at,value\n{M_WATER},reading,{at},1\n"
            r = clocked.post(URL, content=text.encode(), headers={"content-type": "text/csv"})
        assert r.status_code == 422, (kind, r.text)
        assert (r.json()["field"], r.json()["rule"]) == ("observed_at", "instant-range")
    assert stored(clocked) == 0


def test_an_out_of_range_query_time_is_a_422_naming_the_parameter(clocked: TestClient) -> None:
    for name in ("start", "end"):
        r = clocked.get(URL, params={"entity_id": M_WATER, "attribute": "reading", name: "0001-01-01T00:00:00+08:00"})
        assert r.status_code == 422 and (r.json()["field"], r.json()["rule"]) == (name, "instant-range")
    r = clocked.get(URL, params={"under": DISTRICT, "attribute": "reading", "bucket": "year", "agg": "count",
                                 "start": "9999-12-31T23:59:59-08:00"})
    assert r.status_code == 422 and r.json()["field"] == "start"


def test_a_value_stored_by_an_older_version_never_breaks_a_read(clocked: TestClient) -> None:
    # An older version stored these before the door checked them: written straight into the store.
    extremes = {"9999-12-31T23:59:59Z": 253402300799, "0001-01-01T00:00:00Z": -62135596800}
    clocked.post(URL, json=[reading(M_WATER, "2024-03-01T01:00:00+08:00", 2.0)])
    table = pa.Table.from_arrays([pa.array([M_WATER] * 2), pa.array(["reading"] * 2),
                                  pa.array([s * 1_000_000 for s in extremes.values()], pa.int64()),
                                  pa.array(np.array([5.0, 7.0])), pa.nulls(2, pa.string())], schema=BATCH_SCHEMA)
    clocked.twin.store.append_observations(ObservationBatch(table), [], [])
    raw = clocked.get(URL, params={"entity_id": M_WATER, "attribute": "reading"})
    assert raw.status_code == 200
    # Shown at +08:00: 9999-12-31T23:59:59Z is 10000-01-01T07:59:59+08:00 (NumPy's calendar has year 10000).
    assert [d["observed_at"] for d in raw.json()["data"]] == [
        "0001-01-01T08:00:00+08:00", "2024-03-01T01:00:00+08:00", "10000-01-01T07:59:59+08:00"]
    assert clocked.get(URL, params={"entity_id": M_WATER, "attribute": "reading", "format": "csv"}).status_code == 200
    for bucket in ("year", "month", "day"):
        for fmt in ("json", "csv"):
            r = clocked.get(URL, params={"under": DISTRICT, "attribute": "reading", "bucket": bucket,
                                         "agg": "consumption", "groupBy": "carrier", "format": fmt})
            assert r.status_code == 200, (bucket, fmt, r.text)
    year = clocked.get(URL, params={"entity_id": M_WATER, "attribute": "reading", "bucket": "year"}).json()
    assert sorted(d["value"] for d in year["data"]) == [2.0, 5.0, 7.0]


def test_as_of_must_be_a_date(clocked: TestClient) -> None:
    for bad in ("0", "20210601", "2021-6-1", "1800-01-01"):
        r = clocked.get("/api/v1/entities", params={"asOf": bad})
        assert r.status_code == 422 and r.json()["field"] == "asOf", bad
    assert clocked.get("/api/v1/entities", params={"asOf": "2024-06-01"}).status_code == 200


def test_control_characters_are_refused_in_properties_and_in_q(clocked: TestClient) -> None:
    entity = {"id": "urn:ngsi-ld:Building:ctl", "type": "Building", "properties": {"name": "a\u0000b"},
              "relationships": {"containedIn": DISTRICT}}
    r = clocked.post("/api/v1/entities", json=entity)
    assert r.status_code == 422 and (r.json()["field"], r.json()["rule"]) == ("properties.name.value",
                                                                              "control-character")
    nested = {**entity, "properties": {"address": {"street\u0007": "x"}}}
    assert clocked.post("/api/v1/entities", json=nested).json()["rule"] == "control-character"
    assert clocked.get("/api/v1/entities/urn:ngsi-ld:Building:ctl").status_code == 404  # nothing stored
    # Tab and line breaks are text: a two-line description is fine.
    ok = {**entity, "properties": {"name": "临港\t中心", "description": "line one\nline two"}}
    assert clocked.post("/api/v1/entities", json=ok).status_code == 201
    r = clocked.get("/api/v1/entities", params={"q": 'name=="a\u0000b"'})
    assert r.status_code == 422 and (r.json()["field"], r.json()["rule"]) == ("q", "control-character")


def test_datetimes_in_properties_and_phase_dates_are_range_checked(clocked: TestClient) -> None:
    base = {"id": "urn:ngsi-ld:Building:old", "type": "Building", "relationships": {"containedIn": DISTRICT}}
    bad_observed = {**base, "properties": {"height": {"value": 10, "unit": "m",
                                                      "observed_at": "0001-01-01T00:00:00+08:00"}}}
    r = clocked.post("/api/v1/entities", json=bad_observed)
    assert r.status_code == 422 and r.json()["rule"] == "instant-range"
    r = clocked.post("/api/v1/entities", json={**base, "lifecycle": [{"phase": "planned", "since": "1800-01-01"}]})
    assert r.status_code == 422 and (r.json()["field"], r.json()["rule"]) == ("lifecycle[0].since", "date-range")
    meter = {"id": "urn:ngsi-ld:Meter:old", "type": "Meter", "relationships": {"containedIn": LINGANG_CENTER},
             "properties": {"carrier": "water", "unit": "m3", "registerResets": ["9999-12-31T23:59:59-08:00"]}}
    r = clocked.post("/api/v1/entities", json=meter)
    assert r.status_code == 422 and r.json()["rule"] == "instant-range"
    assert clocked.get("/api/v1/entities", params={"type": "Building", "q": 'id=="x"'}).status_code == 200


def test_consumption_over_the_api_and_register_blind_aggregates_refused(clocked: TestClient) -> None:
    # Main meter: a cumulative register 1000 → 1004 → 1010 (00:00 anchors); its sub-meter: intervals 1 + 2 kWh.
    clocked.post(URL, json=[reading(M_ELEC, f"2024-03-01T0{h}:00:00+08:00", v)
                            for h, v in ((0, 1000.0), (1, 1004.0), (2, 1010.0))]
                 + [reading(M_ELEC_SUB, "2024-03-01T01:00:00+08:00", 1.0),
                    reading(M_ELEC_SUB, "2024-03-01T02:00:00+08:00", 2.0)])
    params = {"under": LINGANG_CENTER, "attribute": "reading", "bucket": "hour", "q": 'carrier=="electricity"',
              "start": "2024-03-01T00:00:00+08:00", "end": "2024-03-01T03:00:00+08:00"}
    r = clocked.get(URL, params={**params, "agg": "consumption"})
    assert r.status_code == 200
    # 00-01: 4 (register) + 1 (interval) = 5 kWh; 01-02: 6 + 2 = 8 kWh.
    assert [(d["bucket"], d["value"], d["unit"], d["resets"]) for d in r.json()["data"]] == [
        ("2024-03-01T00:00:00+08:00", 5.0, "kWh", 0), ("2024-03-01T01:00:00+08:00", 8.0, "kWh", 0)]
    for agg, use in (("delta", "consumption"), ("sum", "consumption")):
        r = clocked.get(URL, params={**params, "agg": agg})
        assert r.status_code == 422 and (r.json()["field"], r.json()["rule"]) == ("agg", "agg-register")
        assert use in r.json()["detail"]


def test_clock_is_injected_not_read(clocked: TestClient) -> None:
    # The horizon follows the twin's clock: move it and the same reading becomes acceptable.
    at = "2030-01-01T00:00:00+08:00"
    assert clocked.post(URL, json=[reading(M_WATER, at)]).status_code == 422
    clocked.twin.clock = lambda: datetime(2029, 12, 31, 12, tzinfo=UTC)  # type: ignore[attr-defined]
    assert clocked.post(URL, json=[reading(M_WATER, at)]).status_code == 200


def test_a_date_given_as_a_number_is_refused_in_bodies_too(clocked: TestClient) -> None:
    # 0 would be read as 1970-01-01 (an epoch); dates are YYYY-MM-DD.
    entity = {"id": "urn:ngsi-ld:Building:numdate", "type": "Building", "relationships": {"containedIn": DISTRICT},
              "lifecycle": [{"phase": "planned", "since": 0}]}
    r = clocked.post("/api/v1/entities", json=entity)
    assert r.status_code == 422 and r.json()["field"].startswith("entity.lifecycle")
    r = clocked.patch(f"/api/v1/entities/{LINGANG_CENTER}", json={"phase": "retired", "phaseSince": 0})
    assert r.status_code == 422 and r.json()["field"] == "body.phaseSince"
    assert clocked.get(f"/api/v1/entities/{LINGANG_CENTER}").json()["phase"] != "retired"
