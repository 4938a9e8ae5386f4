"""``/api/v1/observations``: deleting a range of one series, corrections, paged raw reads, streamed CSV, and
the 409 that says how to retire an entity others point at. Real app, real DuckDB file (TestClient)."""

from __future__ import annotations

import base64
import csv
import io
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from lingang_fixtures import M_ELEC, M_ELEC_SUB, M_H2, M_WATER
from lingang_twin.api import observations

URL = "/api/v1/observations"
PROBLEM = "application/problem+json"


def rows(entity: str, n: int, day: str = "2024-03-01", base: float = 0.0) -> list[dict]:
    start = datetime.fromisoformat(f"{day}T00:00:00+08:00")
    return [{"entity_id": entity, "attribute": "reading", "observed_at": (start + timedelta(minutes=15 * i))
             .isoformat(), "value": base + i} for i in range(n)]


def test_delete_a_range_answers_how_many_and_writes_the_change_feed(api: TestClient) -> None:
    assert api.post(URL, json=rows(M_WATER, 96)).status_code == 200
    params = {"entity_id": M_WATER, "attribute": "reading", "start": "2024-03-01T06:00:00+08:00",
              "end": "2024-03-01T12:00:00+08:00"}
    r = api.delete(URL, params=params)
    assert r.status_code == 200, r.text
    # Oracle: quarter hours in [06:00, 12:00) are 6 h × 4.
    assert r.json()["deleted"] == 24
    left = api.get(URL, params={"entity_id": M_WATER, "attribute": "reading"}).json()
    assert left["count"] == 96 - 24
    assert api.delete(URL, params=params).json()["deleted"] == 0
    feed = api.app.state.twin.changes(0, 10_000)
    assert [(c.detail or {})["count"] for c in feed if c.op == "readings-delete"] == [24]


def test_delete_without_one_series_and_a_closed_range_is_refused(api: TestClient) -> None:
    api.post(URL, json=rows(M_WATER, 8))
    full = {"entity_id": M_WATER, "attribute": "reading", "start": "2024-03-01T00:00:00+08:00",
            "end": "2024-03-02T00:00:00+08:00"}
    for missing in full:
        r = api.delete(URL, params={k: v for k, v in full.items() if k != missing})
        assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
        assert r.json()["field"] == missing and r.json()["rule"] == "required"
    r = api.delete(URL, params={**full, "start": "2024-03-01T00:00:00"})
    assert r.status_code == 422 and r.json()["rule"] == "timezone-required"
    r = api.delete(URL, params={**full, "attribute": "nothing"})
    assert r.status_code == 404
    assert api.get(URL, params={"entity_id": M_WATER, "attribute": "reading"}).json()["count"] == 8


def test_correction_is_a_post_with_on_conflict_replace(api: TestClient) -> None:
    api.post(URL, json=rows(M_WATER, 4))
    fixed = [{**rows(M_WATER, 4)[2], "value": 99.0}]
    refused = api.post(URL, json=fixed)
    assert refused.status_code == 422 and refused.json()["rule"] == "conflicting-value"
    assert "on_conflict" in refused.json()["detail"]
    r = api.post(URL, params={"on_conflict": "replace"}, json=fixed)
    assert r.json()["replaced"] == 1
    values = [d["value"] for d in api.get(URL, params={"entity_id": M_WATER, "attribute": "reading"}).json()["data"]]
    assert values == [0.0, 1.0, 99.0, 3.0]


def test_deleting_a_meter_others_point_at_says_how_to_retire_it(api: TestClient) -> None:
    r = api.delete(f"/api/v1/entities/{M_ELEC}")
    assert r.status_code == 409 and r.headers["content-type"] == PROBLEM
    assert "retire" in r.json()["detail"] and "phase" in r.json()["detail"]
    since = api.app.state.twin.get(M_ELEC).lifecycle[-1].since + timedelta(days=1)  # type: ignore[attr-defined]
    r = api.patch(f"/api/v1/entities/{M_ELEC}", json={"phase": "retired", "phaseSince": since.isoformat()})
    assert r.status_code == 200 and r.json()["phase"] == "retired"
    assert api.get(f"/api/v1/entities/{M_ELEC_SUB}").json()["relationships"]["submeterOf"]["object"] == M_ELEC


def test_raw_reads_are_paged_with_a_next_token(api: TestClient) -> None:
    meters = (M_ELEC_SUB, M_WATER, M_H2)
    api.post(URL, json=[r for m in meters for r in rows(m, 30)])
    seen: list[tuple[str, str]] = []
    params: dict[str, str | int] = {"type": "Meter", "attribute": "reading", "limit": 13}
    pages = 0
    while True:
        r = api.get(URL, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["count"] <= 13
        seen.extend((d["entity_id"], d["observed_at"]) for d in body["data"])
        pages += 1
        if body["next"] is None:
            assert "link" not in r.headers
            break
        assert r.headers["link"].endswith('rel="next"') and "cursor=" in body["nextLink"]
        params["cursor"] = body["next"]
    assert pages == 7  # 90 readings, pages of 13: 6 full and one of 12
    expected = {(m, datetime.fromisoformat(x["observed_at"]).isoformat()) for m in meters for x in rows(m, 30)}
    assert len(seen) == len(set(seen)) == 90 and set(seen) == expected


def test_default_page_and_bad_cursors(api: TestClient) -> None:
    api.post(URL, json=rows(M_WATER, 10))
    body = api.get(URL, params={"entity_id": M_WATER, "attribute": "reading"}).json()
    assert body["limit"] == 10_000 and body["next"] is None and body["count"] == 10
    huge = base64.urlsafe_b64encode(f'["{M_WATER}","reading",{2**70}]'.encode()).decode()
    for bad in ("not-a-token", "W10", huge):
        r = api.get(URL, params={"entity_id": M_WATER, "attribute": "reading", "cursor": bad})
        assert r.status_code == 422 and r.json()["field"] == "cursor"
    first = api.get(URL, params={"entity_id": M_WATER, "attribute": "reading", "limit": 3}).json()
    other = api.get(URL, params={"entity_id": M_WATER, "attribute": "flow", "cursor": first["next"]})
    assert other.status_code == 422 and other.json()["rule"] == "cursor-query"
    r = api.get(URL, params={"entity_id": M_WATER, "attribute": "reading", "limit": 100_001})
    assert r.status_code == 422 and r.json()["field"] == "limit"
    r = api.get(URL, params={"entity_id": M_WATER, "attribute": "reading", "bucket": "day", "limit": 5})
    assert r.status_code == 422 and r.json()["rule"] == "raw-only"


def test_raw_csv_without_limit_streams_every_reading(api: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observations, "STREAM_CHUNK_ROWS", 50)  # several chunks from a small read
    api.post(URL, json=rows(M_WATER, 96) + rows(M_ELEC_SUB, 96, base=1000.0))
    r = api.get(URL, params={"type": "Meter", "attribute": "reading", "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.text.count("entity_id") == 1  # one header, however many chunks
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert len(table) == 192 and len({(x["entity_id"], x["observed_at"]) for x in table}) == 192
    assert sum(float(x["value"]) for x in table) == sum(range(96)) + sum(1000.0 + i for i in range(96))
    bad = api.get(URL, params={"type": "Nope", "attribute": "reading", "format": "csv"})
    assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
