"""The console's energy figures against numbers worked out by hand from readings this test writes.

One building of a hand-built district, its day pinned to 2026-03-20 14:30 (Asia/Shanghai) — the console's clock
(``data.clock``) and the energy pack's (``page._now``) — so nothing depends on the day the test runs:

========================  ==================================================  =============  ==================
meter                     readings (Asia/Shanghai)                            today          March so far
========================  ==================================================  =============  ==================
E1 electricity kWh,       03-05 10:00 200; 03-19 23:00 999; 03-20 00:00 777   100 + 50       200 + 999 + 777
interval                  (closes 03-19's last hour); 10:00 100; 11:00 50;    = 150          + 150 = 2,126
                          02-20 10:00 300
E2 electricity MWh,       03-19 12:00 9.0; 03-20 00:00 10.0; 14:00 10.5       0.5 MWh = 500  1.5 MWh = 1,500
cumulative                                                                    kWh            kWh
S  electricity kWh, sub   03-20 10:00 40 (inside E1: never counted again)     —              —
of E1
D  diesel L, interval     03-05 10:00 10; 03-20 09:00 20; density 0.85 kg/L   17 kg          25.5 kg
W  water m³, interval     03-10 10:00 7; 03-20 12:00 3                        3 m³           10 m³
========================  ==================================================  =============  ==================

Electricity today 650 kWh, March 1-20: 3,626 kWh, February 1-20: 300 kWh. Diesel is metered in litres and shown in
kg — on the overview, the energy page and the building's page alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from console_fixtures import simulated_console
from nicegui import ui

from lingang_twin.app import open_twin
from lingang_twin.console import data
from lingang_twin.core.twin import Twin
from lingang_twin.energy.factors import EnergyConfig
from lingang_twin.energy.web import page as energy_page

pytestmark = pytest.mark.asyncio

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 20, 14, 30, tzinfo=SH)
DISTRICT = "urn:ngsi-ld:District:ux"
BUILDING = "urn:ngsi-ld:Building:ux-lab"
E1, E2, S = "urn:ngsi-ld:Meter:ux-e1", "urn:ngsi-ld:Meter:ux-e2", "urn:ngsi-ld:Meter:ux-sub"
D, W = "urn:ngsi-ld:Meter:ux-diesel", "urn:ngsi-ld:Meter:ux-water"
CONFIG = {"fuel_densities_kg_per_l": {"diesel": 0.85}, "water_kgco2_per_m3": 0.25}
# Published figures the panel must use (written here, not read from the pack's tables):
KGCE_PER_KWH = 0.1229  # GB/T 2589-2020, electricity, equivalent value
KGCO2_PER_KWH = 0.42  # Shanghai local default 2022 (沪环气〔2022〕34号)


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SH)


def meter(mid: str, carrier: str, unit: str, register: str = "interval", sub_of: str | None = None) -> dict[str, Any]:
    rels = {"containedIn": BUILDING} | ({"submeterOf": sub_of} if sub_of else {})
    return {"id": mid, "type": "Meter", "properties": {"name": mid.rsplit(":", 1)[-1], "carrier": carrier,
                                                        "unit": unit, "register": register},
            "relationships": rels}


@pytest.fixture
def twin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Twin]:
    monkeypatch.setattr(data, "clock", lambda: NOW)
    monkeypatch.setattr(energy_page, "_now", lambda: NOW)
    t = open_twin(tmp_path / "ux.duckdb")
    t.upsert([
        {"id": DISTRICT, "type": "District", "properties": {"name": "测试区"}},
        {"id": BUILDING, "type": "Building", "properties": {"name": "测试楼", "floorArea": (1000, "m2")},
         "relationships": {"containedIn": DISTRICT}},
        meter(E1, "electricity", "kWh"), meter(E2, "electricity", "MWh", "cumulative"),
        meter(S, "electricity", "kWh", sub_of=E1), meter(D, "diesel", "L"), meter(W, "water", "m3"),
    ])
    rows = [(E1, at(3, 5, 10), 200), (E1, at(3, 19, 23), 999), (E1, at(3, 20), 777), (E1, at(3, 20, 10), 100),
            (E1, at(3, 20, 11), 50), (E1, at(2, 20, 10), 300),
            (E2, at(3, 19, 12), 9.0), (E2, at(3, 20), 10.0), (E2, at(3, 20, 14), 10.5),
            (S, at(3, 20, 10), 40), (D, at(3, 5, 10), 10), (D, at(3, 20, 9), 20),
            (W, at(3, 10, 10), 7), (W, at(3, 20, 12), 3)]
    t.append([{"entity_id": m, "attribute": "reading", "observed_at": when, "value": float(v)} for m, when, v in rows])
    yield t
    t.close()


def number(text: str) -> float:
    return float(text.split()[0].replace(",", ""))


def in_order(user: Any, marker: str) -> list[float]:
    """The numbers of the labels with ``marker``, in the order they were drawn (``find`` gives a set)."""
    return [number(e.text) for e in sorted(user.find(marker=marker).elements, key=lambda e: e.id)]


async def test_overview_energy_tile_in_the_packs_units(twin: Twin) -> None:
    async with simulated_console(twin) as (user, console):
        console.configs["energy"] = EnergyConfig.model_validate(CONFIG)  # validated once, as at start-up
        await user.open("/")
        await user.should_see("今日能耗（按能源品种）")
        await user.should_see("650 kWh")  # 150 (E1 today) + 500 (E2's 0.5 MWh); S and yesterday left out
        await user.should_see("17.0 kg")  # 20 L × 0.85 kg/L: diesel in kg, as the energy pack accounts it
        await user.should_see("3.0 m³")
        await user.should_not_see("20.0 L")
        tile = console.hub.topics["overview"].last.tiles["energy"]  # the energy pack's tile
        assert [(label[1], shown.split()[1]) for label, shown in tile.lines] == [
            ("Electricity", "kWh"), ("Water", "m³"), ("Diesel", "kg")]
        figures = energy_page.energy_today(twin, EnergyConfig.model_validate(CONFIG), NOW) or []
        assert [(c, u) for c, _, u in figures] == [("electricity", "kWh"), ("water", "m³"), ("diesel", "kg")]
        assert [v for _, v, _ in figures] == pytest.approx([650.0, 3.0, 17.0], rel=1e-12)
        # The energy page's live tiles: the same unit for the same carrier.
        await user.open("/energy")
        await user.should_see("17.0 kg")
        await user.should_see("650.0 kWh")


async def test_overview_without_the_energy_pack_never_adds_different_units(twin: Twin) -> None:
    """No pack to convert units: the console sums nothing itself (issue 11: energy totals belong to the energy
    pack), so no energy figure appears at all — never kWh and MWh, or litres and kg, added together."""
    async with simulated_console(twin, packs=[]) as (user, console):
        await user.open("/")
        await user.should_see("运营总览")
        for shown in ("今日能耗（按能源品种）", "650", "150 kWh", "0.5 MWh", "20.0 L"):
            await user.should_not_see(shown)
        assert console.hub.topics["overview"].last.tiles == {}


async def test_building_page_shows_its_energy_panel(twin: Twin) -> None:
    async with simulated_console(twin) as (user, console):
        console.configs["energy"] = EnergyConfig.model_validate(CONFIG)
        await user.open(f"/entity/{BUILDING}")
        await user.should_see(marker="energy-panel")
        await user.should_see("能耗（4 块总表")  # E1, E2, D, W: the sub-meter is not a main meter
        assert in_order(user, "energy-panel-electricity") == [pytest.approx(650.0), pytest.approx(3626.0)]
        assert in_order(user, "energy-panel-diesel") == [pytest.approx(17.0), pytest.approx(25.5)]
        grid = user.find(marker="energy-panel-table").elements.pop()
        cells = [c.text for c in grid.descendants() if isinstance(c, ui.label)]  # type: ignore[attr-defined]
        row = cells[cells.index("电"):cells.index("电") + 8]
        assert row[3] == "kWh"
        assert [number(x) for x in row[4:8]] == pytest.approx(
            [650 * KGCE_PER_KWH, 3626 * KGCE_PER_KWH, 650 * KGCO2_PER_KWH, 3626 * KGCO2_PER_KWH], abs=0.051)
        water = cells[cells.index("水"):cells.index("水") + 8]
        assert [number(x) for x in water[6:8]] == pytest.approx([3 * 0.25, 10 * 0.25], abs=0.051)
        # A meter's own page: the panel of that one meter; a sub-meter counts for itself there.
        await user.open(f"/entity/{S}")
        await user.should_see("能耗（1 块总表")
        # In Chinese, the type and its properties read in Chinese.
        await user.should_see("计量表")
        await user.should_see("能源品种")
        await user.should_see("区间读数")


async def test_energy_page_period_picker_and_previous_period(twin: Twin) -> None:
    async with simulated_console(twin) as (user, console):
        console.configs["energy"] = EnergyConfig.model_validate(CONFIG)
        await user.open("/energy")
        await user.should_see("统计周期 2026-02-19 – 2026-03-20（30 天）")  # the default: the last 30 days
        chart = user.find(marker="energy-daily-electricity").elements.pop()
        days = chart.options["xAxis"]["data"]  # type: ignore[attr-defined]
        assert (len(days), days[0], days[-1]) == (30, "02-19", "03-20")  # no day to come
        picker = user.find(marker="energy-period").elements.pop()
        picker.value = "this_month"  # type: ignore[attr-defined]
        await user.should_see("统计周期 2026-03-01 – 2026-03-20（20 天），对比上期 2026-02-01 – 2026-02-20")
        await user.should_see(marker="energy-total-electricity", content="3,626.0")
        await user.should_see(marker="energy-previous-electricity", content="300.0")
        await user.should_see("+1108.7%")  # 3,626 / 300 − 1
        chart = user.find(marker="energy-daily-electricity").elements.pop()
        bars, previous = (s["data"] for s in chart.options["series"])  # type: ignore[attr-defined]
        assert len(bars) == 20
        # Mar 5: 200; Mar 19: 999 + 777 + E2's 1 MWh; Mar 20: 650; a day without readings is a gap, not a zero.
        assert (bars[4], bars[18], bars[19], bars[5]) == (200.0, 2776.0, 650.0, None)
        assert previous[19] == 300.0 and sum(v for v in previous if v is not None) == 300.0
        await user.should_see(marker="energy-total-diesel", content="25.5")
        # Last month: February, compared with January (no readings there: a dash, not a 0 % change).
        picker.value = "last_month"  # type: ignore[attr-defined]
        await user.should_see("统计周期 2026-02-01 – 2026-02-28（28 天）")
        await user.should_see(marker="energy-total-electricity", content="300.0")
        await user.should_see(marker="energy-previous-electricity", content="—")
        # Custom: a period ending after today is refused, naming the field.
        picker.value = "custom"  # type: ignore[attr-defined]
        user.find(marker="energy-period-start").type("2026-03-01")
        user.find(marker="energy-period-end").type("2026-03-25")
        user.find(marker="energy-period-apply").click()
        await user.should_see("周期无效（end）")
        user.find(marker="energy-period-end").clear().type("2026-03-05")
        user.find(marker="energy-period-apply").click()
        await user.should_see("统计周期 2026-03-01 – 2026-03-05（5 天），对比上期 2026-02-24 – 2026-02-28")
        await user.should_see(marker="energy-total-electricity", content="200.0")
