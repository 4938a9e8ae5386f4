"""The one register-aware read of meter consumption (core/meters.py) on a real DuckDB file: interval meters summed,
cumulative registers differenced across a rollover, each meter scaled, and the same totals as the core's own
``agg="consumption"``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from lingang_twin.app import open_twin
from lingang_twin.core.calendar import BUCKET_US, align, epoch_us, month_range, shift_month
from lingang_twin.core.meters import is_cumulative, meter_consumption
from lingang_twin.core.twin import Twin

SH = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 3, 2, tzinfo=SH)
SITE, HALL = "urn:ngsi-ld:District:m", "urn:ngsi-ld:Building:hall"
POWER, WATER = "urn:ngsi-ld:Meter:hall-power", "urn:ngsi-ld:Meter:hall-water"


@pytest.fixture
def twin(tmp_path: Path) -> Iterator[Twin]:
    t = open_twin(tmp_path / "m.duckdb")
    t.upsert([
        {"id": SITE, "type": "District", "properties": {"name": "M"}},
        {"id": HALL, "type": "Building", "relationships": {"containedIn": SITE}},
        {"id": POWER, "type": "Meter", "properties": {"carrier": "electricity", "unit": "kWh",
                                                      "register": "cumulative", "registerMax": 1000.0},
         "relationships": {"containedIn": HALL}},
        {"id": WATER, "type": "Meter", "properties": {"carrier": "water", "unit": "m3"},
         "relationships": {"containedIn": HALL}},
    ])
    rows = []
    for h in range(25):  # the register runs 900 → 1,020 through its rollover at 1,000: 120 kWh in the day
        rows.append({"entity_id": POWER, "attribute": "reading", "observed_at": DAY + timedelta(hours=h),
                     "value": (900.0 + 5.0 * h) % 1000.0})
        if h:
            rows.append({"entity_id": WATER, "attribute": "reading", "observed_at": DAY + timedelta(hours=h),
                         "value": 2.0})
    t.append(rows)
    yield t
    t.close()


def test_interval_summed_register_differenced_and_scaled(twin: Twin) -> None:
    meters = twin.query_all(types=("Meter",), under=HALL)
    assert {m.id: is_cumulative(m) for m in meters} == {POWER: True, WATER: False}
    end = DAY + timedelta(days=1)
    got = meter_consumption(twin, meters, DAY, end, bucket="hour", under=HALL, scales={WATER: 1000.0})
    value, count = got.totals()
    by_id = {m.id: (float(value[i]), int(count[i])) for i, m in enumerate(got.meters)}
    assert by_id[POWER] == (pytest.approx(120.0), 24)  # 24 steps, one of them across the rollover
    assert by_id[WATER] == (pytest.approx(48_000.0), 24)  # 24 × 2 m³, scaled to litres
    # The same as the core's own register-aware aggregate (unscaled).
    core = twin.aggregate("reading", bucket="day", agg="consumption", under=HALL, types=("Meter",), start=DAY,
                          end=end, group_by="entity")
    expected = dict(zip(core["group"].to_pylist(), core["value"].to_pylist(), strict=True))
    assert by_id[POWER][0] == pytest.approx(expected[POWER])
    assert by_id[WATER][0] / 1000.0 == pytest.approx(expected[WATER])
    # As a matrix of hours: NaN nowhere inside the day, every hour of the water meter 2 m³ × 1000.
    values, counts = got.matrix(epoch_us(DAY), BUCKET_US["hour"], 24)
    water = [m.id for m in got.meters].index(WATER)
    assert np.allclose(values[water], 2000.0) and counts.sum() == 48


def test_one_meter_alone_is_read_by_id_and_empty_reads_are_empty(twin: Twin) -> None:
    power = twin.get(POWER)
    got = meter_consumption(twin, [power], DAY, DAY + timedelta(days=1), bucket="day", under=POWER)
    assert got.totals()[0].tolist() == [pytest.approx(120.0)]
    none = meter_consumption(twin, [power], DAY - timedelta(days=9), DAY - timedelta(days=8), bucket="day",
                             under=POWER)
    assert none.meter.size == 0 and none.totals()[0].tolist() == [0.0]


def test_calendar_months_and_buckets() -> None:
    start, end = month_range("2026-12")
    assert (start.isoformat(), end.isoformat()) == ("2026-12-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00")
    assert shift_month("2026-01", -1) == "2025-12" and shift_month("2026-11", 14) == "2028-01"
    a, b = align(DAY + timedelta(minutes=7), DAY + timedelta(hours=1, minutes=1), "hour")
    assert (a, b) == (DAY, DAY + timedelta(hours=2))
