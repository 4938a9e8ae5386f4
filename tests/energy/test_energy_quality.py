"""Data quality and anomalies (energy/quality/, core/findings.py): on the demo the findings recover the injected
faults; hand-built meters pin down the negative, clean, rollover and hydrogen cases; alerts are idempotent."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from energy_fixtures import BUILDING, DAY, M_GAS, OTHER, meter

from lingang_twin.core.errors import NotFoundError, ValidationError
from lingang_twin.core.findings import alert_id, raise_alerts
from lingang_twin.core.twin import Twin
from lingang_twin.demo import DEMO_DISTRICT_ID, DemoReport, Fault, build_demo
from lingang_twin.energy.quality import THRESHOLDS, Finding, check_meters
from lingang_twin.stores.duckdb_store import DuckDBStore

SH = DAY.tzinfo
END = datetime(2026, 3, 5, tzinfo=SH)
START = END - timedelta(days=3)  # the window checked: the last three days
HISTORY_DAYS = 10  # the water-leak check compares night flow with the week before the window
KIND = {"leak": "water_leak"}


@dataclass
class Demo:
    twin: Twin
    report: DemoReport
    faults: list[Fault]
    findings: list[Finding]
    seconds: float


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    twin = Twin(DuckDBStore(tmp_path_factory.mktemp("quality") / "demo.duckdb"))
    report = build_demo(twin, days=HISTORY_DAYS, end=END)
    faults = [f for f in report.faults if f.end > START and f.start <= END]
    t0 = time.perf_counter()
    findings = check_meters(twin, DEMO_DISTRICT_ID, START, END)
    seconds = time.perf_counter() - t0
    yield Demo(twin, report, faults, findings, seconds)
    twin.close()


def _hit(f: Finding, g: Fault) -> bool:
    return f.entity_id == g.entity_id and f.start < g.end and g.start < f.end


def _scores(findings: list[Finding], faults: list[Fault], kind: str) -> tuple[float | None, float | None]:
    mine = [f for f in findings if f.kind == kind]
    truth = [g for g in faults if KIND.get(g.kind, g.kind) == kind]
    precision = sum(any(_hit(f, g) for g in truth) for f in mine) / len(mine) if mine else None
    recall = sum(any(_hit(f, g) for f in mine) for g in truth) / len(truth) if truth else None
    return precision, recall


def _night_hours_inside(g: Fault) -> int:
    """Nights (01:00-04:00 wholly inside both the fault and the window) a leak shows in."""
    n = 0
    day = START.replace(hour=0)
    while day < END:
        a, b = day.replace(hour=1), day.replace(hour=4)
        n += a >= max(g.start, START) and b <= min(g.end, END)
        day += timedelta(days=1)
    return n


@pytest.mark.parametrize("kind", ["gap", "stuck", "spike"])
def test_demo_faults_are_recovered(demo: Demo, kind: str) -> None:
    precision, recall = _scores(demo.findings, demo.faults, kind)
    print(f"{kind}: precision {precision}, recall {recall}, check_meters {demo.seconds:.2f} s")
    assert recall is not None and recall >= 0.8, kind
    assert precision is not None and precision >= 0.8, kind


def test_demo_water_leaks(demo: Demo) -> None:
    detectable = [g for g in demo.faults if g.kind == "leak" and _night_hours_inside(g) >= THRESHOLDS[
        "leak_min_nights"]]
    assert detectable, "the window should hold a leak with two nights in it"
    leaks = [f for f in demo.findings if f.kind == "water_leak"]
    recall = sum(any(_hit(f, g) for f in leaks) for g in detectable) / len(detectable)
    precision = sum(any(_hit(f, g) for g in demo.faults if g.kind == "leak") for f in leaks) / len(leaks)
    print(f"water_leak: precision {precision}, recall {recall} (of {len(detectable)} detectable)")
    assert recall >= 0.8 and precision >= 0.8
    assert all(f.evidence["excess_m3h"] > THRESHOLDS["leak_min_flow_m3h"] for f in leaks)


def test_demo_has_no_false_negative_steps_or_hydrogen_losses(demo: Demo) -> None:
    # Register rollovers are flagged as such by the store, not as resets; the hydrogen stock balances (the
    # midnight refill is a rise). Nothing of either kind is injected, so nothing may be reported.
    assert any(START < at <= END for _, at in demo.report.backfill.rollovers), "the window should hold a rollover"
    assert [f for f in demo.findings if f.kind in ("negative", "hydrogen_loss")] == []


def test_findings_are_data(demo: Demo) -> None:
    for f in demo.findings:
        d = f.to_dict()
        assert d["detail_zh"] and d["detail_en"] and d["severity"] in ("low", "medium", "high", "critical")
        assert f.start < f.end


def test_alerts_are_raised_once(demo: Demo) -> None:
    ids = raise_alerts(demo.twin, demo.findings)
    assert len(ids) == len(demo.findings) and len(set(ids)) == len(ids)
    page = demo.twin.query(types=("Alert",), limit=10_000)
    assert page.total == len(ids)
    alert = demo.twin.get(ids[0])
    f = demo.findings[0]
    assert alert.target("alertSource") == f.entity_id
    assert alert.value("status") == "open" and alert.value("subCategory") == f.kind
    assert alert.value("description") == f.detail_zh and alert.value("descriptionEn") == f.detail_en
    assert alert.value("validFrom") == f.start.isoformat()
    # Re-running the check and raising again creates nothing new and leaves existing alerts alone.
    again = raise_alerts(demo.twin, check_meters(demo.twin, DEMO_DISTRICT_ID, START, END))
    assert again == ids
    assert demo.twin.query(types=("Alert",), limit=10_000).total == len(ids)
    assert alert_id(f) == ids[0]


# -- hand-built meters ------------------------------------------------------------------------------------------
def _series(mid: str, values: list[float], step: timedelta, attribute: str = "reading") -> list[dict[str, Any]]:
    return [{"entity_id": mid, "attribute": attribute, "observed_at": DAY + step * (k + 1), "value": v}
            for k, v in enumerate(values)]


def test_backwards_register_without_rollover_is_negative(energy_db: tuple[Path, Twin]) -> None:
    _, twin = energy_db
    mid = "urn:ngsi-ld:Meter:lab-elec-backwards"
    twin.upsert([meter(mid, BUILDING, "electricity", "kWh", "cumulative", registerMax=1e6)])
    values = [1000.0 + 10 * k + (k % 3) for k in range(24)]
    values[12] = values[11] - 50.0  # goes back; far from registerMax, so not a rollover
    values[13:] = [values[12] + 10 * (k + 1) + (k % 3) for k in range(11)]
    twin.append(_series(mid, values, timedelta(hours=1)))
    findings = check_meters(twin, mid, DAY, DAY + timedelta(days=1))
    negative = [f for f in findings if f.kind == "negative"]
    assert len(negative) == 1
    assert negative[0].entity_id == mid
    assert negative[0].start == DAY + timedelta(hours=13)  # the reading that went back


def test_rollover_is_not_negative(energy_db: tuple[Path, Twin]) -> None:
    _, twin = energy_db
    # The fixture's gas register rolls over at 1,000 m³; hourly readings are its usual rhythm, not gaps.
    assert check_meters(twin, M_GAS, DAY, DAY + timedelta(days=1)) == []


def test_clean_meter_gives_no_finding(energy_db: tuple[Path, Twin]) -> None:
    _, twin = energy_db
    mid = "urn:ngsi-ld:Meter:lab-elec-clean"
    twin.upsert([meter(mid, BUILDING, "electricity", "kWh")])
    values = [round(20 + 8 * math.sin(2 * math.pi * k / 96) + (k * 7919 % 13) / 10, 3) for k in range(96 * 2)]
    twin.append(_series(mid, values, timedelta(minutes=15)))
    assert check_meters(twin, mid, DAY, DAY + timedelta(days=2)) == []


def test_interval_faults_on_a_hand_built_meter(energy_db: tuple[Path, Twin]) -> None:
    _, twin = energy_db
    mid = "urn:ngsi-ld:Meter:lab-elec-faulty"
    twin.upsert([meter(mid, BUILDING, "electricity", "kWh")])
    values = [round(20 + 8 * math.sin(2 * math.pi * k / 96) + (k * 7919 % 13) / 10, 3) for k in range(96)]
    values[40:54] = [values[40]] * 14  # stuck 3.5 h
    values[70] = 400.0  # spike
    values[80] = -3.0  # negative: refused at the door, nothing of the batch stored
    rows = _series(mid, values, timedelta(minutes=15))
    del rows[20:32]  # a 3-hour gap
    with pytest.raises(ValidationError) as err:
        twin.append(rows)
    assert (err.value.field, err.value.rule, err.value.index) == ("value", "negative-reading", 80 - 12)
    assert twin.read(mid, "reading").num_rows == 0
    twin.append([r for r in rows if r["value"] >= 0])
    kinds = sorted({f.kind for f in check_meters(twin, mid, DAY, DAY + timedelta(days=1))})
    assert kinds == ["gap", "spike", "stuck"]
    # Thresholds are overridable: a lenient spike limit hides the spike.
    lenient = check_meters(twin, mid, DAY, DAY + timedelta(days=1), thresholds={"spike_min_ratio": 100})
    assert "spike" not in {f.kind for f in lenient}


def test_hydrogen_loss(energy_db: tuple[Path, Twin]) -> None:
    _, twin = energy_db
    sid = "urn:ngsi-ld:HydrogenStation:lab"
    twin.upsert([{"id": sid, "type": "HydrogenStation", "properties": {"storageCapacity": 1000.0},
                  "relationships": {"containedIn": OTHER}}])
    dispensed = [5.0 if k % 4 == 0 else 0.0 for k in range(24)]
    stock, level = 1000.0, []
    for k, d in enumerate(dispensed):
        stock -= d + (30.0 if k == 10 else 0.0)  # 30 kg vanish at the eleventh hour
        level.append(stock)
    twin.append(_series(sid, dispensed, timedelta(hours=1), "dispensed")
                + _series(sid, level, timedelta(hours=1), "storageLevel"))
    losses = [f for f in check_meters(twin, OTHER, DAY, DAY + timedelta(days=1)) if f.kind == "hydrogen_loss"]
    assert len(losses) == 1 and losses[0].entity_id == sid
    assert losses[0].evidence["lost_kg"] == pytest.approx(30.0)


def test_bad_input(energy_db: tuple[Path, Twin]) -> None:
    _, twin = energy_db
    with pytest.raises(NotFoundError):
        check_meters(twin, "urn:ngsi-ld:Building:nowhere", DAY, DAY + timedelta(days=1))
    with pytest.raises(ValidationError) as err:
        check_meters(twin, BUILDING, DAY, DAY - timedelta(hours=1))
    assert err.value.field == "end"
    with pytest.raises(ValidationError) as err:
        check_meters(twin, BUILDING, DAY.replace(tzinfo=None), DAY + timedelta(days=1))
    assert err.value.field == "start"
    with pytest.raises(ValidationError) as err:
        check_meters(twin, BUILDING, DAY, DAY + timedelta(days=1), thresholds={"spike_q": 3})
    assert err.value.field == "thresholds.spike_q"


def test_night_baseload_creep(energy_db: tuple[Path, Twin]) -> None:
    _, twin = energy_db
    mid = "urn:ngsi-ld:Meter:lab-elec-creeping"
    twin.upsert([{"id": mid, "type": "Meter", "properties": {"carrier": "electricity", "unit": "kWh"},
                  "relationships": {"containedIn": BUILDING}}])  # no ``register``: an interval meter all the same
    values = []
    for k in range(96 * 6):
        day, slot = divmod(k, 96)
        base = 5.0 * 1.15 ** day  # the night minimum rises 15 % a night
        values.append(round(base + (30.0 if 32 <= slot < 76 else 0.0) + (k * 7919 % 13) / 20, 3))
    twin.append(_series(mid, values, timedelta(minutes=15)))
    findings = check_meters(twin, mid, DAY, DAY + timedelta(days=6))
    assert [f.kind for f in findings] == ["night_baseload_creep"]
    assert findings[0].evidence["rise"] > THRESHOLDS["creep_min_rise"]
    # Three nights are not a trend (creep_min_nights): the same data over half the period finds nothing.
    assert check_meters(twin, mid, DAY, DAY + timedelta(days=3)) == []


def test_silence_before_a_meters_history_is_not_a_gap(energy_db: tuple[Path, Twin]) -> None:
    """Two meters read every 15 min from 12:00 on DAY; one of them also read the evening before. Checked from
    DAY 00:00: only the one that was reporting before has a gap at the window's start."""
    _, twin = energy_db
    new, old = "urn:ngsi-ld:Meter:lab-new", "urn:ngsi-ld:Meter:lab-old"
    twin.upsert([meter(new, BUILDING, "electricity", "kWh"), meter(old, BUILDING, "electricity", "kWh")])
    rows = [{"entity_id": m, "attribute": "reading", "observed_at": DAY + timedelta(hours=12, minutes=15 * k),
             "value": 5.0 + k % 3} for m in (new, old) for k in range(1, 48)]
    rows += [{"entity_id": old, "attribute": "reading", "observed_at": DAY - timedelta(hours=6, minutes=15 * k),
              "value": 5.0} for k in range(8)]
    twin.append(rows)
    found = check_meters(twin, BUILDING, DAY, DAY + timedelta(hours=24))
    gaps = {f.entity_id: f for f in found if f.kind == "gap" and f.entity_id in (new, old)}
    assert set(gaps) == {old}
    # The readings stamped 00:15 … 12:00 are missing (a reading closes the quarter-hour before its stamp).
    assert gaps[old].start == DAY + timedelta(minutes=15) and gaps[old].end == DAY + timedelta(hours=12, minutes=15)
    # With no look-back at all, the older meter's silence is not anchored either.
    found = check_meters(twin, BUILDING, DAY, DAY + timedelta(hours=24), thresholds={"gap_lookback_days": 0.0})
    assert not [f for f in found if f.kind == "gap" and f.entity_id in (new, old)]


OLD_LEAK_RULE = {"leak_baseline_days": 7, "leak_min_excess": 0.3, "leak_spread_k": 0.0, "leak_hours": 1}


def test_water_leak_must_flow_every_hour_of_the_night(energy_db: tuple[Path, Twin]) -> None:
    """Two water meters, 14 nights of history and a 3-day window. Their nights (01:00–04:00) run at 1.0 m³/h with a
    quiet hour at 03:00–04:00 (0.4 m³/h). In the window one of them loses its quiet hour (the night cleaning moved
    to 03:00: the night *minimum* rises by 0.6 m³/h, no hour rises above its own usual), the other leaks 0.5 m³/h
    all day and night. Only the second is a leak; the previous rule (night minimum only) called both."""
    _, twin = energy_db
    moved, leaking = "urn:ngsi-ld:Meter:lab-water-moved", "urn:ngsi-ld:Meter:lab-water-leaking"
    twin.upsert([meter(moved, BUILDING, "water", "m3"), meter(leaking, BUILDING, "water", "m3")])
    first = DAY + timedelta(days=1)  # 2026-03-03: clear of the Spring Festival break
    window = first + timedelta(days=14)  # after the 14 baseline nights
    rows = []
    for k in range(96 * 17):
        at = first + timedelta(minutes=15) * (k + 1)
        slot = k % 96
        jitter = 0.01 * ((k * 7919) % 5)  # m³ per quarter-hour
        rate = 1.0 if 4 <= slot < 12 else 0.4 if 12 <= slot < 16 else 3.0  # m³/h
        in_window = at > window
        rows.append({"entity_id": moved, "attribute": "reading", "observed_at": at,
                     "value": round(((1.0 if in_window and 12 <= slot < 16 else rate) / 4) + jitter, 3)})
        rows.append({"entity_id": leaking, "attribute": "reading", "observed_at": at,
                     "value": round((rate + (0.5 if in_window else 0.0)) / 4 + jitter, 3)})
    twin.append(rows)
    end = window + timedelta(days=3)
    for mid, expected in ((moved, 0), (leaking, 1)):
        leaks = [f for f in check_meters(twin, mid, window, end) if f.kind == "water_leak"]
        assert len(leaks) == expected, mid
        old = [f for f in check_meters(twin, mid, window, end, thresholds=OLD_LEAK_RULE) if f.kind == "water_leak"]
        assert len(old) == 1, mid  # the night minimum alone cannot tell them apart
    assert leaks[0].evidence["excess_m3h"] == pytest.approx(0.5, abs=0.05)


def test_a_registered_detector_runs_without_touching_check_meters(energy_db: tuple[Path, Twin]) -> None:
    """The detectors are a registry: the built-in ones in their order, a name taken once; a detector registered
    from outside is run by check_meters on each register grid, and sees the meters of the scope."""
    from lingang_twin.energy.quality import DETECTORS, detector

    _, twin = energy_db
    assert list(DETECTORS) == ["gap", "stuck", "negative", "spike", "water_leak", "night_baseload_creep",
                               "hydrogen_loss"]
    with pytest.raises(ValueError, match="registered already"):
        detector("gap", kinds=("gap",))(lambda ctx: [])
    seen: list[tuple[bool, tuple[str, ...]]] = []
    start, end = DAY, DAY + timedelta(days=1)

    @detector("every_meter_once", kinds=("test",))
    def every_meter_once(ctx: Any) -> list[Finding]:
        seen.append((ctx.cumulative, tuple(ctx.grid.ids)))
        return [Finding("test", i, start, end, "low", "测试", "test") for i in ctx.grid.ids]

    try:
        found = check_meters(twin, BUILDING, start, end)
    finally:
        DETECTORS.pop("every_meter_once")
    meters = {m.id for m in twin.query_all(types=("Meter",), under=BUILDING)}
    assert {f.entity_id for f in found if f.kind == "test"} == meters
    assert seen and all(ids for _, ids in seen)
    assert "every_meter_once" not in DETECTORS
