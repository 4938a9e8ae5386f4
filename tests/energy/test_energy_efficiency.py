"""Efficiency indicators: annualised intensity, ranking within a use, MoM / YoY change (hand-built twin)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from energy_fixtures import SH, meter
from numpy.testing import assert_allclose

from lingang_twin.app import open_twin
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.twin import Twin
from lingang_twin.energy.accounting import month_range
from lingang_twin.energy.efficiency import change, intensity

D = "urn:ngsi-ld:District:eff"
A, B, C = (f"urn:ngsi-ld:Building:{x}" for x in ("office-a", "office-b", "lab-c"))
MA, MA_SUB, MB, MC = (f"urn:ngsi-ld:Meter:{x}" for x in ("a", "a-sub", "b", "c"))
ELEC_COAL, ELEC_CO2 = 0.1229, 0.42  # kgce/kWh (equivalent), kg CO2/kWh (shanghai-local-2022)


def _reading(mid: str, t: datetime, v: float) -> dict[str, Any]:
    return {"entity_id": mid, "attribute": "reading", "observed_at": t, "value": v}


@pytest.fixture
def twin(tmp_path: Path) -> Iterator[Twin]:
    tw = open_twin(tmp_path / "eff.duckdb")
    tw.upsert([
        {"id": D, "type": "District", "properties": {"name": "能效"}},
        {"id": A, "type": "Building", "properties": {"name": "A", "use": "office", "floorArea": 1000.0,
                                                     "occupants": 50}, "relationships": {"containedIn": D}},
        {"id": B, "type": "Building", "properties": {"name": "B", "use": "office", "floorArea": 500.0},
         "relationships": {"containedIn": D}},
        {"id": C, "type": "Building", "properties": {"name": "C", "use": "lab", "floorArea": 2000.0},
         "relationships": {"containedIn": D}},
        meter(MA, A, "electricity", "kWh"),
        meter(MA_SUB, A, "electricity", "kWh", sub_of=MA),
        meter(MB, B, "electricity", "MWh"),
        meter(MC, C, "electricity", "kWh", "cumulative"),
    ])
    tw.append([
        _reading(MA, datetime(2026, 2, 10, 12, tzinfo=SH), 2000.0),
        _reading(MA, datetime(2026, 3, 10, 12, tzinfo=SH), 3100.0),
        _reading(MA_SUB, datetime(2026, 3, 10, 12, tzinfo=SH), 3000.0),  # a sub-meter: never added
        _reading(MB, datetime(2026, 3, 11, 12, tzinfo=SH), 1.0),  # 1 MWh
        _reading(MC, datetime(2026, 3, 1, 0, tzinfo=SH), 100.0),  # anchors March's delta
        _reading(MC, datetime(2026, 3, 20, 0, tzinfo=SH), 6300.0),
    ])
    yield tw
    tw.close()


def test_intensity_hand_computed_and_ranked(twin: Twin) -> None:
    start, end = month_range("2026-03")
    t = intensity(twin, start, end)
    rows = {r["building"]: r for r in t.to_pylist()}
    year = 365 / 31
    assert float(t.schema.metadata[b"annualise"]) == pytest.approx(year)
    a, b, c = rows[A], rows[B], rows[C]
    assert_allclose([a["kwh"], b["kwh"], c["kwh"]], [3100.0, 1000.0, 6200.0])
    assert_allclose(a["kwh_per_m2"], 3100 * year / 1000)  # 36.5 kWh/m²·a
    assert_allclose(a["kgce_per_m2"], 3100 * ELEC_COAL * year / 1000)
    assert_allclose(a["kgco2_per_m2"], 3100 * ELEC_CO2 * year / 1000)
    assert_allclose(a["kwh_per_occupant"], 3100 * year / 50)
    assert_allclose(b["kwh_per_m2"], 1000 * year / 500)
    assert b["kwh_per_occupant"] is None  # no occupants given
    assert_allclose(c["kgce_per_m2"], 6200 * ELEC_COAL * year / 2000)
    # Office: B (23.5 kWh/m²) before A (36.5); the lab ranks alone.
    assert (b["rank_in_use"], a["rank_in_use"], c["rank_in_use"]) == (1, 2, 1)


def test_intensity_without_readings_is_null_not_zero(twin: Twin) -> None:
    start, end = month_range("2025-03")
    rows = intensity(twin, start, end, under=D).to_pylist()
    assert {r["building"] for r in rows} == {A, B, C}
    assert all(r["kgce_per_m2"] is None and r["rank_in_use"] is None and r["readings"] == 0 for r in rows)


def test_intensity_bad_input(twin: Twin) -> None:
    start, end = month_range("2026-03")
    with pytest.raises(ValidationError) as err:
        intensity(twin, end, start)
    assert err.value.rule == "range-order"


def test_month_on_month_with_earlier_data(twin: Twin) -> None:
    out = change(twin, A, "2026-03")
    mom = out["mom"]
    assert mom["available"] and mom["month"] == "2026-02"
    assert_allclose([mom["consumption"]["electricity"]["change"], mom["consumption"]["electricity"]["ratio"]],
                    [1100.0, 0.55])
    assert_allclose([mom["kgce"]["change"], mom["kgce"]["ratio"]], [1100 * ELEC_COAL, 0.55])


def test_year_on_year_without_earlier_data_is_not_faked(twin: Twin) -> None:
    out = change(twin, A, "2026-03")
    assert out["yoy"] == {"available": False, "month": "2025-03", "reason": "no readings in 2025-03 / 2025-03 无数据"}
    jan = change(twin, B, "2026-03")
    assert jan["mom"]["available"] is False  # B has no February readings
    empty = change(twin, A, "2026-01")
    assert empty["mom"]["available"] is False and "current month" in empty["mom"]["reason"]
