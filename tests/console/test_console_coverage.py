"""The console says how complete its energy figures are: coverage on the Tenants page, the Energy page and a
building's energy panel, against counts worked out by hand from the readings this test writes.

One building (whole-building tenant: Acme), in operation since 2025, the clock pinned to 2026-05-05 12:00
(Asia/Shanghai) — the console's (``data.clock``) and the energy pack's (``page._now``):

===========================  =====================================================================================
meter                        readings (each closes the interval before its stamp)
===========================  =====================================================================================
E electricity kWh, interval, 1 kWh every 15 min stamped in (04-01 00:00, 05-05 11:45], except two whole days
``readingInterval`` 15 min   (04-10 00:00, 04-12 00:00] (192 readings) and one (05-02 00:00, 05-03 00:00] (96)
W water m³, interval,        0.5 m³ every hour stamped in (04-01 00:00, 05-05 11:00]; its interval is inferred
no ``readingInterval``       (24 a day)
===========================  =====================================================================================

Expected readings run to one interval before now (the reading that closes the interval just ended may still be in
transit): on 05-05, E is expected up to 11:45 (47 readings that day) and W up to 11:00 (11). Hence:

* May (running): E 4 × 96 + 47 = 431 expected, 431 − 96 = 335 present; W 4 × 24 + 11 = 107 of 107 — together
  442 / 538 = 82.156 % → "82.15%" (never rounded up), partial and running;
* April: E 30 × 96 = 2,880 expected, 2,688 present; W 720 of 720 — 3,408 / 3,600 = 94.667 % → "94.66%", partial;
* March: no reading at all — "no data", not zeros;
* the Energy page's last 30 days (04-06 – 05-05): E 29 × 96 + 47 = 2,831 expected, 2,831 − 192 − 96 = 2,543
  present → 89.827 % → "89.82%"; W 29 × 24 + 11 = 707 of 707 → "100.00%"; the previous period (03-07 – 04-05):
  E 480 of 2,880 and W 120 of 720 → 16.667 % → "16.66%" each.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from console_fixtures import simulated_console
from nicegui import ui

from lingang_twin.app import open_twin
from lingang_twin.console import data
from lingang_twin.core.twin import Twin
from lingang_twin.energy.web import page as energy_page

pytestmark = pytest.mark.asyncio

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 5, 5, 12, tzinfo=SH)
DISTRICT = "urn:ngsi-ld:District:cc"
BUILDING = "urn:ngsi-ld:Building:cc-house"
TENANT = "urn:ngsi-ld:Enterprise:cc-acme"
E, W = "urn:ngsi-ld:Meter:cc-elec", "urn:ngsi-ld:Meter:cc-water"
GAPS = ((datetime(2026, 4, 10, tzinfo=SH), datetime(2026, 4, 12, tzinfo=SH)),
        (datetime(2026, 5, 2, tzinfo=SH), datetime(2026, 5, 3, tzinfo=SH)))
CONFIG = {"water_kgco2_per_m3": 0.25}


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SH)


def _readings() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    t = at(4, 1, 0, 15)
    while t <= at(5, 5, 11, 45):
        if not any(a < t <= b for a, b in GAPS):
            out.append({"entity_id": E, "attribute": "reading", "observed_at": t, "value": 1.0})
        t += timedelta(minutes=15)
    t = at(4, 1, 1)
    while t <= at(5, 5, 11):
        out.append({"entity_id": W, "attribute": "reading", "observed_at": t, "value": 0.5})
        t += timedelta(hours=1)
    return out


@pytest.fixture
def twin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Twin]:
    monkeypatch.setattr(data, "clock", lambda: NOW)
    monkeypatch.setattr(energy_page, "_now", lambda: NOW)
    since = date(2025, 1, 1)
    t = open_twin(tmp_path / "coverage-console.duckdb")
    t.upsert([
        {"id": DISTRICT, "type": "District", "properties": {"name": "完整度区"}, "phase_since": since},
        {"id": BUILDING, "type": "Building", "properties": {"name": "完整度楼", "floorArea": (1000, "m2")},
         "relationships": {"containedIn": DISTRICT}, "phase_since": since},
        {"id": TENANT, "type": "Enterprise", "properties": {"name": "阿克米", "nameEn": "Acme"},
         "relationships": {"occupies": BUILDING, "containedIn": DISTRICT}},
        {"id": E, "type": "Meter", "properties": {"carrier": "electricity", "unit": "kWh", "register": "interval",
                                                  "readingInterval": (15, "min")},
         "relationships": {"containedIn": BUILDING}, "phase_since": since},
        {"id": W, "type": "Meter", "properties": {"carrier": "water", "unit": "m3", "register": "interval"},
         "relationships": {"containedIn": BUILDING}, "phase_since": since},
    ])
    t.append(_readings())
    yield t
    t.close()


def texts(user: Any, marker: str) -> list[str]:
    """The texts under the elements marked ``marker`` (labels and badges), in drawing order."""
    found = []
    for element in sorted(user.find(marker=marker).elements, key=lambda e: e.id):
        for e in [element, *element.descendants()]:
            if isinstance(e, (ui.label, ui.badge)):
                found.append(e.text)
    return found


@pytest.mark.filterwarnings("ignore::pytest.PytestWarning")  # the module's asyncio mark; this one is plain
def test_hand_counts_are_what_the_docstring_says() -> None:
    """The written readings hold the counts the docstring works out by hand (a second, independent count)."""
    rows = _readings()

    def count(meter: str, a: datetime, b: datetime) -> int:
        return sum(1 for r in rows if r["entity_id"] == meter and a < r["observed_at"] <= b)

    assert count(E, at(5, 1), at(6, 1)) == 335 and count(W, at(5, 1), at(6, 1)) == 107
    assert count(E, at(4, 1), at(5, 1)) == 2688 and count(W, at(4, 1), at(5, 1)) == 720
    assert count(E, at(3, 1), at(4, 1)) == 0 and count(W, at(3, 1), at(4, 1)) == 0
    assert count(E, at(4, 6), at(5, 6)) == 2543 and count(W, at(4, 6), at(5, 6)) == 707
    assert count(E, at(3, 7), at(4, 6)) == 480 and count(W, at(3, 7), at(4, 6)) == 120
    # Shares, floored to 0.01 %: 442/538, 3408/3600, 2543/2831, 480/2880.
    assert (int(442 / 538 * 10_000), int(3408 / 3600 * 10_000), int(2543 / 2831 * 10_000),
            int(480 / 2880 * 10_000)) == (8215, 9466, 8982, 1666)


async def test_tenant_month_states_its_coverage_and_an_empty_month_says_so(twin: Twin) -> None:
    local = TENANT.rsplit(":", 1)[-1]
    async with simulated_console(twin) as (user, console):
        console.configs["energy"] = CONFIG  # the pack's configuration
        await user.open("/energy/tenants")
        await user.should_see("2026-05：有自有分表的品种按分表计")
        await user.should_see(marker=f"tenant-coverage-{local}")
        assert texts(user, f"tenant-coverage-{local}") == ["82.15%", "数据不全", "本期未结束"]
        assert texts(user, f"tenant-kwh-{local}") == ["335.0"]  # 335 readings of 1 kWh, the whole building
        assert texts(user, f"tenant-water_m3-{local}") == ["53.5"]  # 107 × 0.5 m³
        picker = user.find(marker="tenant-month").elements.pop()
        picker.value = "2026-04"  # type: ignore[attr-defined]
        await user.should_see("2026-04：有自有分表的品种按分表计")
        await user.should_see("94.66%")
        assert texts(user, f"tenant-coverage-{local}") == ["94.66%", "数据不全"]  # April is over: not running
        assert texts(user, f"tenant-kwh-{local}") == ["2,688.0"]
        await user.should_not_see(marker="tenant-month-empty")
        picker.value = "2026-03"  # type: ignore[attr-defined]
        await user.should_see(marker="tenant-month-empty")
        await user.should_see("2026-03 无任何读数")
        for key in ("kwh", "water_m3", "kgce", "kgco2", "cost_cny"):
            assert texts(user, f"tenant-{key}-{local}") == ["无读数"], key  # not "0.0"
        # 31 × 96 electricity readings were expected and none came; water's interval is unknown (never read).
        assert texts(user, f"tenant-coverage-{local}") == ["0.00%", "无读数"]
        # The same in English.
        user.find("English").click()
        await user.should_see("Tenants' energy")
        picker = user.find(marker="tenant-month").elements.pop()
        assert picker.value == "2026-05"  # type: ignore[attr-defined]
        await user.should_see(marker=f"tenant-coverage-{local}")
        assert texts(user, f"tenant-coverage-{local}") == ["82.15%", "partial", "running"]
        picker.value = "2026-03"  # type: ignore[attr-defined]
        await user.should_see("2026-03 holds no reading")
        assert texts(user, f"tenant-kwh-{local}") == ["no data"]


async def test_energy_page_shows_each_periods_coverage_per_carrier(twin: Twin) -> None:
    async with simulated_console(twin) as (user, console):
        console.configs["energy"] = CONFIG  # the pack's configuration
        await user.open("/energy")
        await user.should_see("统计周期 2026-04-06 – 2026-05-05（30 天），对比上期 2026-03-07 – 2026-04-05")
        await user.should_see(marker="energy-coverage-electricity")
        assert texts(user, "energy-total-electricity") == ["2,543.0"]
        assert texts(user, "energy-coverage-electricity") == ["89.82%", "数据不全", "本期未结束"]
        assert texts(user, "energy-coverage-water") == ["100.00%", "本期未结束"]
        assert texts(user, "energy-previous-electricity") == ["480.0"]
        assert texts(user, "energy-previous-coverage-electricity") == ["16.66%", "数据不全"]
        assert texts(user, "energy-previous-coverage-water") == ["16.66%", "数据不全"]
        # The notice names what is missing in both periods: 2,831 − 2,543 = 288 readings now (10.18 %, rounded
        # up), 2,880 − 480 = 2,400 and 720 − 120 = 600 before (83.34 %).
        await user.should_see(marker="energy-coverage-notice")
        await user.should_see("电：应有 2,831 条读数，缺 288 条（10.18%），涉及 1/1 块表")
        await user.should_see("上期：电：应有 2,880 条读数，缺 2,400 条（83.34%），涉及 1/1 块表")
        await user.should_see("上期：水：应有 720 条读数，缺 600 条（83.34%），涉及 1/1 块表")
        # Last month (April) against March: April's gap, March empty.
        user.find(marker="energy-period").elements.pop().value = "last_month"  # type: ignore[attr-defined]
        await user.should_see("统计周期 2026-04-01 – 2026-04-30（30 天）")
        await user.should_see("上期：电：无读数（应有 2,976 条）")  # 31 × 96
        await user.should_see("上期：水：无读数")  # water's interval is unknown: nothing to count against
        assert texts(user, "energy-coverage-electricity") == ["93.33%", "数据不全"]  # 2,688 / 2,880
        assert texts(user, "energy-coverage-water") == ["100.00%", "完整"]
        assert texts(user, "energy-previous-coverage-electricity") == ["0.00%", "无读数"]
        # In English (the page reopens on the default period).
        user.find("English").click()
        await user.should_see("Previous coverage")
        await user.should_see(marker="energy-coverage-electricity")
        assert texts(user, "energy-coverage-electricity") == ["89.82%", "partial", "running"]
        await user.should_see("Electricity: 288 of 2,831 expected readings missing (10.18%) on 1 of 1 meters")
        await user.should_see("Previous period: Water: 600 of 720 expected readings missing (83.34%) on 1 of 1 meters")


async def test_building_panel_shows_the_months_coverage(twin: Twin, monkeypatch: pytest.MonkeyPatch) -> None:
    async with simulated_console(twin) as (user, console):
        console.configs["energy"] = CONFIG  # the pack's configuration
        await user.open(f"/entity/{BUILDING}")
        await user.should_see(marker="energy-panel-coverage-electricity")
        assert texts(user, "energy-panel-coverage-electricity") == ["77.72%", "数据不全", "本期未结束"]  # 335/431
        assert texts(user, "energy-panel-coverage-water") == ["100.00%", "本期未结束"]  # 107/107
        await user.should_see("本月数据完整度")
        # Seen on 20 March (no reading yet in March): the panel says which carriers read nothing and how many
        # readings were due (19 × 96 + 47 = 1,871 for electricity), never a row of zeros.
        monkeypatch.setattr(energy_page, "_now", lambda: at(3, 20, 12))
        await user.open(f"/entity/{BUILDING}")
        await user.should_see("本月暂无读数。")
        await user.should_see("电：本月无读数（应有 1,871 条）")
        await user.should_see("水：本月无读数")
        await user.should_not_see(marker="energy-panel-table")
        user.find("English").click()
        await user.should_see("Electricity: no readings this month (1,871 expected)")
        await user.should_see("Water: no readings this month")
