"""The console's pages through NiceGUI's simulated user: labels, language, search, entity pages, bad input, live
updates and the pack page hook — against the demo twin, with no mock of our own components."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from console_fixtures import simulated_console
from nicegui import ui
from nicegui.testing import User

from lingang_twin.console import Console
from lingang_twin.core.twin import SHANGHAI, Twin
from lingang_twin.demo import DEMO_DISTRICT_ID
from lingang_twin.stores.duckdb_store import DuckDBStore

pytestmark = pytest.mark.asyncio

BUILDING = "urn:ngsi-ld:Building:hq-exhibition-centre"


async def test_overview_tiles_in_chinese_then_english(console_user: tuple[User, Console]) -> None:
    user, _ = console_user
    await user.open("/")
    await user.should_see("运营总览")
    await user.should_see("今日能耗（按能源品种）")
    await user.should_see("电")
    # Carbon: the demo twin carries its own (illustrative) water/hydrogen factors, so today's total is shown; a
    # twin without factors shows no invented total (tests/energy/test_energy_page.py, bare_demo).
    await user.should_see("CO₂，上海地方因子 2022，总表")
    await user.should_see("运营包尚未上线")
    await user.should_see("临港时间")
    user.find("English").click()
    # The switch reloads the page and recomputes the tiles (today's carbon too, now that the demo has factors):
    # wait for it as long as a busy machine needs (up to 60 s, polling), never a fixed 0.3 s.
    await user.should_see("Operations overview", retries=600)
    await user.should_see("Energy today, by carrier")
    await user.should_see("Electricity")
    await user.should_see("not available")
    await user.should_not_see("运营总览")
    # The choice is remembered for this user: another page opens in English too.
    await user.open("/entities")
    await user.should_see("Entity explorer")


async def test_overview_free_parking_is_the_sum_of_latest_readings(console_user: tuple[User, Console]) -> None:
    user, console = console_user
    from lingang_twin.energy.web.page import energy_today
    from lingang_twin.mobility.faces import free_parking, shuttles_in_service

    parking = free_parking(console.twin)  # the mobility pack's tile figures
    assert parking is not None and parking[1] == 7
    assert shuttles_in_service(console.twin) == 5
    energy = energy_today(console.twin)  # the energy pack's tile figures
    assert energy is not None and {"electricity", "water"} <= {c for c, _, _ in energy}
    await user.open("/")
    await user.should_see(f"{parking[0]:,}")


async def test_overview_carbon_tile_once_factors_are_set(console_user: tuple[User, Console]) -> None:
    """With the deployment's factors the carbon tile shows today's tonnes: the energy pack's figure, through the
    pack's hook (the console does not import the pack)."""
    from lingang_twin.energy.factors import EnergyConfig
    from lingang_twin.energy.web.page import carbon_today

    user, console = console_user
    config = EnergyConfig.model_validate({"water_kgco2_per_m3": 0.25, "hydrogen_route": "smr",
                                          "hydrogen_kgco2_per_kg": 10.0})
    console.configs["energy"] = config
    expected = carbon_today(console.twin, config)
    assert expected is not None and expected > 0
    await user.open("/")
    await user.should_see("CO₂，上海地方因子 2022，总表")
    label = next(iter(user.find(marker="carbon").elements))
    shown = float(label.text.split()[0].replace(",", ""))  # type: ignore[attr-defined]
    # The tile and this test each read "today" at their own instant; live telemetry may add a little between.
    assert shown == pytest.approx(expected / 1000, rel=0.05, abs=0.1)


async def test_explorer_search_by_name_type_and_id(console_user: tuple[User, Console]) -> None:
    user, _ = console_user
    await user.open("/entities?q=展示中心")
    await user.should_see("科创总部湾展示中心")
    await user.open("/entities?q=OffStreetParking")
    await user.should_see("共 7 个，显示第 1–7 个")
    await user.open("/entities?q=hq-exhibition")
    await user.should_see(BUILDING)
    user.find(ui.input).clear().type("no-such-thing-anywhere").trigger("keydown.enter")
    await user.should_see("没有找到匹配“no-such-thing-anywhere”的实体。")


async def test_entity_page_shows_properties_tree_lifecycle_and_chart(console_user: tuple[User, Console]) -> None:
    user, _ = console_user
    await user.open(f"/entity/{BUILDING}")
    await user.should_see("科创总部湾展示中心")
    await user.should_see("建筑面积")  # floorArea, in the page's language
    await user.should_see("12,000 m2")
    # up the tree: parcel → zone → district, each a link to its page
    links = {el.props["href"] for el in user.find(ui.link).elements}
    assert "/entity/urn:ngsi-ld:Parcel:hq-01" in links
    assert f"/entity/{DEMO_DISTRICT_ID}" in links
    # down the tree: its meters
    assert any(h.startswith("/entity/urn:ngsi-ld:Meter:") for h in links)
    await user.should_see("生命周期")
    entries = [(el.props["title"], el.props["subtitle"]) for el in user.find(ui.timeline_entry).elements]
    assert sorted(entries, key=lambda x: x[1])[-1] == ("运营", "2023-03-07")  # in operation since
    assert len(entries) == 4
    await user.should_see("该实体没有时间序列。")  # a building's own series: none; its meters have them

    meter = next(h for h in sorted(links) if h.startswith("/entity/urn:ngsi-ld:Meter:"))
    await user.open(meter)
    await user.should_see(kind=ui.echart)
    chart = user.find(ui.echart).elements.pop()
    points = chart.options["series"][0]["data"]
    assert len(points) >= 12 and all(v is None or v >= 0 for _, v in points)


async def test_bad_input_gets_a_message_not_a_traceback(console_user: tuple[User, Console]) -> None:
    user, console = console_user
    await user.open("/entity/urn:ngsi-ld:Building:does-not-exist")
    await user.should_see("找不到实体 urn:ngsi-ld:Building:does-not-exist")
    await user.open("/entity/not-an-id")
    await user.should_see("不是有效的实体编号")
    # A series with readings only long ago: the chart says so for the chosen period.
    twin = console.twin
    old = "urn:ngsi-ld:Building:console-test-old-series"
    twin.upsert([{"id": old, "type": "Building", "properties": {"name": "旧数据楼"}}])
    long_ago = datetime.now(SHANGHAI) - timedelta(days=400)
    twin.append([{"entity_id": old, "attribute": "visitors", "observed_at": long_ago, "value": 5.0}])
    await user.open(f"/entity/{old}")
    await user.should_see("所选时段内“访客”没有数据。")  # the series' name in Chinese


async def test_empty_store_says_so_on_every_page(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from lingang_twin.app import PACKS
    from lingang_twin.core.packs import install

    twin = Twin(DuckDBStore(None))
    install(twin, PACKS)
    async with simulated_console(twin) as (user, _):
        for path in ("/", "/entities", "/map"):
            await user.open(path)
            await user.should_see("孪生中还没有任何实体")
        await user.open("/mobility")
        await user.should_see("孪生中没有停车场。")
    twin.close()


async def test_live_updates_reach_open_pages_on_the_next_tick(console_user: tuple[User, Console]) -> None:
    user, console = console_user
    twin = console.twin
    lab = "urn:ngsi-ld:Building:console-test-live-lab"
    twin.upsert([{"id": lab, "type": "Building", "properties": {"name": "实时测试楼"}, "phase": "construction"}])
    await console.hub.tick()  # the creation is old news for the page opened next
    await user.open(f"/entity/{lab}")
    await user.should_see("建设")
    twin.upsert([{"id": lab, "type": "Building", "properties": {"name": "实时测试楼"}, "phase": "operation"}],
                phase_since=date.today())
    await console.hub.tick()
    await user.should_see("运营")
    assert console.hub.seq > 0


async def test_overview_refreshes_from_new_readings(console_user: tuple[User, Console]) -> None:
    user, console = console_user
    twin = console.twin
    await user.open("/")
    park = "urn:ngsi-ld:OffStreetParking:console-test-park"
    twin.upsert([{"id": park, "type": "OffStreetParking", "properties": {"name": "测试停车场",
                                                                          "totalSpotNumber": 12345}}])
    def free() -> int:  # the parking tile's figure, as the live hub last computed it
        figure = console.hub.topics["overview"].last.tiles["parking"].figure
        return int(figure.replace(",", ""))

    before = free()
    twin.append([{"entity_id": park, "attribute": "availableSpotNumber", "observed_at": datetime.now(SHANGHAI),
                  "value": 10000.0}])
    await console.hub.tick()
    after = free()
    assert after == before + 10000
    await user.should_see(f"{after:,}")
    await user.should_see("8 个停车场")


async def test_hub_timer_ticks_by_itself(demo_twin: Twin) -> None:
    """The hub's own timer ticks without a test calling ``tick()`` (how soon depends on the machine: waited for)."""
    import asyncio

    async with simulated_console(demo_twin) as (user, console):
        assert console.hub.ticks == 0
        console.hub.start()
        await user.open("/")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while console.hub.ticks < 2 and loop.time() < deadline:
            await asyncio.sleep(0.1)
        assert console.hub.ticks >= 2


async def test_pack_page_through_the_console_hook(console_user: tuple[User, Console]) -> None:
    user, console = console_user
    # Declared by the packs (Pack.pages).
    assert [p.path for p in console.pages] == ["/energy", "/energy/tenants", "/mobility"]
    await user.open("/")
    await user.should_see("出行")  # in the navigation of every page
    await user.open("/mobility")
    await user.should_see("停车场实时空位")
    await user.should_see("创晶科技中心智慧停车场")
    with pytest.raises(ValueError, match="already has a page"):
        console.register_page("/mobility", "重复", "Duplicate", lambda page: None)


async def test_links_carry_no_mount_path_nicegui_adds_it(demo_twin: Twin) -> None:
    """Mounted at /console, links still say ``/entity/…``: NiceGUI 3 puts its mount path (``window.path_prefix``)
    before every ``/`` target in the browser, so a link that carried it too would land on
    ``/console/console/…`` — every console link was a 404 that way. The browser walkthrough proves the landing."""
    async with simulated_console(demo_twin, prefix="/console") as (user, console):
        assert console.prefix == "/console"
        await user.open(f"/entity/{BUILDING}")
        await user.should_see("科创总部湾展示中心")
        hrefs = {str(el.props["href"]) for el in user.find(ui.link).elements}
        assert "/" in hrefs and "/map" in hrefs and "/energy" in hrefs  # the navigation
        assert "/entity/urn:ngsi-ld:Parcel:hq-01" in hrefs  # up the containment tree
        assert not [h for h in hrefs if h.startswith("/console")]
        assert console.url("/entities?type=Meter") == "/entities?type=Meter"
        assert console.js_url("/entity/") == '(window.path_prefix || "") + "/entity/"'
