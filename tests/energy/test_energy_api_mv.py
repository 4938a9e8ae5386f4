"""The M&V and gap-filling routes over the synthetic M&V twin (mv_fixtures): answers agree with the library, bad
input is problem+json naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from mv_fixtures import BUILDING, METER, RETROFIT, SH, build

from lingang_twin.api import create_app
from lingang_twin.app import PACKS
from lingang_twin.core.twin import Twin
from lingang_twin.energy import mv

BASE_START = datetime(2024, 7, 1, tzinfo=SH)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Twin]]:
    twin = build(tmp_path_factory.mktemp("mv-api") / "mv.duckdb")
    with TestClient(create_app(twin, packs=PACKS)) as c:
        yield c, twin
    twin.close()


def test_baseline_and_savings_routes(client: tuple[TestClient, Twin]) -> None:
    c, twin = client
    r = c.get("/api/v1/energy/baseline", params={"scope": BUILDING, "start": BASE_START.isoformat(),
                                                 "end": RETROFIT.isoformat()})
    assert r.status_code == 200, r.text
    body = r.json()
    direct = mv.fit_baseline(twin, BUILDING, BASE_START, RETROFIT)
    assert body["modelKind"] == direct.model_kind == "hdd_cdd"
    assert body["cvrmsePct"] == pytest.approx(direct.cvrmse_pct, abs=0.2)
    assert body["g14"]["verdict"] == direct.g14["verdict"]
    r = c.get("/api/v1/energy/savings", params={
        "scope": BUILDING, "baseline_start": BASE_START.isoformat(), "retrofit_date": RETROFIT.isoformat(),
        "reporting_end": (RETROFIT + timedelta(days=180)).isoformat(), "days": "true"})
    assert r.status_code == 200, r.text
    s = r.json()
    assert 8.0 < s["savingsPct"] < 12.0 and s["band"][0] < s["savingsTotal"] < s["band"][1]
    assert len(s["daily"]) == 180


def test_weather_normalised_and_gapfill_routes(client: tuple[TestClient, Twin]) -> None:
    c, _ = client
    r = c.get("/api/v1/energy/weather-normalised", params={"scope": BUILDING, "month": "2026-01"})
    assert r.status_code == 200, r.text
    assert r.json()["normalisedChangePct"] == pytest.approx(-10.0, abs=2.5)  # the designed saving
    start, end = datetime(2026, 3, 1, tzinfo=SH), datetime(2026, 3, 8, tzinfo=SH)
    r = c.get("/api/v1/energy/gapfill", params={"meter": METER, "start": start.isoformat(),
                                                "end": end.isoformat(), "bucket": "day"})
    assert r.status_code == 200, r.text
    g = r.json()
    assert g["buckets"] == 7 and len(g["rows"]) == 7 and g["estimated"] == 0
    assert all(row["estimated"] is False and row["value"] > 0 for row in g["rows"])


@pytest.mark.parametrize(("path", "params", "field"), [
    ("baseline", {"scope": BUILDING, "start": "2024-07-01T00:00:00", "end": "2025-07-01T00:00:00+08:00"}, "start"),
    ("baseline", {"scope": BUILDING, "start": "2024-07-01T00:00:00+08:00", "end": "2024-07-05T00:00:00+08:00"},
     "baseline"),
    ("savings", {"scope": BUILDING, "baseline_start": "2024-07-01T00:00:00+08:00",
                 "retrofit_date": "2027-01-01T00:00:00+08:00", "reporting_end": "2026-01-01T00:00:00+08:00"},
     "retrofit_date"),
    ("weather-normalised", {"scope": BUILDING, "month": "2026-13"}, "month"),
    ("weather-normalised", {"scope": BUILDING, "month": "2026-01", "carrier": "hydrogen"}, "carrier"),
    ("gapfill", {"meter": BUILDING, "start": "2026-03-01T00:00:00+08:00", "end": "2026-03-02T00:00:00+08:00"},
     "meter"),
    ("gapfill", {"meter": METER, "start": "2026-03-01T00:00:00+08:00", "end": "2026-03-02T00:00:00+08:00",
                 "bucket": "fortnight"}, "bucket"),
])
def test_bad_input_is_problem_json(client: tuple[TestClient, Twin], path: str, params: dict[str, str],
                                   field: str) -> None:
    c, _ = client
    r = c.get(f"/api/v1/energy/{path}", params=params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == field
    r = c.get(f"/api/v1/energy/{path}", params={**params, ("meter" if path == "gapfill" else "scope"):
                                                 "urn:ngsi-ld:Building:nowhere"})
    assert r.status_code in (404, 422)
