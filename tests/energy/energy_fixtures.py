"""Hand-built energy data: a building with main and sub-meters of several carriers, in a DuckDB file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lingang_twin.app import open_twin
from lingang_twin.core.twin import Twin

SH = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 3, 2, tzinfo=SH)
DISTRICT = "urn:ngsi-ld:District:test"
BUILDING = "urn:ngsi-ld:Building:lab"
OTHER = "urn:ngsi-ld:Building:station"
M_ELEC = "urn:ngsi-ld:Meter:lab-elec-main"
M_ELEC_SUB = "urn:ngsi-ld:Meter:lab-elec-hvac"
M_WATER = "urn:ngsi-ld:Meter:lab-water"
M_GAS = "urn:ngsi-ld:Meter:lab-gas"
M_DIESEL = "urn:ngsi-ld:Meter:lab-diesel"
M_H2 = "urn:ngsi-ld:Meter:station-h2"

# A deployment that meters water and hydrogen must give their CO2 factors (no silent zero).
CONFIG: dict[str, Any] = {"water_kgco2_per_m3": 0.25, "hydrogen_route": "renewable-electrolysis",
                          "hydrogen_kgco2_per_kg": 1.0}


def meter(mid: str, parent: str, carrier: str, unit: str, register: str = "interval",
          sub_of: str | None = None, **extra: Any) -> dict[str, Any]:
    """A Meter entity."""
    rels: dict[str, str] = {"containedIn": parent}
    if sub_of:
        rels["submeterOf"] = sub_of
    return {"id": mid, "type": "Meter", "properties": {"carrier": carrier, "unit": unit, "register": register,
                                                        **extra}, "relationships": rels}


def layout() -> list[dict[str, Any]]:
    """District → two buildings; the lab has electricity (cumulative main, interval sub), water, gas (cumulative,
    rolls over at 1000 m³) and diesel in litres; the station has hydrogen in Nm³."""
    return [
        {"id": DISTRICT, "type": "District", "properties": {"name": "测试区"}},
        {"id": BUILDING, "type": "Building", "properties": {"name": "实验楼"},
         "relationships": {"containedIn": DISTRICT}},
        {"id": OTHER, "type": "Building", "properties": {"name": "加氢站"},
         "relationships": {"containedIn": DISTRICT}},
        meter(M_ELEC, BUILDING, "electricity", "kWh", "cumulative", registerMax=1e6),
        meter(M_ELEC_SUB, BUILDING, "electricity", "kWh", sub_of=M_ELEC),
        meter(M_WATER, BUILDING, "water", "m3"),
        meter(M_GAS, BUILDING, "natural_gas", "m3", "cumulative", registerMax=1000.0),
        meter(M_DIESEL, BUILDING, "diesel", "L"),
        meter(M_H2, OTHER, "hydrogen", "Nm3"),
    ]


def readings() -> list[dict[str, Any]]:
    """One day (2026-03-02, Asia/Shanghai) of hourly readings, each closing the hour before its stamp.

    Electricity: 1,000 kWh in the day, all of it between 09:00 and 10:00 (peak) except 100 kWh 02:00-03:00
    (valley); the sub-meter reads 40 kWh each hour (it must not be counted again). Water 2 m³/h. Gas register
    990 → 1,010 across a rollover at 1,000 m³ (20 m³). Diesel 100 L at 12:00. Hydrogen 100 Nm³ at 15:00.
    """
    out: list[dict[str, Any]] = []

    def add(mid: str, t: datetime, v: float) -> None:
        out.append({"entity_id": mid, "attribute": "reading", "observed_at": t, "value": v})

    register = 5000.0
    for h in range(25):
        t = DAY + timedelta(hours=h)
        if h == 3:
            register += 100.0
        if h == 10:
            register += 900.0
        add(M_ELEC, t, register)
        add(M_GAS, t, (990.0 + 20.0 * h / 24) % 1000.0)
        if h:
            add(M_ELEC_SUB, t, 40.0)
            add(M_WATER, t, 2.0)
    add(M_DIESEL, DAY + timedelta(hours=12), 100.0)
    add(M_H2, DAY + timedelta(hours=15), 100.0)
    # Outside the day: must not count (the reading at 00:00 of the 3rd closes the 2nd's last hour).
    add(M_WATER, DAY + timedelta(days=1, hours=1), 999.0)
    return out


@pytest.fixture
def energy_db(tmp_path: Path) -> Iterator[tuple[Path, Twin]]:
    """A DuckDB file with the layout and a day of readings; yields its path and an open twin."""
    path = tmp_path / "energy.duckdb"
    twin = open_twin(path)
    twin.upsert(layout())
    twin.append(readings())
    yield path, twin
    twin.close()


@pytest.fixture
def energy_file(tmp_path: Path) -> Path:
    """A closed DuckDB file with the layout and a day of readings (for tests that run another process)."""
    path = tmp_path / "energy-cli.duckdb"
    twin = open_twin(path)
    try:
        twin.upsert(layout())
        twin.append(readings())
    finally:
        twin.close()
    return path
