"""The 3D twin and the map's layers through NiceGUI's simulated user, against the demo twin: which buildings are
drawn on a date, how they are coloured, where the live layers put car parks and shuttles."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from console_fixtures import PATIENCE_S, simulated_console
from nicegui import ui
from nicegui.elements.scene.objects.extrusion import Extrusion
from nicegui.testing import User

from lingang_fixtures import demo_file
from lingang_twin.app import open_twin
from lingang_twin.console import Console, data, layers
from lingang_twin.console.data import latest_by_entity, start_of_today
from lingang_twin.console.pages.map import TwinMap
from lingang_twin.core.twin import SHANGHAI
from lingang_twin.demo import LiveSimulator

pytestmark = pytest.mark.asyncio

BUILDING = "urn:ngsi-ld:Building:hq-exhibition-centre"
# The evening the entity chart stopped following new readings (23:3x-23:5x Shanghai time): the demo's readings run
# an hour ahead of the clock, so at 23:45 some are already stamped tomorrow. A fixed past date: no test depends on
# the wall clock.
LATE_EVENING = datetime(2026, 11, 20, 23, 45, tzinfo=SHANGHAI)


def _drawn(user: User) -> dict[str, Extrusion]:
    """The buildings in the page's scene, by id (each extrusion is named by its building's id)."""
    scene = user.find(ui.scene).elements.pop()
    assert isinstance(scene, ui.scene)
    return {o.name: o for o in scene.objects.values() if isinstance(o, Extrusion) and o.name}


async def test_3d_page_draws_buildings_and_goes_back_in_time(console_user: tuple[User, Console]) -> None:
    user, console = console_user
    await user.open("/3d")
    await user.should_see("三维孪生")
    await user.should_see("三维")  # in the navigation
    now = _drawn(user)
    today_total = console.twin.query(types=["Building"], limit=0).total
    assert len(now) == today_total > 100
    # Extruded to its height, coloured by today's phase.
    hq = now[BUILDING]
    assert hq.args[1] == console.twin.store.get_entities([BUILDING])[BUILDING].value("height")
    assert hq.color == layers.PHASE_COLOURS["operation"]
    await user.should_see("运营")  # the phase legend
    colours_now = {i: o.color for i, o in now.items()}  # the objects are recoloured in place below

    user.find(marker="date-3d").clear().type("2021-06-01")
    await user.should_see("2021-06-01：")
    then = _drawn(user)
    expected = console.twin.query(types=["Building"], as_of=date(2021, 6, 1), limit=10_000).entities
    assert set(then) == {e.id for e in expected}
    assert len(then) < len(now)
    # Colours follow the phase of that date, not today's.
    for e in expected:
        assert then[e.id].color == layers.PHASE_COLOURS[e.phase]
    assert any(then[e.id].color != colours_now[e.id] for e in expected)


async def test_3d_colour_by_metric_and_not_available(console_user: tuple[User, Console]) -> None:
    user, console = console_user
    await user.open("/3d")
    user.find(marker="metric-3d").click()
    user.find("今日单位面积用电").click()
    await user.should_see("kWh/m²")
    await user.should_see("暂无")  # buildings without meters (not in operation) have no value
    drawn = _drawn(user)
    intensity = layers.electricity_intensity_today(console.twin)
    assert intensity, "the demo's meters have readings today"
    grey = [i for i, o in drawn.items() if o.color == layers.NO_DATA_COLOUR]
    assert grey and all(i not in intensity for i in grey)
    hottest = max(intensity, key=lambda k: intensity[k])
    assert drawn[hottest].color == layers.scale_colour(1.0, 0.0, 1.0)
    user.find(marker="metric-3d").click()
    user.find("建筑面积").click()
    areas = {i: e.value("floorArea") for i, e in console.twin.store.get_entities(list(drawn)).items()}
    largest = max(areas, key=lambda i: areas[i] or 0)
    await user.should_see(f"{areas[largest]:,.0f} m²")  # the top of the legend's scale
    drawn = _drawn(user)
    assert drawn[largest].color == layers.scale_colour(1.0, 0.0, 1.0)


async def test_3d_click_on_a_building_opens_its_page(console_user: tuple[User, Console]) -> None:
    from nicegui.events import GenericEventArguments

    user, _ = console_user
    await user.open("/3d")
    scene = user.find(ui.scene).elements.pop()
    hit = {"object_id": "x", "object_name": BUILDING, "point": {"x": 0, "y": 0, "z": 0}}
    with user:
        scene._handle_click(GenericEventArguments(sender=scene, client=scene.client, args={
            "click_type": "click", "button": 0, "alt_key": False, "ctrl_key": False, "meta_key": False,
            "shift_key": False, "hits": [{"object_id": "g", "object_name": "", "point": hit["point"]}, hit]}))
    await user.should_see("科创总部湾展示中心")
    await user.should_see("生命周期")


async def test_local_frame_is_metres_around_the_centre() -> None:
    frame = layers.LocalFrame(121.9, 30.9)
    assert frame.xy(121.9, 30.9) == (0.0, 0.0)
    x, y = frame.xy(121.91, 30.91)  # 0.01° east and north
    assert 950 < x < 960 and 1110 < y < 1113


def _map(user: User) -> TwinMap:
    found = user.find(TwinMap).elements.pop()
    assert isinstance(found, TwinMap)
    return found


async def test_map_parking_labels_are_the_latest_readings(console_user: tuple[User, Console]) -> None:
    user, console = console_user
    twin = console.twin
    await user.open("/map")
    await user.should_see("停车场空位")  # the layer's toggle
    shown = {p["id"]: p for p in _map(user).overlays["parking"]}
    latest = latest_by_entity(twin, "OffStreetParking", "availableSpotNumber")
    assert len(shown) == 7 and set(latest) == set(shown)
    for pid, free in latest.items():
        assert shown[pid]["value"] == free
        assert shown[pid]["label"].endswith(f"空闲 {free:,.0f} 个")
    # A new reading reaches the open map on the next tick.
    pid = sorted(latest)[0]
    # Newer than anything in the fixture (its simulator ran an hour ahead of the wall clock).
    twin.append([{"entity_id": pid, "attribute": "availableSpotNumber",
                  "observed_at": datetime.now(SHANGHAI) + timedelta(hours=2), "value": 4321.0}])
    await console.hub.tick()
    shown = {p["id"]: p for p in _map(user).overlays["parking"]}
    assert shown[pid]["label"].endswith("空闲 4,321 个")


async def test_map_shuttles_move_after_a_tick(console_user: tuple[User, Console]) -> None:
    user, console = console_user
    twin = console.twin
    await user.open("/map")
    before = {p["id"]: (p["lat"], p["lon"]) for p in _map(user).overlays["shuttles"]}
    assert len(before) == 5
    bus = sorted(before)[0]
    lat, lon = before[bus][0] + 0.001, before[bus][1] + 0.002
    at = datetime.now(SHANGHAI) + timedelta(hours=2)  # newer than anything the simulator wrote (it ran 1 h ahead)
    twin.append([{"entity_id": bus, "attribute": "lon", "observed_at": at, "value": lon},
                 {"entity_id": bus, "attribute": "lat", "observed_at": at, "value": lat}])
    await console.hub.tick()
    after = {p["id"]: (p["lat"], p["lon"]) for p in _map(user).overlays["shuttles"]}
    assert after[bus] == (lat, lon)
    assert all(after[i] == before[i] for i in before if i != bus)


async def test_map_stations_and_layer_toggles(console_user: tuple[User, Console]) -> None:
    user, _ = console_user
    await user.open("/map")
    leaflet = _map(user)
    stations = {p["id"]: p for p in leaflet.overlays["stations"]}
    assert "urn:ngsi-ld:HydrogenStation:lingang-h2" in stations
    assert sum(1 for p in stations.values() if p["type"] == "EVChargingStation") == 8
    assert leaflet.visible == {"parking": True, "shuttles": True, "stations": True, "meters": True}
    user.find(marker="layer-shuttles").click()
    assert leaflet.visible["shuttles"] is False and leaflet.visible["parking"] is True


async def test_map_meters_layer_counts_the_meters_of_each_place(console_user: tuple[User, Console]) -> None:
    user, console = console_user
    await user.open("/map")
    shown = {p["id"]: p for p in _map(user).overlays["meters"]}
    meters = console.twin.query(types=["Meter"], limit=10_000).entities
    expected: dict[str, int] = {}
    for m in meters:
        parent = m.target("containedIn")
        assert parent is not None
        expected[parent] = expected.get(parent, 0) + 1
    assert {pid: int(p["value"]) for pid, p in shown.items()} == expected
    assert sum(int(p["value"]) for p in shown.values()) == len(meters) > 500
    lc = shown["urn:ngsi-ld:Building:lingang-center"]
    assert lc["label"] == f"临港中心：{expected['urn:ngsi-ld:Building:lingang-center']} 块计量表"


async def test_station_without_geometry_sits_at_its_building(console_user: tuple[User, Console]) -> None:
    _, console = console_user
    twin = console.twin
    sid = "urn:ngsi-ld:EVChargingStation:console-test-no-geo"
    twin.upsert([{"id": sid, "type": "EVChargingStation", "properties": {"name": "无坐标充电站"},
                  "relationships": {"containedIn": BUILDING}}])
    marker = next(m for m in layers.station_markers(twin) if m.id == sid)
    footprint = twin.store.get_entities([BUILDING])[BUILDING].geo["location"]["coordinates"][0]
    lons = [p[0] for p in footprint]
    lats = [p[1] for p in footprint]
    assert min(lons) < marker.lon < max(lons) and min(lats) < marker.lat < max(lats)


async def test_map_geojson_carries_building_metrics(console_user: tuple[User, Console]) -> None:
    _, console = console_user
    collection = layers.map_collection(console.twin, "zh")
    by_id = {f["properties"]["id"]: f["properties"] for f in collection["features"]}
    assert by_id[BUILDING]["floorArea"] == 12000.0
    intensity = layers.electricity_intensity_today(console.twin)
    with_energy = {i for i, p in by_id.items() if "energyIntensity" in p}
    assert with_energy == set(intensity)  # absent, not zero, where there is no reading
    # Sub-meters are not counted twice: the intensity equals the main electricity meters' use over floor area.
    meters = console.twin.query(types=["Meter"], related=("containedIn", BUILDING), limit=100).entities
    main = [m.id for m in meters if m.value("carrier") == "electricity" and m.value("endUse") == "main"]
    assert len(main) == 1
    assert BUILDING in intensity
    register = next(m for m in meters if m.id == main[0]).value("register")
    table = console.twin.aggregate("reading", entity_id=main[0], bucket="day",
                                   agg="delta" if register == "cumulative" else "sum", start=start_of_today())
    used = sum(v for v in table.column("value").to_pylist() if v is not None)
    assert intensity[BUILDING] == pytest.approx(used / 12000.0)


@pytest.fixture(scope="module")
def late_evening_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo twin with a day of history up to :data:`LATE_EVENING` and the simulator an hour ahead of it, as
    the session's demo runs ahead of the wall clock."""
    path = demo_file(tmp_path_factory.mktemp("late-evening"), days=1, end=LATE_EVENING)
    twin = open_twin(path)
    try:
        LiveSimulator(twin).step(LATE_EVENING + timedelta(hours=1))
    finally:
        twin.close()
    return path


@pytest_asyncio.fixture(params=[LATE_EVENING.replace(hour=12, minute=0), LATE_EVENING], ids=["noon", "23:45"])
async def clocked_console(request: pytest.FixtureRequest,
                          late_evening_db: Path) -> AsyncIterator[tuple[User, Console]]:
    """The console over that twin, its clock pinned at noon or at 23:45 of that day."""
    twin = open_twin(late_evening_db)
    now: datetime = request.param
    twin.clock = lambda: now
    try:
        async with simulated_console(twin) as pair:
            yield pair
    finally:
        twin.close()


async def test_newest_today_counts_every_day_from_today_on(late_evening_db: Path) -> None:
    # The fingerprint the entity chart watches: at 23:45 the newest day is tomorrow (readings run ahead), and a
    # reading for 23:45 today must still change it.
    twin = open_twin(late_evening_db)
    try:
        meter = twin.query(types=["Meter"], q='register=="interval";carrier=="electricity"', limit=1).entities[0]
        days = twin.aggregate("reading", entity_id=meter.id, bucket="day", agg="last",
                              start=start_of_today(LATE_EVENING)).column("bucket").to_pylist()
        assert [d.date() for d in days] == [LATE_EVENING.date(), LATE_EVENING.date() + timedelta(days=1)]
        before = data.newest_today(twin, meter.id, "reading", LATE_EVENING)
        at = LATE_EVENING + timedelta(seconds=1)
        twin.append([{"entity_id": meter.id, "attribute": "reading", "observed_at": at, "value": 7.0}])
        after = data.newest_today(twin, meter.id, "reading", LATE_EVENING)
        assert after[0] == before[0] + 1
        twin.delete_readings(meter.id, "reading", at, at + timedelta(seconds=1))  # the module's db stays as built
        assert data.newest_today(twin, meter.id, "reading", LATE_EVENING) == before
    finally:
        twin.close()


async def test_entity_history_chart_follows_new_readings(clocked_console: tuple[User, Console]) -> None:
    user, console = clocked_console
    twin = console.twin
    meter = next(m for m in twin.query(types=["Meter"], q='register=="interval";carrier=="electricity"',
                                       limit=1000).entities)
    await user.open(f"/entity/{meter.id}")
    await user.should_see(kind=ui.echart)

    def points() -> list[list[object]] | None:
        try:
            chart = user.find(ui.echart).elements.pop()
        except AssertionError:  # mid-refresh: the old chart is gone, the new one not drawn yet
            return None
        return [list(p) for p in chart.options["series"][0]["data"]]

    before = points()
    await console.hub.tick()  # nothing new: the chart stays as it is
    assert points() == before
    at = twin.clock() + timedelta(seconds=1)
    twin.append([{"entity_id": meter.id, "attribute": "reading", "observed_at": at, "value": 1000.0}])
    await console.hub.tick()

    def stored() -> list[list[object]]:
        # The store's own hourly sums, asked afresh: the chart's window is "the last 7 days from now", so an
        # answer computed once can drift from a refresh that lands after the hour turns.
        expected = data.history(twin, meter.id, "reading", "hour", "sum", 7, twin.clock())
        return [[t.isoformat(), v] for t, v in zip(expected.times, expected.values, strict=True)]

    want = stored()

    def same(shown: list[list[object]] | None) -> bool:
        # The chart and this test each sum the hour in the store: the same readings, maybe in another order, so
        # the last bits of a float may differ (1036.186 vs 1036.1860000000001).
        return shown is not None and [t for t, _ in shown] == [t for t, _ in want] and all(
            (a is None and b is None) or (a is not None and b is not None and a == pytest.approx(b, rel=1e-12))
            for (_, a), (_, b) in zip(shown, want, strict=True))

    # The refresh runs as a task of its own: wait for it (generously: CI machines are busy).
    deadline = asyncio.get_running_loop().time() + PATIENCE_S
    while not same(points()) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
        want = stored()
    shown = points()
    differ = [(a, b) for a, b in zip(shown or [], want, strict=False) if a != b][:5]
    assert same(shown) and want != before, differ or (len(shown or []), len(want))
    # The new reading is in the hour it fell into.
    hour = at.replace(minute=0, second=0, microsecond=0).isoformat()
    assert dict((str(t), v) for t, v in want)[hour] >= 1000.0
