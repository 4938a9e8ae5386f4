"""The energy pack's console page (/energy) through NiceGUI's simulated user, over a demo district on a DuckDB file.

The clock of the page is pinned (``page._now``) to the end of the demo's history, so "this month" and "the last three
days" are known; the Sankey's links are checked against :func:`account` run zone by zone (an independent path)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from energy_fixtures import CONFIG, SH
from nicegui import core, ui
from nicegui.functions.download import download
from nicegui.functions.navigate import Navigate
from nicegui.functions.notify import notify
from nicegui.testing import User
from nicegui.testing.general import nicegui_reset_globals
from numpy.testing import assert_allclose

import lingang_fixtures
from lingang_twin.app import PACKS, open_twin
from lingang_twin.console import Console, setup
from lingang_twin.core.twin import Twin
from lingang_twin.demo import DEMO_DISTRICT_ID, build_demo
from lingang_twin.energy.accounting import account, month_range
from lingang_twin.energy.carriers import CARRIER_LABELS
from lingang_twin.energy.factors import EnergyConfig
from lingang_twin.energy.quality import check_meters
from lingang_twin.energy.settings import ILLUSTRATIVE_NOTICE, STORED_PROPERTY
from lingang_twin.energy.web import page as energy_page
from lingang_twin.settings import Settings
from simulated_user import PatientUser

NOW = datetime(2026, 3, 20, 12, tzinfo=SH)
DEMO_CONFIG = {**CONFIG, "hydrogen_route": "smr", "hydrogen_kgco2_per_kg": 10.0}


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo district with three days of history up to ``NOW``."""
    return lingang_fixtures.demo_file(tmp_path_factory.mktemp("energy-page"), 3, NOW)


@pytest.fixture
def demo(demo_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Twin]:
    monkeypatch.setattr(energy_page, "_now", lambda: NOW)
    twin = open_twin(demo_file)
    yield twin
    twin.close()


@asynccontextmanager
async def simulated_console(twin: Twin) -> AsyncIterator[tuple[User, Console]]:
    """The console (every pack's pages) for ``twin`` in-process, and a simulated user (as in tests/console)."""
    with nicegui_reset_globals():
        os.environ["NICEGUI_USER_SIMULATION"] = "true"
        try:
            console = setup(twin, Settings(), PACKS, prefix="", start_hub=False)
            ui.run(storage_secret="simulated secret", show_welcome_message=False)
            async with core.app.router.lifespan_context(core.app), httpx.AsyncClient(
                    transport=httpx.ASGITransport(core.app), base_url="http://test") as client:
                yield PatientUser(client), console
        finally:
            os.environ.pop("NICEGUI_USER_SIMULATION", None)
            ui.navigate = Navigate()
            ui.notify = notify
            ui.download = download


def expected_links(twin: Twin, start: datetime, end: datetime) -> dict[tuple[str, str], float]:
    """kgce per (carrier label, zone name) from ``account`` of each zone over ``[start, end)``; what no zone holds
    goes to "区内其他"."""
    zones = twin.query(types=["Zone"], under=DEMO_DISTRICT_ID, limit=100).entities
    assert len(zones) >= 2, "the demo has zones"
    out: dict[tuple[str, str], float] = {}
    in_zones: dict[str, float] = {}
    for z in zones:
        for c, acc in account(twin, z.id, start, end, config=DEMO_CONFIG).carriers.items():
            if acc.kgce:
                out[(CARRIER_LABELS[c][0], str(z.value("name")))] = acc.kgce
                in_zones[c] = in_zones.get(c, 0.0) + acc.kgce
    for c, acc in account(twin, DEMO_DISTRICT_ID, start, end, config=DEMO_CONFIG).carriers.items():
        rest = acc.kgce - in_zones.get(c, 0.0)
        if abs(rest) > 1e-6 * max(1.0, acc.kgce):
            out[(CARRIER_LABELS[c][0], "区内其他")] = rest
    return out


@pytest.mark.asyncio
async def test_energy_page_sankey_and_findings(demo: Twin) -> None:
    async with simulated_console(demo) as (user, console):
        console.configs["energy"] = EnergyConfig.model_validate(DEMO_CONFIG)  # the pack's configuration
        await user.open("/energy")
        await user.should_see("折标准煤")  # the page says why the carriers add up
        await user.should_not_see("未配置排放因子")
        await user.should_not_see(marker="energy-config-illustrative")  # the deployment's own settings win
        options = user.find(marker="energy-sankey").elements.pop().options  # type: ignore[attr-defined]
        series = options["series"][0]
        assert series["type"] == "sankey"
        nodes = {n["name"] for n in series["data"]}
        # The default period: the 30 days ending with NOW's day (written out here, not asked of the page).
        expected = expected_links(demo, datetime(2026, 2, 19, tzinfo=SH), datetime(2026, 3, 21, tzinfo=SH))
        assert {c for c, _ in expected} <= nodes and {z for _, z in expected} <= nodes
        assert {"电", "水", "天然气"} <= nodes
        got = {(link["source"], link["target"]): link["value"] for link in series["links"]}
        assert got.keys() == expected.keys()
        for key, value in expected.items():
            assert_allclose(got[key], value, rtol=1e-9, atol=1e-9, err_msg=str(key))
        # A daily trend chart per carrier, in its own unit.
        for carrier in ("electricity", "water"):
            chart = user.find(marker=f"energy-daily-{carrier}").elements.pop()
            assert sum(v for v in chart.options["series"][0]["data"] if v is not None) > 0  # type: ignore[attr-defined]
        # The anomaly list is check_meters' list for the last three days, linked to the meters' pages.
        findings = check_meters(demo, DEMO_DISTRICT_ID, NOW - timedelta(days=3), NOW)
        assert findings, "the demo injects faults and starts with gaps"
        await user.should_see(f"近三天计量异常：{len(findings)} 项")
        links = {link.props.get("href") for link in user.find(marker="energy-findings").elements.pop()
                 .descendants() if isinstance(link, ui.link)}
        shown = findings[:energy_page.MAX_FINDINGS]
        assert links == {f"/entity/{f.entity_id}" for f in shown}
        # Finding kinds and severities read in Chinese (written out here, not taken from the pack's table).
        words = {"gap": "数据缺失", "stuck": "停滞", "spike": "突增", "negative": "负读数",
                 "night_baseload_creep": "夜间基荷上升", "water_leak": "疑似漏水", "hydrogen_loss": "氢损耗"}
        severities = {"low": "低", "medium": "中", "high": "高", "critical": "严重"}
        cells = {e.text for e in user.find(marker="energy-findings").elements.pop().descendants()  # type: ignore[attr-defined]
                 if isinstance(e, ui.label)}
        for f in shown:
            assert f"{words[f.kind]}（{severities[f.severity]}）" in cells, f.kind
        assert not any(f"{f.kind} (" in c for c in cells for f in shown)
        # The ranking is there once the factors are configured; the report buttons are enabled.
        assert user.find(marker="energy-ranking").elements
        # The buildings' uses read in Chinese on the Chinese page (written out here, not taken from the console).
        uses = {"office": "办公", "lab": "实验室", "school": "学校", "residential": "住宅", "hotel": "酒店",
                "retail": "商业", "incubator": "孵化器", "data_centre": "数据中心"}
        ranked = {e.text for e in user.find(marker="energy-ranking").elements.pop().descendants()  # type: ignore[attr-defined]
                  if isinstance(e, ui.label)}
        assert ranked & set(uses.values())
        assert not ranked & set(uses), ranked & set(uses)
        for label, magic in (("HTML", b"<"), ("PDF", b"%PDF")):
            user.find(label).click()
            response = await user.download.next(timeout=60)
            assert response.content.lstrip().startswith(magic), label


@pytest.fixture
def bare_demo(demo_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Twin]:
    """The demo district without the demo's own energy settings: a deployment that configured nothing."""
    monkeypatch.setattr(energy_page, "_now", lambda: NOW)
    path = tmp_path / "bare.duckdb"
    shutil.copy(demo_file, path)
    twin = open_twin(path)
    twin.patch(DEMO_DISTRICT_ID, remove=[STORED_PROPERTY])
    yield twin
    twin.close()


@pytest.mark.asyncio
async def test_demo_pages_say_their_settings_are_illustrative(demo: Twin) -> None:
    """The demo twin carries its own illustrative settings: the energy and tenants pages work without any
    deployment config, and say in both languages that the factors are placeholders."""
    async with simulated_console(demo) as (user, _):
        for path in ("/energy", "/energy/tenants"):
            await user.open(path)
            await user.should_see(ILLUSTRATIVE_NOTICE[0][:12])
            await user.should_see(marker="energy-config-illustrative")
            await user.should_not_see("未配置排放因子")
        await user.should_not_see("无法核算租户")  # the tenants' statement is there
        await user.open("/energy")
        assert user.find(marker="energy-ranking").elements


@pytest.mark.asyncio
async def test_energy_page_without_config_names_the_settings(bare_demo: Twin) -> None:
    demo = bare_demo
    async with simulated_console(demo) as (user, _):
        await user.open("/energy")
        await user.should_not_see(marker="energy-config-illustrative")
        await user.should_see("未配置排放因子")
        await user.should_see("water_kgco2_per_m3")
        await user.should_see("hydrogen_kgco2_per_kg")
        # Standard coal needs no CO2 factor: the Sankey is still drawn; the ranking is not, and says why.
        assert user.find(marker="energy-sankey").elements
        await user.should_see("无法排名")


def test_daily_series_and_flows_on_known_readings(energy_db: tuple[Path, Twin]) -> None:
    """The hand-built day: readings land on their local day; no zones, so every flow goes to "outside zones"."""
    from energy_fixtures import DISTRICT

    _, twin = energy_db
    start, end = month_range("2026-03")
    days, series = energy_page.daily(twin, DISTRICT, start, end)
    assert len(days) == 31
    assert series["electricity"][1] == 1000.0 and sum(series["electricity"]) == 1000.0  # main meter only
    assert (series["water"][1], series["water"][2]) == (48.0, 999.0)
    assert series["natural_gas"][1] == 20.0  # across the register's rollover
    f = energy_page.flows(twin, DISTRICT, start, end)
    assert set(f.zones) == {""}
    assert_allclose(f.kgce[("electricity", "")], 122.9)


@pytest.mark.asyncio
async def test_today_tiles_follow_new_readings_live(demo_file: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A reading that arrives while the page is open shows in today's tiles after the next tick of the live hub."""
    monkeypatch.setattr(energy_page, "_now", lambda: NOW)
    copy = tmp_path / "live.duckdb"  # this test writes; the module's file stays as the other tests expect it
    shutil.copy(demo_file, copy)
    twin = open_twin(copy)
    try:
        before = energy_page.today(twin, DEMO_DISTRICT_ID, NOW)
        assert before.consumption["electricity"] > 0 and before.last_hour["electricity"] > 0
        meter = next(m for m in twin.query_all(types=("Meter",), under=DEMO_DISTRICT_ID,
                                               q='carrier=="electricity";register=="interval";endUse=="main"'))
        async with simulated_console(twin) as (user, console):
            console.configs["energy"] = EnergyConfig.model_validate(DEMO_CONFIG)  # the pack's configuration
            await user.open("/energy")
            await user.should_see(f"{before.consumption['electricity']:,.1f} kWh")
            await user.should_see(f"今日累计（至 12:00，总表）：{before.total_kgce:,.0f} kgce")
            # 10 MWh more in the hour 11:00-12:00 (a reading stamped between two regular ones).
            twin.append([{"entity_id": meter.id, "attribute": "reading", "value": 10_000.0,
                          "observed_at": NOW - timedelta(seconds=30)}])
            await console.hub.tick()
            after = before.consumption["electricity"] + 10_000.0
            await user.should_see(f"{after:,.1f} kWh")
            await user.should_see(f"上一小时 {before.last_hour['electricity'] + 10_000.0:,.1f} kWh")
    finally:
        twin.close()


@pytest.mark.asyncio
async def test_forecast_chart_and_its_absence(demo: Twin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three days of history cannot make a forecast: the page says why. Thirty can: the chart is the library's
    forecast of tomorrow's district electricity."""
    from lingang_twin.energy.forecast import forecast

    async with simulated_console(demo) as (user, _):
        await user.open("/energy")
        await user.should_see("暂无预测")
        await user.should_see("历史数据不足")  # the reason: how much history there is and how much is needed
    longer = tmp_path / "month.duckdb"
    twin = open_twin(longer)
    try:
        build_demo(twin, days=30, end=NOW)
        expected = forecast(twin, DEMO_DISTRICT_ID, horizon="day-ahead", issued_at=NOW, carrier="electricity")
        async with simulated_console(twin) as (user, _):
            await user.open("/energy")
            await user.should_see("明日用电预测")
            options = user.find(marker="energy-forecast").elements.pop().options  # type: ignore[attr-defined]
            mean = next(s for s in options["series"] if s["name"] == "预测")
            assert_allclose(mean["data"], expected.mean)
            assert options["xAxis"]["data"][0] == "00:00" and len(options["xAxis"]["data"]) == 24
    finally:
        twin.close()


@pytest.mark.asyncio
async def test_tenant_page_lists_every_tenant_with_its_method(bare_demo: Twin) -> None:
    """/energy/tenants: one row per tenant of the demo (the incubator's 16 and three whole-building firms), in the
    order and with the figures of tenant_accounts; the methods are stated; a tenant's report downloads. The demo's
    own settings are removed first: the page refuses until the deployment configures the factors."""
    demo = bare_demo
    from lingang_twin.energy.tenants import tenant_accounts
    from lingang_twin.energy.web.tenant_page import tenant_rows

    start, end = month_range(f"{NOW:%Y-%m}")
    config = EnergyConfig.model_validate(DEMO_CONFIG)
    accounts = tenant_accounts(demo, start, end, under=DEMO_DISTRICT_ID, config=config)
    assert len(accounts) == 19
    async with simulated_console(demo) as (user, console):
        await user.open("/energy/tenants")
        await user.should_see("无法核算租户")  # water has no CO2 factor until the deployment sets one
        console.configs["energy"] = config  # the pack's configuration
        await user.open("/energy/tenants")
        await user.should_see("按面积分摊")
        grid = user.find(marker="tenant-table").elements.pop()
        links = [e for e in grid.descendants() if isinstance(e, ui.link)]
        assert [link.props.get("href") for link in links] == [f"/entity/{a.scope}" for a in accounts]
        names = {a.scope: (a.scope, a.scope) for a in accounts}
        first = tenant_rows(accounts, names)[0]
        await user.should_see(f"{first['kgce']:,.1f}")
        buttons = [e for e in grid.descendants() if isinstance(e, ui.button) and e.text == "HTML"]
        assert len(buttons) == 19  # one per tenant
        local = accounts[0].scope.rsplit(":", 1)[-1]
        user.find(marker=f"tenant-report-html-{local}").click()
        response = await user.download.next(timeout=60)
        text = response.content.decode("utf-8")
        assert "月度能耗报告" in text and ("按面积分摊" in text or "分表计量" in text)


@pytest.mark.asyncio
async def test_tenant_page_month_picker(demo: Twin, monkeypatch: pytest.MonkeyPatch) -> None:
    """Seen from 5 April, the page opens on April (no readings yet: every tenant says "no data", not zero); picking
    March shows March's statement — the demo's readings of 17-20 March."""
    from lingang_twin.energy.tenants import tenant_accounts
    from lingang_twin.energy.web.tenant_page import tenant_rows

    monkeypatch.setattr(energy_page, "_now", lambda: datetime(2026, 4, 5, 9, tzinfo=SH))
    config = EnergyConfig.model_validate(DEMO_CONFIG)
    start, end = month_range("2026-03")
    march = tenant_rows(tenant_accounts(demo, start, end, under=DEMO_DISTRICT_ID, config=config),
                        {})
    assert march[0]["kgce"] > 0
    async with simulated_console(demo) as (user, console):
        console.configs["energy"] = config  # the pack's configuration
        await user.open("/energy/tenants")
        await user.should_see("2026-04：有自有分表的品种按分表计")
        picker = user.find(marker="tenant-month").elements.pop()
        assert list(picker.options)[:3] == ["2026-04", "2026-03", "2026-02"]  # type: ignore[attr-defined]
        grid = user.find(marker="tenant-table").elements.pop()
        april = [e.text for e in grid.descendants() if isinstance(e, ui.label)]  # type: ignore[attr-defined]
        assert f"{march[0]['kgce']:,.1f}" not in april
        assert "0.0" not in april and april.count("无读数") >= 5 * len(march)  # five figures per tenant
        await user.should_see("2026-04 无任何读数")
        picker.value = "2026-03"  # type: ignore[attr-defined]
        await user.should_see("2026-03：有自有分表的品种按分表计")
        await user.should_see(f"{march[0]['kgce']:,.1f}")
        # The report buttons follow the chosen month.
        local = march[0]["enterprise"].rsplit(":", 1)[-1]
        user.find(marker=f"tenant-report-html-{local}").click()
        response = await user.download.next(timeout=60)
        assert "2026-03" in response.headers.get("content-disposition", "") + response.content.decode("utf-8")
