"""Gap filling as marked estimates (energy/gapfill.py) against a real DuckDB twin: known gaps in interval and
cumulative meters are filled and flagged, cumulative totals are conserved, measured buckets stay as they are,
the profile follows a periodic series, and nothing is written to the store."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from energy_fixtures import BUILDING, DAY, M_ELEC, meter

from lingang_twin.core.errors import NotFoundError, ValidationError
from lingang_twin.core.twin import Twin
from lingang_twin.energy.consumption import consumption_grid
from lingang_twin.energy.gapfill import MAX_WINDOW, METHODS, fill_gaps

Q = timedelta(minutes=15)
HISTORY = timedelta(days=21)  # three weeks of clean history before the window
T0 = DAY - HISTORY
START, END = DAY, DAY + timedelta(days=2)
M_INT = "urn:ngsi-ld:Meter:lab-elec-gappy"
M_CUM = "urn:ngsi-ld:Meter:lab-elec-gappy-register"
M_HOURLY = "urn:ngsi-ld:Meter:lab-elec-hourly"
SHORT = (DAY + timedelta(hours=10), DAY + timedelta(hours=11))  # 4 quarter-hours: interpolated
LONG = (DAY + timedelta(days=1, hours=8), DAY + timedelta(days=1, hours=14))  # 6 h over the midday peak: profile


def truth(t: datetime) -> float:
    """Consumption of the quarter-hour closing at ``t`` [kWh]: a daily wave, lower at weekends, a little noise."""
    k = int((t - T0) / Q)
    weekend = (t - Q).weekday() >= 5
    return round(10 + 6 * math.sin(2 * math.pi * ((k % 96) - 30) / 96) - (3 if weekend else 0)
                 + (k * 7919 % 13) / 50, 4)


def stamps() -> list[datetime]:
    n = int((END - T0) / Q)
    return [T0 + Q * (k + 1) for k in range(n)]


def missing(t: datetime) -> bool:
    # A reading stamped t closes (t - 15 min, t]: the gap [a, b) of buckets loses the stamps in (a, b].
    return any(a < t <= b for a, b in (SHORT, LONG))


@pytest.fixture
def twin(energy_db: tuple[Path, Twin]) -> Twin:
    _, twin = energy_db
    twin.upsert([meter(M_INT, BUILDING, "electricity", "kWh"),
                 meter(M_CUM, BUILDING, "electricity", "kWh", "cumulative", registerMax=1e9),
                 meter(M_HOURLY, BUILDING, "electricity", "kWh")])
    rows: list[dict[str, Any]] = []
    register = 50_000.0
    for t in stamps():
        register += truth(t)
        if missing(t):
            continue
        rows.append({"entity_id": M_INT, "attribute": "reading", "observed_at": t, "value": truth(t)})
        rows.append({"entity_id": M_CUM, "attribute": "reading", "observed_at": t, "value": round(register, 4)})
        if t.minute == 0:
            rows.append({"entity_id": M_HOURLY, "attribute": "reading", "observed_at": t, "value": 40.0})
    twin.append(rows)
    return twin


def _truth_grid() -> np.ndarray:
    return np.array([truth(t) for t in stamps() if t > START])


def _in(table_bucket: list[datetime], span: tuple[datetime, datetime]) -> np.ndarray:
    return np.array([span[0] <= b < span[1] for b in table_bucket])


def test_interval_gaps_are_filled_and_marked(twin: Twin) -> None:
    out = fill_gaps(twin, M_INT, START, END, bucket="15min")
    buckets = out.table["bucket"].to_pylist()
    assert len(buckets) == 192 and buckets[0] == START and str(buckets[0].tzinfo) == "Asia/Shanghai"
    values, est, methods = out.values(), out.estimated(), out.table["method"].to_pylist()
    short, long = _in(buckets, SHORT), _in(buckets, LONG)
    assert short.sum() == 4 and long.sum() == 24
    assert est[short].all() and {methods[i] for i in np.flatnonzero(short)} == {"interpolated"}
    assert est[long].all() and {methods[i] for i in np.flatnonzero(long)} == {"profile"}
    assert out.by_method == {"interpolated": 4, "profile": 24} and out.n_estimated == 28 and out.unfilled == 0
    assert out.share_estimated == pytest.approx(28 / 192)
    # Interpolation is a straight line between the neighbouring measured buckets.
    i = np.flatnonzero(short)
    left, right = values[i[0] - 1], values[i[-1] + 1]
    assert values[i] == pytest.approx(left + (right - left) * np.arange(1, 5) / 5)
    # The profile (same time of week, three weeks back, scaled) follows the periodic truth over a 6-hour gap.
    real = _truth_grid()
    assert np.max(np.abs(values[long] - real[long])) < 0.6
    assert abs(values[long].sum() - real[long].sum()) / real[long].sum() < 0.02
    assert "profile" in out.description and "interpolated" in out.description


def test_measured_buckets_are_untouched_and_unmarked(twin: Twin) -> None:
    out = fill_gaps(twin, M_INT, START, END, bucket="15min")
    raw = consumption_grid(twin, [twin.get(M_INT)], START, END, "15min").values[0]
    measured = ~np.isnan(raw)
    assert measured.sum() == 192 - 28
    assert np.array_equal(out.values()[measured], raw[measured])
    assert not out.estimated()[measured].any()
    assert all(m is None for m, ok in zip(out.table["method"].to_pylist(), measured, strict=True) if ok)


def test_cumulative_gap_total_is_conserved(twin: Twin) -> None:
    out = fill_gaps(twin, M_CUM, START, END, bucket="15min")
    raw = consumption_grid(twin, [twin.get(M_CUM)], START, END, "15min").values[0]
    values, est = out.values(), out.estimated()
    buckets = out.table["bucket"].to_pylist()
    # The store puts each gap's consumption into the bucket of the first reading after it ("catch-up")...
    for span in (SHORT, LONG):
        gap = _in(buckets, span)
        catch_up = int(np.flatnonzero(gap)[-1]) + 1
        assert np.isnan(raw[gap]).all() and raw[catch_up] > 3 * np.nanmedian(raw)
        # ... and the fill spreads that measured total over the gap and the catch-up bucket, conserving it.
        spread = np.r_[np.flatnonzero(gap), catch_up]
        assert values[spread].sum() == pytest.approx(raw[catch_up], rel=1e-12)
        assert est[spread].all()
        assert set(out.table["method"].take(list(spread)).to_pylist()) == {"redistributed"}
    assert out.by_method == {"redistributed": 4 + 1 + 24 + 1}
    assert values.sum() == pytest.approx(np.nansum(raw), rel=1e-12)  # the window's total is the register's
    assert values.sum() == pytest.approx(_truth_grid().sum(), rel=1e-6)
    # The long gap is shaped by the profile, not spread flat: it follows the midday wave.
    long = _in(buckets, LONG)
    assert np.max(np.abs(values[long] - _truth_grid()[long])) < 0.6
    assert np.ptp(values[long]) > 1.0


def test_short_cumulative_gap_is_spread_evenly(twin: Twin) -> None:
    out = fill_gaps(twin, M_CUM, START, DAY + timedelta(days=1), bucket="15min")
    buckets = out.table["bucket"].to_pylist()
    gap = np.flatnonzero(_in(buckets, SHORT))
    spread = out.values()[np.r_[gap, gap[-1] + 1]]
    assert np.ptp(spread) == pytest.approx(0.0, abs=1e-9)  # a straight line between two register readings


def test_coarser_buckets_roll_up_the_fill(twin: Twin) -> None:
    fine = fill_gaps(twin, M_INT, START, END, bucket="15min")
    hourly = fill_gaps(twin, M_INT, START, END, bucket="hour")
    daily = fill_gaps(twin, M_INT, START, END, bucket="day")
    assert hourly.n_buckets == 48 and daily.n_buckets == 2
    assert hourly.values() == pytest.approx(fine.values().reshape(48, 4).sum(axis=1))
    assert hourly.by_method == {"interpolated": 1, "profile": 6}
    assert daily.table["method"].to_pylist() == ["interpolated", "profile"]  # the most invented method wins
    assert daily.values().sum() == pytest.approx(fine.values().sum())


def test_nothing_is_invented_outside_the_readings(twin: Twin) -> None:
    mid = "urn:ngsi-ld:Meter:lab-elec-late"
    twin.upsert([meter(mid, BUILDING, "electricity", "kWh")])
    first = DAY + timedelta(hours=6)  # installed during the window, silent after 30 h
    twin.append([{"entity_id": mid, "attribute": "reading", "observed_at": first + Q * k, "value": 5.0}
                 for k in range(1, 24 * 4 + 1)])
    out = fill_gaps(twin, mid, START, END, bucket="hour")
    values = out.values()
    assert np.isnan(values[:6]).all() and np.isnan(values[30:]).all()
    assert not out.estimated().any() and out.by_method == {} and out.unfilled == 6 + 18
    assert any("first" in n for n in out.notes)


def test_estimates_are_never_stored(twin: Twin) -> None:
    before = twin.read(M_INT, "reading")
    out = fill_gaps(twin, M_INT, START, END, bucket="15min")
    assert out.n_estimated > 0
    after = twin.read(M_INT, "reading")
    assert after.equals(before)
    stamped = set(after["observed_at"].to_pylist())
    gap_stamps = [b + Q for b, e in zip(out.table["bucket"].to_pylist(), out.estimated(), strict=True) if e]
    assert not any(t in stamped for t in gap_stamps)
    assert "not stored" in out.description and set(out.by_method) <= set(METHODS)


def test_no_gap_means_no_estimate(twin: Twin) -> None:
    out = fill_gaps(twin, M_INT, START, DAY + timedelta(hours=8), bucket="15min")
    assert out.n_estimated == 0 and out.unfilled == 0
    assert out.values() == pytest.approx(_truth_grid()[:32])


def test_bad_input(twin: Twin) -> None:
    day = timedelta(days=1)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"meter_id": BUILDING}, "meter", "type"),
        ({"meter_id": 42}, "meter", "type"),
        ({"start": START.replace(tzinfo=None)}, "start", "timezone-required"),
        ({"end": END.replace(tzinfo=None)}, "end", "timezone-required"),
        ({"end": START}, "end", "range-order"),
        ({"end": START - day}, "end", "range-order"),
        ({"bucket": "week"}, "bucket", "one-of"),
        ({"end": START + MAX_WINDOW + day}, "end", "too-long"),
        ({"max_interpolate": 3}, "max_interpolate", "type"),
        ({"profile_weeks": 0}, "profile_weeks", "range"),
        ({"meter_id": M_HOURLY, "bucket": "15min"}, "bucket", "finer-than-meter"),
    ]
    for change, field, rule in cases:
        kwargs: dict[str, Any] = {"meter_id": M_INT, "start": START, "end": END, "bucket": "15min", **change}
        with pytest.raises(ValidationError) as err:
            fill_gaps(twin, kwargs.pop("meter_id"), kwargs.pop("start"), kwargs.pop("end"), **kwargs)
        assert (err.value.field, err.value.rule) == (field, rule), change
        assert " / " in err.value.message and any("\u4e00" <= c <= "\u9fff" for c in err.value.message), change
    with pytest.raises(NotFoundError):
        fill_gaps(twin, "urn:ngsi-ld:Meter:nowhere", START, END)
    # The hourly meter at hourly buckets is fine, and the fixture's cumulative main meter has no gap on its day.
    # The hourly meter (read on the hour, 40 kWh) is gathered onto its own grid: measured hours are 40 and exactly
    # the hours whose reading is missing are estimated.
    hourly = fill_gaps(twin, M_HOURLY, START, END, bucket="hour")
    gaps = {t - timedelta(hours=1) for t in stamps() if t.minute == 0 and missing(t) and START < t <= END}
    rows = hourly.table.to_pylist()
    assert {r["bucket"] for r in rows if r["estimated"]} == gaps and gaps
    assert all(r["value"] == 40.0 for r in rows if not r["estimated"])
    assert fill_gaps(twin, M_ELEC, DAY, DAY + day, bucket="hour").n_estimated == 0
