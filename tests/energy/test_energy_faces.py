"""The faces of the energy pack: ``lingang-twin energy report`` (a real process) and ``/api/v1/energy/account``
(TestClient over ``create_app(twin, packs=PACKS)``), on a real DuckDB file; and a month of the demo district."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from energy_fixtures import BUILDING, CONFIG, DAY, M_ELEC, SH
from fastapi.testclient import TestClient
from numpy.testing import assert_allclose

from lingang_twin.api import create_app
from lingang_twin.app import PACKS, open_twin
from lingang_twin.core.twin import Twin
from lingang_twin.energy.accounting import account

DB = tuple[Path, Twin]
MONTH = f"{DAY:%Y-%m}"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m lingang_twin.cli`` (a real process)."""
    return subprocess.run([sys.executable, "-m", "lingang_twin.cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_cli_report_json(energy_file: Path, tmp_path: Path) -> None:
    path = energy_file  # closed: one writer per DuckDB file, and the CLI process opens it
    config = tmp_path / "energy.json"
    config.write_text(json.dumps(CONFIG), encoding="utf-8")
    proc = cli("energy", "report", "--db", str(path), "--scope", BUILDING, "--month", MONTH, "--format", "json",
               "--lang", "zh", "--config", str(config))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    e = data["carriers"]["electricity"]
    assert e["label"] == "电" and e["unit"] == "kWh"
    assert_allclose([e["consumption"], e["kgce"], e["kgco2"]], [1000.0, 122.9, 420.0])
    assert set(e) >= {"consumption", "unit", "kgce", "kgco2", "cost_cny"}
    assert_allclose(data["totals"]["kgce"], sum(c["kgce"] for c in data["carriers"].values()))
    assert data["basis"]["co2"]["factor_set"] == "shanghai-local-2022"


def test_cli_bad_input_is_one_line_exit_2(energy_file: Path) -> None:
    path = energy_file
    cases = [
        (("--month", "2026-13"), "--month: '2026-13' is not a month"),
        (("--month", "March"), "YYYY-MM"),
        (("--month", MONTH, "--format", "xlsx", "--out", "/nonexistent-dir/r.xlsx"), "no such directory"),
        (("--month", MONTH, "--format", "pdf", "--config", "/nonexistent.json"), "cannot read JSON"),
        (("--month", MONTH, "--format", "csv"), "unknown format"),
        (("--month", MONTH, "--factors", "mee-2099"), "mee-national-2023"),
        (("--month", MONTH), "water"),  # factor set missing a carrier in use
        (("--month", MONTH, "--lang", "fr"), "zh, en"),
    ]
    for extra, needle in cases:
        proc = cli("energy", "report", "--db", str(path), "--scope", BUILDING, *extra)
        assert proc.returncode == 2, (extra, proc.stdout, proc.stderr)
        assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("error"), proc.stderr
        assert needle in proc.stderr, (needle, proc.stderr)
    proc = cli("energy", "report", "--db", str(path.parent / "missing.duckdb"), "--scope", BUILDING, "--month", MONTH)
    assert proc.returncode == 2 and "no such twin file" in proc.stderr


def test_api_account(energy_db: DB) -> None:
    _, twin = energy_db
    app = create_app(twin, packs=PACKS)
    with TestClient(app) as client:
        r = client.get("/api/v1/energy/account", params={"scope": M_ELEC, "month": MONTH})
        assert r.status_code == 200, r.text
        e = r.json()["carriers"]["electricity"]
        assert_allclose([e["consumption"], e["kgce"], e["kgco2"]], [1000.0, 122.9, 420.0])
        r = client.get("/api/v1/energy/account", params={"scope": M_ELEC, "month": "2026-3"})
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        assert (r.json()["field"], r.json()["rule"]) == ("month", "month-format")
        r = client.get("/api/v1/energy/account", params={"scope": BUILDING, "month": MONTH})
        assert r.status_code == 422 and r.json()["rule"] == "factor-missing"  # water: no factor configured
        client = TestClient(create_app(twin, packs=PACKS, configs={"energy": CONFIG}))  # the deployment's settings
        r = client.get("/api/v1/energy/account", params={"scope": BUILDING, "month": MONTH, "lang": "zh"})
        assert r.status_code == 200 and r.json()["carriers"]["water"]["label"] == "水"
        r = client.get("/api/v1/energy/account", params={"scope": M_ELEC, "month": MONTH, "factors": "x"})
        assert r.status_code == 422 and "shanghai-local-2022" in r.json()["detail"]
        r = client.get("/api/v1/energy/account", params={"scope": "urn:ngsi-ld:Building:nope", "month": MONTH})
        assert r.status_code == 404


def test_demo_district_counts_main_meters_once(tmp_path: Path) -> None:
    from lingang_twin.demo import DEMO_DISTRICT_ID, build_demo

    end = datetime(2026, 3, 3, tzinfo=SH)
    twin = open_twin(tmp_path / "demo.duckdb")
    try:
        build_demo(twin, days=2, end=end)
        start = end - timedelta(days=1)
        cfg = {**CONFIG, "hydrogen_route": "smr", "hydrogen_kgco2_per_kg": 10.0}
        district = account(twin, DEMO_DISTRICT_ID, start, end, config=cfg)
        assert {"electricity", "water", "natural_gas", "hydrogen"} <= set(district.carriers)
        meters = twin.query(types=("Meter",), limit=10_000).entities
        mains = [m for m in meters if m.target("submeterOf") is None]
        counted = [mid for c in district.carriers.values() for mid in c.meters]
        assert sorted(counted) == sorted(m.id for m in mains)
        # The district's electricity is its main meters' electricity, each accounted alone (interval or delta).
        elec = [m for m in mains if m.value("carrier") == "electricity"][:12]
        one_by_one = sum(account(twin, m.id, start, end).carriers["electricity"].consumption for m in elec)
        some = account(twin, DEMO_DISTRICT_ID, start, end, config=cfg)
        assert one_by_one > 0 and some.carriers["electricity"].consumption >= one_by_one
        # A building with sub-meters: its electricity equals its main meter's, not main + subs.
        sub = next(m for m in meters if m.target("submeterOf") and m.value("carrier") == "electricity")
        main_id = sub.target("submeterOf")
        assert main_id is not None
        building = twin.get(main_id).target("containedIn")
        assert building is not None
        b = account(twin, building, start, end, config=cfg).carriers["electricity"]
        assert_allclose(b.consumption, account(twin, main_id, start, end).carriers["electricity"].consumption)
        assert b.meters == [main_id]
    finally:
        twin.close()
