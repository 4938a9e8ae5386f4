"""The telemetry simulator: readings that look real, faults that show, registers that behave, idempotent backfill."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest
from demo_fixtures import CST, MAKE_UP_SUNDAY, SATURDAY, WINDOW_END, WINDOW_START, DemoTwin

from lingang_twin.core.q import parse_q
from lingang_twin.core.store import SeriesQuery
from lingang_twin.demo import DEMO_DISTRICT_ID, build_demo, plan_layout
from lingang_twin.demo.calendar import HOLIDAY, WEEKEND, WORKING, day_type, is_make_up_working_day
from lingang_twin.demo.climate import SHANGHAI_MONTHLY_TEMPERATURE_C
from lingang_twin.demo.simulator import ATTRIBUTES, DemoSimulator, backfill, simulator_for

PLAN = plan_layout(2022)
USE = {b.id: b.use for b in PLAN.buildings}


def office_elec_mains() -> list[str]:
    return [m.id for m in PLAN.meters if m.carrier == "electricity" and m.end_use == "main"
            and m.register == "interval" and USE.get(m.building_id) == "office"
            and m.operation_since < WINDOW_START.date()]


def readings(demo: DemoTwin, attribute: str, q: str | None = None, types: tuple[str, ...] = ("Meter",),
             start: datetime = WINDOW_START, end: datetime = WINDOW_END) -> pa.Table:
    """Raw readings of ``attribute`` for every entity of ``types`` matching ``q`` in [start, end]."""
    return demo.twin.series(SeriesQuery(attribute=attribute, types=types, q=parse_q(q) if q else None,
                                        start=start, end=end + timedelta(microseconds=1)))


def by_entity(table: pa.Table) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """entity id → (UTC epoch µs, values), in time order."""
    ids = np.asarray(table["entity_id"].to_pylist(), dtype=object)
    ts = table["observed_at"].cast(pa.int64()).to_numpy()
    vals = table["value"].to_numpy()
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for eid in np.unique(ids):
        sel = ids == eid
        order = np.argsort(ts[sel])
        out[str(eid)] = (ts[sel][order], vals[sel][order])
    return out


def test_the_window_has_a_weekend_day_and_a_make_up_working_day() -> None:
    assert day_type(SATURDAY.date()) == WEEKEND
    assert day_type(MAKE_UP_SUNDAY.date()) == WORKING and is_make_up_working_day(MAKE_UP_SUNDAY.date())
    assert day_type(date(2026, 10, 1)) == HOLIDAY and day_type(date(2024, 9, 14)) == WORKING


def test_every_live_meter_and_every_series_has_readings(demo: DemoTwin) -> None:
    counts = demo.twin.aggregate("reading", types=["Meter"], bucket="day", agg="count", group_by="entity",
                                 start=WINDOW_START, end=WINDOW_END + timedelta(seconds=1))
    with_readings = set(counts["group"].to_pylist())
    live = {m.id for m in PLAN.meters if m.operation_since <= WINDOW_START.date()}
    assert live and with_readings == live
    expected = {"OffStreetParking": ("occupancy", "availableSpotNumber"), "ParkingSpot": ("occupied",),
                "Vehicle": ("speed", "lon", "lat", "passengers", "batteryLevel"),
                "EVChargingStation": ("power", "energy", "availableCapacity"),
                "HydrogenStation": ("dispensed", "storageLevel"), "WeatherStation": ("temperature", "relativeHumidity")}
    for etype, attrs in expected.items():
        for attr in attrs:
            assert readings(demo, attr, types=(etype,)).num_rows > 0, (etype, attr)
    assert demo.report.backfill.received == demo.report.backfill.inserted > 250_000


def test_office_electricity_has_a_daily_shape(demo: DemoTwin) -> None:
    meters = set(office_elec_mains())
    data = by_entity(readings(demo, "reading", 'endUse=="main";carrier=="electricity"'))
    at = {h: int(MAKE_UP_SUNDAY.replace(hour=h).timestamp() * 1e6) for h in (3, 14)}
    total = {h: sum(float(v[t == us][0]) for eid, (t, v) in data.items() if eid in meters and (t == us).any())
             for h, us in at.items()}
    assert total[14] > 2.0 * total[3]


def test_offices_use_less_on_weekends_and_holidays() -> None:
    sim = simulator_for(2022)
    rows = [i for i, m in enumerate(sim.energy.meters) if m.id in set(office_elec_mains())]
    daily = {d: float(sim.energy.day(d).values[rows].sum()) for d in
             (date(2026, 9, 18), date(2026, 9, 19), date(2026, 9, 20), date(2026, 10, 1), date(2026, 9, 29))}
    assert daily[date(2026, 9, 19)] < 0.6 * daily[date(2026, 9, 18)]  # Saturday < Friday
    assert daily[date(2026, 9, 20)] > 1.5 * daily[date(2026, 9, 19)]  # make-up working Sunday > Saturday
    assert daily[date(2026, 10, 1)] < 0.6 * daily[date(2026, 9, 29)]  # National Day < a Tuesday


def test_weather_is_plausible_for_shanghai_in_september(demo: DemoTwin) -> None:
    temps = readings(demo, "temperature", types=("WeatherStation",))["value"].to_numpy()
    assert len(temps) == 192
    assert temps.min() > 15.0 and temps.max() < 37.0
    assert abs(temps.mean() - SHANGHAI_MONTHLY_TEMPERATURE_C[8]) < 6.0
    assert temps.max() - temps.min() > 3.0  # a diurnal cycle
    rh = readings(demo, "relativeHumidity", types=("WeatherStation",))["value"].to_numpy()
    assert rh.min() >= 30.0 and rh.max() <= 100.0
    january = DemoSimulator(2022).day(date(2026, 1, 15))
    jan = january.value[january.attribute == ATTRIBUTES.index("temperature")]
    assert jan.min() > -6.0 and jan.max() < 16.0 and jan.mean() < temps.mean() - 10


def test_cumulative_registers_never_decrease_except_at_flagged_rollovers(demo: DemoTwin) -> None:
    data = by_entity(readings(demo, "reading", 'register=="cumulative"'))
    rmax = {m.id: m.register_max for m in PLAN.meters}
    flagged: dict[str, list[int]] = defaultdict(list)
    for eid, at in demo.report.backfill.rollovers:
        flagged[eid].append(int(at.timestamp() * 1e6))
    assert flagged, "the window should hold at least one rollover (the computing centre's 5-digit register)"
    drops = 0
    for eid, (ts, vals) in data.items():
        for i in np.flatnonzero(np.diff(vals) < 0):
            drops += 1
            assert vals[i] - vals[i + 1] > rmax[eid] / 2, f"{eid} fell at {ts[i + 1]} without rolling over"
            assert any(ts[i] < f <= ts[i + 1] for f in flagged[eid]), f"unflagged drop of {eid}"
    assert drops == sum(len(v) for v in flagged.values())
    dc = "urn:ngsi-ld:Meter:stc-ai-computing-centre-elec-main"
    delta = demo.twin.aggregate("reading", entity_id=dc, bucket="day", agg="delta", start=WINDOW_START,
                                end=WINDOW_END + timedelta(seconds=1))
    assert sum(delta["rollovers"].to_pylist()) == len(flagged[dc]) >= 1
    days = delta["value"].to_pylist()[:2]  # Saturday and Sunday; the third bucket holds only the 24:00 reading
    assert len(days) == 2 and min(days) > 50_000  # a data centre's day [kWh], unbroken by the rollovers


def test_injected_faults_are_visible_in_the_data(demo: DemoTwin) -> None:
    faults = demo.report.backfill.faults
    kinds = {f.kind for f in faults}
    assert {"stuck", "gap", "spike"} <= kinds
    others = {(f.entity_id, f.kind) for f in faults}
    for f in faults:
        t = demo.twin.read(f.entity_id, "reading", start=f.start, end=f.end)
        if f.kind == "gap":
            assert t.num_rows == 0, f
            before = demo.twin.read(f.entity_id, "reading", start=f.start - timedelta(hours=2), end=f.start)
            assert before.num_rows > 0 or f.start <= WINDOW_START + timedelta(hours=2)
        elif f.kind == "stuck" and (f.entity_id, "gap") not in others:
            vals = t["value"].to_numpy()
            assert len(vals) >= 12 and np.all(vals == vals[0]), f
        elif f.kind == "spike":
            day = demo.twin.read(f.entity_id, "reading", start=f.start - timedelta(hours=12),
                                 end=f.start + timedelta(hours=12))["value"].to_numpy()
            assert t["value"].to_numpy()[0] > 4 * np.median(day), f


def test_a_leak_shows_as_night_flow() -> None:
    sim = simulator_for(2022)
    start = datetime(2026, 3, 1, tzinfo=CST)
    leaks = [f for f in sim.faults_between(start, start + timedelta(days=90)) if f.kind == "leak"]
    assert leaks, "about one leak starts every eight days"
    leak = leaks[0]
    row = sim.entity_ids.index(leak.entity_id)

    def night_flow(d: date) -> float:
        r = sim.day(d)
        sel = (r.entity == row) & (r.attribute == ATTRIBUTES.index("reading"))
        ts, vals = r.ts_us[sel], r.value[sel]
        hours = ((ts // 1_000_000 + 8 * 3600) % 86_400) / 3600
        return float(vals[(hours > 2) & (hours <= 4)].mean())

    during = leak.start.date() + timedelta(days=1)
    assert night_flow(during) > night_flow(during - timedelta(days=7)) + 0.05  # ≥ 0.25 m³/h → ≥ 0.06 m³ / 15 min


def test_values_are_a_pure_function_of_seed_entity_and_instant() -> None:
    a = DemoSimulator(2022).day(date(2026, 9, 20))
    b = simulator_for(2022).day(date(2026, 9, 20))
    assert np.array_equal(a.value, b.value) and np.array_equal(a.ts_us, b.ts_us)
    c = DemoSimulator(2023).day(date(2026, 9, 20))
    assert not np.array_equal(a.value[:1000], c.value[:1000])


def test_second_backfill_of_the_same_days_inserts_nothing(demo: DemoTwin) -> None:
    again = backfill(demo.twin, 2, end=WINDOW_END)
    first = demo.report.backfill
    assert again.inserted == 0
    assert again.duplicates == again.received == first.received
    assert {(f.kind, f.entity_id, f.start) for f in again.faults} == {(f.kind, f.entity_id, f.start)
                                                                       for f in first.faults}


def test_build_demo_twice_writes_nothing_new(demo: DemoTwin) -> None:
    report = build_demo(demo.twin, days=2, end=WINDOW_END)
    assert report.entities_written == 0
    assert report.backfill.inserted == 0
    assert report.backfill.received < 2_000  # only the last minutes are looked at again, not two days
    assert len(report.faults) == len(demo.report.faults)


def test_parking_occupancy_agrees_with_its_spots_and_shuttles_stay_on_the_map(demo: DemoTwin) -> None:
    park = "urn:ngsi-ld:OffStreetParking:chuangjing"
    at = MAKE_UP_SUNDAY.replace(hour=10)
    occ = demo.twin.read(park, "occupancy", start=at, end=at + timedelta(minutes=1))["value"][0].as_py()
    spots = readings(demo, "occupied", 'category=="normal"|category=="ev"|category=="accessible"',
                     types=("ParkingSpot",), start=at, end=at)
    spot_ids = [s for p in PLAN.parking if p.id == park for s in p.spot_ids]
    mine = [v for e, v in zip(spots["entity_id"].to_pylist(), spots["value"].to_pylist(), strict=True)
            if e in set(spot_ids)]
    assert len(mine) == len(spot_ids)
    assert occ == pytest.approx(100 * sum(mine) / len(mine), abs=0.05)
    assert occ > 50  # a working morning at an office car park
    lon = readings(demo, "lon", types=("Vehicle",))["value"].to_numpy()
    lat = readings(demo, "lat", types=("Vehicle",))["value"].to_numpy()
    district = demo.twin.get(DEMO_DISTRICT_ID).location
    assert district is not None
    xs = [p[0] for p in district["coordinates"][0]]
    ys = [p[1] for p in district["coordinates"][0]]
    assert min(xs) <= lon.min() and lon.max() <= max(xs) and min(ys) <= lat.min() and lat.max() <= max(ys)
    speed = readings(demo, "speed", types=("Vehicle",))["value"].to_numpy()
    pax = readings(demo, "passengers", types=("Vehicle",))["value"].to_numpy()
    battery = readings(demo, "batteryLevel", types=("Vehicle",))["value"].to_numpy()
    assert speed.min() >= 0 and speed.max() <= 30 and speed.max() > 10
    assert pax.min() >= 0 and pax.max() <= 12 and battery.min() > 0 and battery.max() <= 100
