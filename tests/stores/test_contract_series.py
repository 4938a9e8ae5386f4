"""Store contract: time series — append, idempotency, late data, units, buckets in Asia/Shanghai, aggregates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pytest

from lingang_fixtures import DISTRICT, HQ_TOWER, LINGANG_CENTER, M_ELEC, M_ELEC_SUB, M_H2, M_WATER, ZONE_TSC
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.observations import ObservationBatch
from lingang_twin.core.twin import SHANGHAI, Twin

CST = timezone(timedelta(hours=8))


def readings(entity: str, start: datetime, values: list[float], step_min: int = 15,
             attribute: str = "reading", unit: str | None = None) -> list[dict]:
    out = []
    for i, v in enumerate(values):
        r = {"entity_id": entity, "attribute": attribute, "observed_at": start + timedelta(minutes=step_min * i),
             "value": v}
        if unit is not None:
            r["unit"] = unit
        out.append(r)
    return out


def count_obs(twin: Twin) -> int:
    return sum(twin.read(m, "reading").num_rows for m in (M_ELEC, M_ELEC_SUB, M_WATER, M_H2)
               if "reading" in twin.store.series_of(m))


def test_append_and_read_back_in_utc(lingang: Twin) -> None:
    start = datetime(2024, 1, 1, tzinfo=CST)
    result = lingang.append(readings(M_WATER, start, [1.0, 2.0, 3.5]))
    assert (result.received, result.inserted, result.duplicates) == (3, 3, 0)
    t = lingang.read(M_WATER, "reading")
    assert t.column("value").to_pylist() == [1.0, 2.0, 3.5]
    first = t.column("observed_at")[0].as_py()
    assert first == datetime(2023, 12, 31, 16, 0, tzinfo=UTC)
    ranged = lingang.read(M_WATER, "reading", start + timedelta(minutes=15), start + timedelta(minutes=30))
    assert ranged.column("value").to_pylist() == [2.0]
    assert lingang.store.series_of(M_WATER) == {"reading": "m3"}


def test_resent_batch_changes_nothing(lingang: Twin) -> None:
    batch = readings(M_ELEC_SUB, datetime(2024, 3, 1, tzinfo=CST), [5.0] * 96)
    lingang.append(batch)
    before = lingang.read(M_ELEC_SUB, "reading")
    again = lingang.append(batch)
    assert (again.inserted, again.duplicates) == (0, 96)
    assert lingang.read(M_ELEC_SUB, "reading").equals(before)
    # A resend that overlaps old and new readings inserts only the new ones.
    overlap = readings(M_ELEC_SUB, datetime(2024, 3, 1, 23, 0, tzinfo=CST), [5.0] * 8)
    r = lingang.append(overlap)
    assert (r.inserted, r.duplicates) == (4, 4)


def test_duplicates_inside_one_batch(lingang: Twin) -> None:
    rows = readings(M_WATER, datetime(2024, 3, 1, tzinfo=CST), [1.0, 2.0])
    r = lingang.append(rows + rows[:1])
    assert (r.inserted, r.duplicates) == (2, 1)
    clash = [*rows[:1], {**rows[0], "value": 9.0}]
    with pytest.raises(ValidationError) as err:
        lingang.append(clash)
    assert err.value.rule == "conflicting-value" and err.value.index == 1


def test_conflicting_value_is_refused_and_nothing_is_written(lingang: Twin) -> None:
    start = datetime(2024, 3, 1, tzinfo=CST)
    lingang.append(readings(M_WATER, start, [1.0, 2.0]))
    bad = readings(M_WATER, start, [1.0, 7.0, 3.0]) + readings(M_H2, start, [0.5])  # M_H2 series is new
    with pytest.raises(ValidationError) as err:
        lingang.append(bad)
    assert err.value.rule == "conflicting-value" and err.value.field == "value"
    assert err.value.index == 1
    assert lingang.read(M_WATER, "reading").column("value").to_pylist() == [1.0, 2.0]
    assert "reading" not in lingang.store.series_of(M_H2)  # the rolled-back batch created no series
    replaced = lingang.append(bad, on_conflict="replace")
    assert (replaced.inserted, replaced.duplicates, replaced.replaced) == (2, 1, 1)
    assert lingang.read(M_WATER, "reading").column("value").to_pylist() == [1.0, 7.0, 3.0]
    kept = lingang.append(readings(M_WATER, start, [0.0]), on_conflict="keep")
    assert kept.kept == 1
    assert lingang.read(M_WATER, "reading").column("value").to_pylist()[0] == 1.0


def test_late_and_out_of_order_readings_fix_every_aggregate(lingang: Twin) -> None:
    # Meter readings close the quarter-hour they are stamped at: 00:15 … 24:00 is one day.
    start = datetime(2024, 5, 6, 0, 15, tzinfo=CST)  # a Monday
    values = [float(i % 7) for i in range(96 * 3)]
    rows = readings(M_ELEC_SUB, start, values)
    order = np.random.default_rng(7).permutation(len(rows))
    held_back = set(order[:40].tolist())
    lingang.append([rows[i] for i in order[40:]])
    partial = lingang.aggregate("reading", entity_id=M_ELEC_SUB, bucket="day", agg="sum")
    assert partial.column("value").to_pylist() != [sum(values[d * 96:(d + 1) * 96]) for d in range(3)]
    lingang.append([rows[i] for i in sorted(held_back, reverse=True)])
    for agg, ref in [("sum", np.sum), ("mean", np.mean), ("min", np.min), ("max", np.max),
                     ("count", len), ("first", lambda a: a[0]), ("last", lambda a: a[-1])]:
        t = lingang.aggregate("reading", entity_id=M_ELEC_SUB, bucket="day", agg=agg)
        expected = [float(ref(np.array(values[d * 96:(d + 1) * 96]))) for d in range(3)]
        assert t.column("value").to_pylist() == pytest.approx(expected), agg
        assert t.column("count").to_pylist() == [96, 96, 96]


def test_buckets_follow_shanghai_calendar(lingang: Twin) -> None:
    # An instant series (indoor temperature): 2024-01-31 23:30 and 2024-02-01 00:30 in Shanghai are different
    # days and months but the same ISO week; 2025-01-01 00:00 opens the new year.
    def at(*args: int) -> datetime:
        return datetime(*args, tzinfo=UTC)

    lingang.append([
        {"entity_id": LINGANG_CENTER, "attribute": "temp", "observed_at": at(2024, 1, 31, 15, 30), "value": 1.0},
        {"entity_id": LINGANG_CENTER, "attribute": "temp", "observed_at": at(2024, 1, 31, 16, 30), "value": 2.0},
        {"entity_id": LINGANG_CENTER, "attribute": "temp", "observed_at": at(2024, 12, 31, 16, 0), "value": 4.0},
    ])

    def buckets(bucket: str) -> list[tuple[datetime, float]]:
        t = lingang.aggregate("temp", entity_id=LINGANG_CENTER, bucket=bucket, agg="sum")
        return list(zip(t.column("bucket").to_pylist(), t.column("value").to_pylist(), strict=True))

    def sh(*args: int) -> datetime:
        return datetime(*args, tzinfo=SHANGHAI)

    assert buckets("day") == [(sh(2024, 1, 31), 1.0), (sh(2024, 2, 1), 2.0), (sh(2025, 1, 1), 4.0)]
    assert buckets("hour") == [(sh(2024, 1, 31, 23), 1.0), (sh(2024, 2, 1, 0), 2.0), (sh(2025, 1, 1, 0), 4.0)]
    assert buckets("15min")[0] == (sh(2024, 1, 31, 23, 30), 1.0)
    assert buckets("week") == [(sh(2024, 1, 29), 3.0), (sh(2024, 12, 30), 4.0)]
    assert buckets("month") == [(sh(2024, 1, 1), 1.0), (sh(2024, 2, 1), 2.0), (sh(2025, 1, 1), 4.0)]
    assert buckets("year") == [(sh(2024, 1, 1), 3.0), (sh(2025, 1, 1), 4.0)]
    t = lingang.aggregate("temp", entity_id=LINGANG_CENTER, bucket="day", agg="sum")
    assert t.schema.field("bucket").type == pa.timestamp("us", tz="Asia/Shanghai")


def test_meter_readings_close_the_period_they_are_stamped_at(lingang: Twin) -> None:
    # A reading stamped 2025-01-01 00:00 (Shanghai) is the consumption of 2024-12-31 23:45-24:00: it counts for
    # the last day, month and year of 2024. The raw read of the same range stays [start, end).
    stamps = [datetime(2024, 12, 31, 23, 45, tzinfo=CST), datetime(2025, 1, 1, 0, 0, tzinfo=CST),
              datetime(2025, 1, 1, 0, 15, tzinfo=CST)]
    lingang.append([{"entity_id": M_WATER, "attribute": "reading", "observed_at": t, "value": v}
                    for t, v in zip(stamps, [1.0, 2.0, 4.0], strict=True)])

    def sums(bucket: str, **kw: datetime) -> list[tuple[datetime, float]]:
        t = lingang.aggregate("reading", entity_id=M_WATER, bucket=bucket, agg="sum", **kw)
        return list(zip(t.column("bucket").to_pylist(), t.column("value").to_pylist(), strict=True))

    sh = SHANGHAI
    assert sums("day") == [(datetime(2024, 12, 31, tzinfo=sh), 3.0), (datetime(2025, 1, 1, tzinfo=sh), 4.0)]
    assert sums("year") == [(datetime(2024, 1, 1, tzinfo=sh), 3.0), (datetime(2025, 1, 1, tzinfo=sh), 4.0)]
    assert sums("15min")[1] == (datetime(2024, 12, 31, 23, 45, tzinfo=sh), 2.0)
    day = {"start": datetime(2024, 12, 31, tzinfo=CST), "end": datetime(2025, 1, 1, tzinfo=CST)}
    assert sums("day", **day) == [(datetime(2024, 12, 31, tzinfo=sh), 3.0)]
    assert lingang.read(M_WATER, "reading", day["start"], day["end"]).column("value").to_pylist() == [1.0]
    # Asked for explicitly, the instant convention applies to the same readings.
    from lingang_twin.core.store import SeriesQuery

    instant = lingang.series(SeriesQuery(attribute="reading", entity_id=M_WATER, bucket="day", period_end=False))
    assert instant.column("value").to_pylist() == [1.0, 6.0]


def test_delta_of_cumulative_register_with_rollover_and_reset(lingang: Twin) -> None:
    start = datetime(2024, 7, 1, tzinfo=CST)
    # Day 1: 999_990 → rolls over at 1e6 → 30; day 2: reset (meter replaced) to 0 → 5 → 15.
    day1 = [999_990.0, 999_995.0, 10.0, 30.0]
    day2 = [35.0, 0.0, 5.0, 15.0]
    lingang.append(readings(M_ELEC, start, day1, step_min=360))
    lingang.append(readings(M_ELEC, start + timedelta(days=1), day2, step_min=360))
    t = lingang.aggregate("reading", entity_id=M_ELEC, bucket="day", agg="delta")
    rows = t.to_pylist()
    # Day 1: 5 + 15 (rollover) + 20 + 5 (the 00:00 reading of 2 July closes 1 July); day 2: 0 (reset) + 5 + 10.
    assert [r["value"] for r in rows] == [45.0, 15.0]
    assert [r["rollovers"] for r in rows] == [1, 0]
    assert [r["resets"] for r in rows] == [0, 1]
    assert [r["count"] for r in rows] == [4, 3]  # the very first reading only anchors: it measures nothing
    # With a start inside the data, the reading at the start anchors the first step after it.
    t2 = lingang.aggregate("reading", entity_id=M_ELEC, bucket="day", agg="delta",
                           start=start + timedelta(days=1))
    assert t2.column("value").to_pylist() == [15.0]


def test_rollup_under_a_parent_grouped_by_carrier_and_entity(lingang: Twin) -> None:
    start = datetime(2024, 2, 5, 0, 15, tzinfo=CST)
    lingang.append(readings(M_ELEC_SUB, start, [1.0] * 96))
    lingang.append(readings(M_WATER, start, [0.5] * 96))
    lingang.append(readings(M_H2, start, [2.0] * 4, step_min=360))
    by_carrier = lingang.aggregate("reading", under=DISTRICT, bucket="day", agg="sum", group_by="carrier")
    assert {(r["group"], r["value"]) for r in by_carrier.to_pylist()} == {
        ("electricity", 96.0), ("water", 48.0), ("hydrogen", 8.0)}
    tsc = lingang.aggregate("reading", under=ZONE_TSC, bucket="day", agg="sum", group_by="entity")
    assert {r["group"] for r in tsc.to_pylist()} == {M_ELEC_SUB, M_WATER}
    assert lingang.aggregate("reading", under=HQ_TOWER, bucket="month", agg="sum").column("value").to_pylist() == [8.0]
    only_elec = lingang.aggregate("reading", under=LINGANG_CENTER, q='carrier=="electricity"', bucket="day")
    assert only_elec.column("value").to_pylist() == [96.0]
    by_type = lingang.aggregate("reading", types=["Meter"], bucket="day", agg="count")
    assert by_type.column("value").to_pylist() == [196.0]


def test_units_are_converted_on_the_way_in(lingang: Twin) -> None:
    start = datetime(2024, 2, 5, tzinfo=CST)
    lingang.append(readings(M_ELEC_SUB, start, [1500.0, 2500.0], unit="Wh"))
    lingang.append(readings(M_ELEC_SUB, start + timedelta(hours=1), [0.002], unit="MWh"))
    assert lingang.read(M_ELEC_SUB, "reading").column("value").to_pylist() == pytest.approx([1.5, 2.5, 2.0])
    lingang.append(readings(M_WATER, start, [1000.0], unit="L"))
    assert lingang.read(M_WATER, "reading").column("value").to_pylist() == pytest.approx([1.0])


def test_unit_of_new_attribute_is_fixed_by_first_write(lingang: Twin) -> None:
    start = datetime(2024, 2, 5, tzinfo=CST)
    lingang.append(readings(LINGANG_CENTER, start, [21.5], attribute="indoorTemperature", unit="degC"))
    lingang.append(readings(LINGANG_CENTER, start + timedelta(hours=1), [71.6], attribute="indoorTemperature",
                            unit="degF"))
    t = lingang.read(LINGANG_CENTER, "indoorTemperature")
    assert t.column("value").to_pylist() == pytest.approx([21.5, 22.0])
    assert lingang.store.series_of(LINGANG_CENTER) == {"indoorTemperature": "degC"}


def test_columnar_fast_path(lingang: Twin) -> None:
    n = 96 * 10
    ts = pa.array(np.datetime64("2024-03-01T00:00:00", "us") + np.arange(n) * np.timedelta64(15, "m"),
                  type=pa.timestamp("us", tz="UTC"))
    batch = ObservationBatch.from_arrays(M_ELEC_SUB, "reading", ts, np.ones(n))
    assert lingang.append(batch).inserted == n
    assert lingang.aggregate("reading", entity_id=M_ELEC_SUB, bucket="year", agg="sum").column(
        "value").to_pylist() == [float(n)]


def test_file_store_keeps_everything_after_reopen(tmp_path) -> None:
    from lingang_fixtures import lingang_layout
    from lingang_twin.stores.duckdb_store import DuckDBStore

    path = tmp_path / "persist.duckdb"
    with Twin(DuckDBStore(path)) as twin:
        twin.upsert(lingang_layout())
        twin.append(readings(M_WATER, datetime(2024, 1, 1, tzinfo=CST), [1.0, 2.0]))
    with Twin(DuckDBStore(path)) as twin:
        assert twin.store.count_entities() == len(lingang_layout())
        assert twin.read(M_WATER, "reading").num_rows == 2
        assert twin.append(readings(M_WATER, datetime(2024, 1, 1, tzinfo=CST), [1.0, 2.0])).duplicates == 2


def test_series_groups_and_scales_reach_the_store(lingang: Twin) -> None:
    """The two pieces of the contract the twin's unit plan rests on: ``series_groups`` counts what a query covers,
    and ``scales`` converts a group's series before aggregating (here: the water meter's m³ as litres)."""
    from lingang_twin.core.store import SeriesGroup, SeriesQuery

    start = datetime(2024, 4, 1, tzinfo=CST)
    lingang.append(readings(M_ELEC_SUB, start + timedelta(minutes=15), [1.0, 2.0]))
    lingang.append(readings(M_WATER, start + timedelta(minutes=15), [0.5, 0.25]))
    lingang.append(readings(M_ELEC, start, [100.0, 103.0, 110.0]))
    q = SeriesQuery(attribute="reading", under=LINGANG_CENTER, bucket="day", agg="sum", group_by="carrier")
    groups = lingang.store.series_groups(q)
    assert sorted(groups, key=lambda g: (g.group or "", g.register or "")) == [
        SeriesGroup("electricity", "kWh", "Meter", "cumulative", 1),
        SeriesGroup("electricity", "kWh", "Meter", "interval", 1),
        SeriesGroup("water", "m3", "Meter", "interval", 1)]
    litres = lingang.store.read_series(
        SeriesQuery(attribute="reading", entity_id=M_WATER, bucket="day", agg="sum", period_end=True,
                    scales=((None, "m3", 1000.0, 0.0),)))
    assert litres.column("value").to_pylist() == [750.0]  # (0.5 + 0.25) m³ = 750 L


def test_consumption_is_register_aware_in_the_store(lingang: Twin) -> None:
    start = datetime(2024, 4, 1, tzinfo=CST)
    lingang.append(readings(M_ELEC_SUB, start + timedelta(minutes=15), [1.0, 2.0]))
    lingang.append(readings(M_ELEC, start, [100.0, 103.0, 110.0]))  # 00:00 anchors; +3, +7
    t = lingang.aggregate("reading", under=LINGANG_CENTER, q='carrier=="electricity"', bucket="day",
                          agg="consumption")
    # 1 + 2 (interval) + 3 + 7 (register) = 13 kWh; the register's first reading only anchors: 4 steps.
    assert t.to_pylist()[0] | {"bucket": None} == {"bucket": None, "value": 13.0, "unit": "kWh", "count": 4,
                                                  "resets": 0, "rollovers": 0}
