"""Forecasts through the faces: ``GET /api/v1/energy/forecast`` and ``lingang-twin energy forecast`` (a real
process) over a demo district with 30 days of history, answers checked against the library."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from energy_fixtures import SH
from fastapi.testclient import TestClient

import lingang_fixtures
from lingang_twin.api import create_app
from lingang_twin.app import PACKS, open_twin
from lingang_twin.core.twin import Twin
from lingang_twin.demo import DEMO_DISTRICT_ID
from lingang_twin.energy.forecast import forecast

END = datetime(2026, 4, 6, 12, tzinfo=SH)
ISSUED = END - timedelta(minutes=30)
BUILDING = "urn:ngsi-ld:Building:lingang-center"


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lingang_fixtures.demo_file(tmp_path_factory.mktemp("forecast-faces"), 30, END)


@pytest.fixture
def client(demo_file: Path) -> Iterator[tuple[TestClient, Twin]]:
    twin = open_twin(demo_file)
    with TestClient(create_app(twin, packs=PACKS)) as c:
        yield c, twin
    twin.close()


def test_forecast_route_for_an_aggregate_and_a_meter(client: tuple[TestClient, Twin]) -> None:
    c, twin = client
    r = c.get("/api/v1/energy/forecast", params={"scope": BUILDING, "issued_at": ISSUED.isoformat()})
    assert r.status_code == 200, r.text
    body = r.json()
    carriers = {f["carrier"] for f in body["forecasts"]}
    assert "electricity" in carriers and len(carriers) == len(body["forecasts"])  # one per carrier of the building
    elec = next(f for f in body["forecasts"] if f["carrier"] == "electricity")
    direct = forecast(twin, BUILDING, horizon="day-ahead", issued_at=ISSUED, carrier="electricity")
    assert elec["starts"][0] == "2026-04-07T00:00:00+08:00" and len(elec["mean"]) == 24
    assert elec["mean"] == pytest.approx(list(direct.mean), rel=1e-9)
    assert all(lo <= m <= hi for lo, m, hi in zip(elec["lower"]["95"], elec["mean"], elec["upper"]["95"],
                                                   strict=True))
    meter = direct.meters[0]
    r = c.get("/api/v1/energy/forecast", params={"scope": meter, "issued_at": ISSUED.isoformat(),
                                                 "horizon": "day-ahead"})
    assert r.status_code == 200 and [f["scope"] for f in r.json()["forecasts"]] == [meter]


@pytest.mark.parametrize(("params", "status", "field"), [
    ({"scope": BUILDING, "horizon": "month-ahead"}, 422, "horizon"),
    ({"scope": BUILDING, "issued_at": "2026-04-06T12:00:00"}, 422, "issued_at"),
    ({"scope": BUILDING, "carrier": "hydrogen"}, 422, "carrier"),
    ({"scope": BUILDING, "horizon": "week-ahead"}, 422, "history"),  # 30 days cannot make 35 days of daily history
    ({"scope": "urn:ngsi-ld:Building:nowhere"}, 404, None),
])
def test_forecast_route_bad_input(client: tuple[TestClient, Twin], params: dict[str, str], status: int,
                                  field: str | None) -> None:
    c, _ = client
    r = c.get("/api/v1/energy/forecast", params={"issued_at": ISSUED.isoformat(), **params})
    assert r.status_code == status, r.text
    if field:
        assert r.json()["field"] == field


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lingang_twin.cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_forecast_cli(demo_file: Path) -> None:
    done = cli("energy", "forecast", "--db", str(demo_file), "--scope", DEMO_DISTRICT_ID, "--carrier",
               "electricity", "--at", ISSUED.isoformat())
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    (f,) = body["forecasts"]
    assert f["carrier"] == "electricity" and len(f["mean"]) == 24 and f["unit"] == "kWh"
    bad = cli("energy", "forecast", "--db", str(demo_file), "--scope", DEMO_DISTRICT_ID, "--at", "tomorrow")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "--at" in bad.stderr
    missing = cli("energy", "forecast", "--db", str(demo_file.parent / "none.duckdb"), "--scope", DEMO_DISTRICT_ID)
    assert missing.returncode == 2 and "no such twin file" in missing.stderr
