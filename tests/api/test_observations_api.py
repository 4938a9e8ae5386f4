"""``/api/v1/observations``: JSON and CSV ingest, idempotency, reads and aggregates, errors."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from lingang_fixtures import DISTRICT, M_ELEC_SUB, M_WATER

URL = "/api/v1/observations"


def rows(entity: str, n: int, day: str = "2024-03-01", value: float = 1.0) -> list[dict]:
    """Quarter-hour meter readings closing 00:15 … 24:00 of ``day`` (a reading closes the interval before it)."""
    start = datetime.fromisoformat(f"{day}T00:00:00+08:00")
    return [{"entity_id": entity, "attribute": "reading", "observed_at": (start + timedelta(minutes=15 * (i + 1)))
             .isoformat(), "value": value} for i in range(n)]


def test_json_ingest_is_idempotent_and_aggregates(api: TestClient) -> None:
    r = api.post(URL, json=rows(M_ELEC_SUB, 96) + rows(M_WATER, 96, value=0.5))
    assert r.status_code == 200 and r.json()["inserted"] == 192
    again = api.post(URL, json=rows(M_ELEC_SUB, 96))
    assert again.json() == {"received": 96, "inserted": 0, "duplicates": 96, "replaced": 0, "kept": 0}
    agg = api.get(URL, params={"under": DISTRICT, "attribute": "reading", "bucket": "day", "agg": "sum",
                               "groupBy": "carrier"}).json()
    assert {(d["group"], d["value"]) for d in agg["data"]} == {("electricity", 96.0), ("water", 48.0)}
    assert agg["data"][0]["bucket"] == "2024-03-01T00:00:00+08:00"
    raw = api.get(URL, params={"entity_id": M_WATER, "attribute": "reading", "start": "2024-03-01T01:00:00+08:00",
                               "end": "2024-03-01T02:00:00+08:00"}).json()  # raw reads: [start, end)
    assert raw["count"] == 4 and raw["data"][0]["observed_at"] == "2024-03-01T01:00:00+08:00"
    # An unencoded '+' arrives as a space; it is restored rather than refused.
    plus = api.get(f"{URL}?entity_id={M_WATER}&attribute=reading&start=2024-03-01T01:00:00+08:00"
                   "&end=2024-03-01T02:00:00+08:00").json()
    assert plus["count"] == 4
    csv = api.get(URL, params={"entity_id": M_WATER, "attribute": "reading", "bucket": "hour", "format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == '"bucket","value","unit","count"'
    assert csv.text.splitlines()[1].startswith('"2024-03-01T00:00:00+08:00",')  # ISO 8601, as in JSON
    assert len(csv.text.splitlines()) == 25


def test_csv_ingest(api: TestClient) -> None:
    body = "entity_id,attribute,observed_at,value,unit\n" + "".join(
        f"{M_ELEC_SUB},reading,2024-03-02T00:{m:02d}:00+08:00,{1500 + m},Wh\n" for m in (0, 15, 30))
    r = api.post(URL, content=body.encode(), headers={"content-type": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.json()["inserted"] == 3
    data = api.get(URL, params={"entity_id": M_ELEC_SUB, "attribute": "reading"}).json()["data"]
    assert [d["value"] for d in data] == pytest.approx([1.5, 1.515, 1.53])


def test_conflict_policy(api: TestClient) -> None:
    api.post(URL, json=rows(M_WATER, 2))
    r = api.post(URL, json=rows(M_WATER, 2, value=9.0))
    assert r.status_code == 422 and r.json()["rule"] == "conflicting-value" and r.json()["index"] == 0
    r = api.post(URL, params={"on_conflict": "replace"}, json=rows(M_WATER, 2, value=9.0))
    assert r.status_code == 200 and r.json()["replaced"] == 2


def test_bad_batches_store_nothing_and_name_the_item(api: TestClient) -> None:
    good = rows(M_WATER, 3)
    cases = [
        ([*good, {**good[0], "observed_at": "2024-03-01T05:00:00"}], "observed_at", "timezone-required", 3),
        ([*good, {**good[0], "observed_at": "2024-03-01T05:00:00+08:00", "value": "7"}], "value", "number", 3),
        ([*good, {**good[0], "observed_at": "2024-03-01T05:00:00+08:00", "value": None}], "value", "required", 3),
        ([*good, {**good[0], "extra": 1}], "extra", "unknown-field", 3),
        ([*good, {**good[0], "entity_id": "urn:ngsi-ld:Meter:ghost"}], "entity_id", "unknown-entity", 3),
        ([*good, {**good[0], "observed_at": "2024-03-01T06:00:00Z", "unit": "kWh"}], "unit", "unit-incompatible", 3),
        ([*good, 5], "observation", "object", 3),
    ]
    for batch, field, rule, index in cases:
        r = api.post(URL, json=batch)
        assert r.status_code == 422, (field, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert (body["field"], body["rule"], body["index"]) == (field, rule, index)
    assert api.get(URL, params={"entity_id": M_WATER, "attribute": "reading"}).json()["count"] == 0
    nan = api.post(URL, content=b'[{"entity_id": "%s", "attribute": "reading", "observed_at": '
                   b'"2024-03-01T00:00:00+08:00", "value": NaN}]' % M_WATER.encode(),
                   headers={"content-type": "application/json"})
    assert nan.status_code == 400 and nan.json()["rule"] == "json-syntax"
    assert api.post(URL, content=b"a,b\n1,2\n", headers={"content-type": "text/csv"}).json()["rule"] == "csv-columns"
    bad_csv = "entity_id,attribute,observed_at,value\n" + f"{M_WATER},reading,2024-03-01T00:00:00+08:00,abc\n"
    r = api.post(URL, content=bad_csv.encode(), headers={"content-type": "text/csv"})
    # The line and the column of the bad value, not pyarrow's message and not the value itself.
    assert r.status_code == 422 and (r.json()["field"], r.json()["rule"]) == ("value", "number")
    assert "line 2, column 4 (value)" in r.json()["detail"] and "abc" not in r.json()["detail"]
    assert api.post(URL, content=b"<x/>", headers={"content-type": "application/xml"}).status_code == 415
    assert api.post(URL, json=rows(M_WATER, 201)).json()["rule"] == "batch-size"
    r = api.get(URL, params={"entity_id": M_WATER, "attribute": "reading", "bucket": "fortnight"})
    assert r.status_code == 422 and r.json()["field"] == "bucket"
    r = api.get(URL, params={"entity_id": M_WATER, "attribute": "reading", "start": "yesterday"})
    assert r.status_code == 422 and r.json()["rule"] == "datetime-format"
    r = api.get(URL, params={"attribute": "reading"})
    assert r.status_code == 422 and r.json()["rule"] == "scope"
    assert api.get(URL, params={"entity_id": M_WATER, "attribute": "reading"}).json()["count"] == 0
