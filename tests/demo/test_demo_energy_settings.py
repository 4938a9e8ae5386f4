"""The demo twin carries its own illustrative energy settings; a twin without settings still refuses.

One demo with a day of history in a DuckDB file; the API in-process over it and the CLI as a real process. The
CO₂ of water and electricity is checked against the consumption times the factor stated in the demo's settings
module and Shanghai's published 0.42 kg/kWh, typed here, not read back from the code under test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_fixtures import WINDOW_END
from fastapi.testclient import TestClient

import lingang_fixtures
from lingang_twin.api import create_app
from lingang_twin.app import PACKS, open_twin
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.twin import Twin
from lingang_twin.demo import DEMO_DISTRICT_ID, build_demo
from lingang_twin.energy.factors import EnergyConfig
from lingang_twin.energy.settings import STORED_PROPERTY, config_in_force, stored_config

MONTH = f"{WINDOW_END:%Y-%m}"  # the window ends 2026-09-21: its last day lies in September
WATER_DEMO = 0.21  # kg CO2/m3, src/lingang_twin/energy/demo/__init__.py
HYDROGEN_DEMO = 23.1  # kg CO2/kg


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lingang_fixtures.demo_file(tmp_path_factory.mktemp("demo-settings"), 1, WINDOW_END)


@pytest.fixture
def demo(demo_file: Path, tmp_path: Path) -> Iterator[Twin]:
    """A private copy of the demo file (tests here change its settings)."""
    path = tmp_path / "demo.duckdb"
    path.write_bytes(demo_file.read_bytes())
    twin = open_twin(path)
    yield twin
    twin.close()


def test_demo_answers_account_tenants_and_reports(demo: Twin) -> None:
    app = create_app(demo, packs=PACKS)
    with TestClient(app) as client:
        r = client.get("/api/v1/energy/account", params={"scope": DEMO_DISTRICT_ID, "month": MONTH})
        assert r.status_code == 200, r.text
        carriers = r.json()["carriers"]
        water, elec, h2 = carriers["water"], carriers["electricity"], carriers["hydrogen"]
        assert water["consumption"] > 0 and water["kgco2"] == pytest.approx(WATER_DEMO * water["consumption"])
        assert h2["kgco2"] == pytest.approx(HYDROGEN_DEMO * h2["consumption"])
        assert elec["kgco2"] == pytest.approx(0.42 * elec["consumption"])
        basis = r.json()["basis"]["co2"]["factors"]
        assert "illustrative" in basis["water"]["source"] and "illustrative" in basis["hydrogen"]["source"]
        assert "illustrative" not in basis["electricity"]["source"]  # a published factor stays published
        r = client.get("/api/v1/energy/tenants", params={"month": MONTH})
        assert r.status_code == 200, r.text
        body = r.json()
        rows = body if isinstance(body, list) else body.get("tenants", body.get("data"))
        assert len(rows) == 19 and all(t["totals"]["kgco2"] > 0 for t in rows)
        for fmt, magic in (("json", b"{"), ("pdf", b"%PDF")):
            r = client.get("/api/v1/energy/report", params={"scope": DEMO_DISTRICT_ID, "month": MONTH,
                                                             "format": fmt})
            assert r.status_code == 200 and r.content.lstrip().startswith(magic), (fmt, r.text[:300])


def test_the_operators_settings_win_and_a_bare_twin_refuses(demo: Twin) -> None:
    app = create_app(demo, packs=PACKS)
    with TestClient(app) as client:
        client = TestClient(create_app(demo, packs=PACKS, configs={"energy": EnergyConfig(
            water_kgco2_per_m3=0.5, hydrogen_route="smr", hydrogen_kgco2_per_kg=10.0)}))  # the operator's settings
        r = client.get("/api/v1/energy/account", params={"scope": DEMO_DISTRICT_ID, "month": MONTH})
        water = r.json()["carriers"]["water"]
        assert water["kgco2"] == pytest.approx(0.5 * water["consumption"])
        assert "illustrative" not in r.json()["basis"]["co2"]["factors"]["water"]["source"]
        client = TestClient(create_app(demo, packs=PACKS))  # no settings of the operator's
        demo.patch(DEMO_DISTRICT_ID, remove=[STORED_PROPERTY])  # a deployment that configured nothing
        for path in ("account", "report"):
            r = client.get(f"/api/v1/energy/{path}", params={"scope": DEMO_DISTRICT_ID, "month": MONTH})
            assert r.status_code == 422 and r.json()["rule"] == "factor-missing", r.text
        r = client.get("/api/v1/energy/tenants", params={"month": MONTH})
        assert r.status_code == 422 and r.json()["rule"] == "factor-missing", r.text


def test_rebuild_keeps_settings_the_user_stored(demo: Twin) -> None:
    mine = EnergyConfig(water_kgco2_per_m3=0.3, hydrogen_route="renewable-electrolysis", hydrogen_kgco2_per_kg=1.0)
    demo.patch(DEMO_DISTRICT_ID, properties={STORED_PROPERTY: mine.model_dump(mode="json", exclude_defaults=True)})
    build_demo(demo, days=1, end=WINDOW_END)
    assert stored_config(demo) == mine and not mine.illustrative
    assert config_in_force(demo, None) == mine


def test_broken_stored_settings_are_named(demo: Twin) -> None:
    demo.patch(DEMO_DISTRICT_ID, properties={STORED_PROPERTY: {"water_kgco2_per_m3": -1}})
    with pytest.raises(ValidationError) as err:
        stored_config(demo)
    assert err.value.field == f"{STORED_PROPERTY}.water_kgco2_per_m3" and err.value.rule == "config-invalid"


def test_cli_report_finds_the_demos_settings_without_config(demo_file: Path, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "lingang_twin.cli", "energy", "report", "--db", str(demo_file),
                           "--scope", DEMO_DISTRICT_ID, "--month", MONTH], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    water = json.loads(proc.stdout)["carriers"]["water"]
    assert water["kgco2"] == pytest.approx(WATER_DEMO * water["consumption"])
    pdf = tmp_path / "district.pdf"
    proc = subprocess.run([sys.executable, "-m", "lingang_twin.cli", "energy", "report", "--db", str(demo_file),
                           "--scope", DEMO_DISTRICT_ID, "--month", MONTH, "--format", "pdf", "--out", str(pdf)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and pdf.read_bytes()[:4] == b"%PDF", proc.stderr
