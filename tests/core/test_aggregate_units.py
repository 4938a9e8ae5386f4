"""Aggregates across meters whose units differ, and register-aware consumption, on a real DuckDB file.

Every expected number is worked out by hand in the comments (the oracle), not by the code under test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from lingang_twin.core.errors import ValidationError
from lingang_twin.core.twin import Twin
from lingang_twin.stores.duckdb_store import DuckDBStore

CST = timezone(timedelta(hours=8))
DAY = datetime(2024, 3, 1, tzinfo=CST)
B = "urn:ngsi-ld:Building:units-lab"
INTERVAL_Q = '(!register|register!="cumulative")'


def meter(local: str, carrier: str, unit: str, register: str) -> dict:
    return {"id": f"urn:ngsi-ld:Meter:{local}", "type": "Meter",
            "properties": {"carrier": carrier, "unit": unit, "register": register},
            "relationships": {"containedIn": B}}


def at(hour: int) -> datetime:
    return DAY + timedelta(hours=hour)


@pytest.fixture
def twin(tmp_path: Path) -> Iterator[Twin]:
    t = Twin(DuckDBStore(tmp_path / "units.duckdb"), clock=lambda: datetime(2024, 3, 5, tzinfo=CST))
    t.upsert([{"id": B, "type": "Building"},
              meter("a-kwh", "electricity", "kWh", "interval"),
              meter("b-mwh", "electricity", "MWh", "interval"),
              meter("c-kwh", "electricity", "kWh", "cumulative"),
              meter("d-mwh", "electricity", "MWh", "cumulative"),
              meter("w1", "water", "m3", "interval"),
              meter("w2", "water", "m3", "interval"),
              meter("w3-litre", "water", "L", "interval")])
    rows = []
    for local, values in {"a-kwh": [100, 50], "b-mwh": [1, 2], "w1": [2, 3], "w2": [1, 1],
                          "w3-litre": [500, 250]}.items():
        rows += [{"entity_id": f"urn:ngsi-ld:Meter:{local}", "attribute": "reading", "observed_at": at(h + 1),
                  "value": float(v)} for h, v in enumerate(values)]
    # Registers: stamped 00:00 (anchor), 01:00, 02:00.
    for local, values in {"c-kwh": [10, 30, 60], "d-mwh": [1.0, 1.5, 2.5]}.items():
        rows += [{"entity_id": f"urn:ngsi-ld:Meter:{local}", "attribute": "reading", "observed_at": at(h),
                  "value": v} for h, v in enumerate(values)]
    t.append(rows)
    yield t
    t.close()


def elec(twin: Twin, agg: str, bucket: str = "day", q: str = INTERVAL_Q, **kw: object) -> list[dict]:
    return twin.aggregate("reading", types=["Meter"], under=B, q=f'carrier=="electricity";{q}', bucket=bucket,
                          agg=agg, start=DAY, end=DAY + timedelta(days=1), **kw).to_pylist()  # type: ignore[arg-type]


def test_a_kwh_and_an_mwh_meter_add_up_in_kwh(twin: Twin) -> None:
    # a: 100 + 50 kWh; b: 1 + 2 MWh = 1000 + 2000 kWh. One kWh and one MWh meter: a tie, the smaller unit wins.
    [day] = elec(twin, "sum")
    assert (day["value"], day["unit"], day["count"]) == (3150.0, "kWh", 4)
    assert elec(twin, "mean")[0]["value"] == pytest.approx(3150 / 4)
    assert elec(twin, "min")[0]["value"] == 50.0   # a's 50 kWh, not b's "1"
    assert elec(twin, "max")[0]["value"] == 2000.0  # b's 2 MWh
    hours = elec(twin, "sum", bucket="hour")  # the 01:00 readings close 00:00-01:00
    assert [(h["value"], h["unit"]) for h in hours] == [(1100.0, "kWh"), (2050.0, "kWh")]
    # The case exactly: 100 kWh + 1 MWh is 1,100 kWh, not 101.
    assert hours[0]["value"] != 101.0


def test_a_unit_can_be_asked_for(twin: Twin) -> None:
    [day] = elec(twin, "sum", unit="MWh")
    assert (day["value"], day["unit"]) == (pytest.approx(3.15), "MWh")
    with pytest.raises(ValidationError) as err:
        elec(twin, "sum", unit="m3")
    assert (err.value.field, err.value.rule) == ("unit", "unit-mixed")


def test_delta_of_registers_in_kwh_and_mwh(twin: Twin) -> None:
    # c: 30-10 + 60-30 = 50 kWh; d: 0.5 + 1.0 MWh = 1500 kWh.
    [day] = elec(twin, "delta", q='register=="cumulative"')
    assert (day["value"], day["unit"], day["resets"]) == (1550.0, "kWh", 0)


def test_group_by_carrier_gives_each_group_its_own_unit(twin: Twin) -> None:
    rows = twin.aggregate("reading", under=B, types=["Meter"], q=INTERVAL_Q, bucket="day", agg="sum",
                          group_by="carrier", start=DAY).to_pylist()
    # water: w1 5 + w2 2 m3 + w3 750 L = 7.75 m3 (two m3 meters against one in L: m3); electricity as above.
    got = {r["group"]: (r["value"], r["unit"]) for r in rows}
    assert got == {"electricity": (3150.0, "kWh"), "water": (pytest.approx(7.75), "m3")}
    per_meter = twin.aggregate("reading", under=B, types=["Meter"], q=INTERVAL_Q, bucket="day", agg="sum",
                               group_by="entity", start=DAY).to_pylist()
    # Grouped by entity nothing is converted: each meter in its own unit.
    assert {(r["group"].rsplit(":", 1)[1], r["value"], r["unit"]) for r in per_meter} >= {
        ("b-mwh", 3.0, "MWh"), ("w3-litre", 750.0, "L")}


def test_consumption_takes_delta_of_registers_and_sum_of_intervals(twin: Twin) -> None:
    # electricity: interval 3150 kWh + registers 1550 kWh = 4700 kWh; water: 7.75 m3, all interval.
    rows = twin.aggregate("reading", under=B, types=["Meter"], bucket="day", agg="consumption",
                          group_by="carrier", start=DAY).to_pylist()
    got = {r["group"]: (r["value"], r["unit"]) for r in rows}
    assert got == {"electricity": (4700.0, "kWh"), "water": (pytest.approx(7.75), "m3")}
    # Hourly, electricity: 00-01 a 100 + b 1000 + c 20 + d 500 = 1620; 01-02 50 + 2000 + 30 + 1000 = 3080.
    hours = elec(twin, "consumption", bucket="hour", q="register")
    assert [h["value"] for h in hours] == [1620.0, 3080.0]


def test_delta_over_interval_and_sum_over_registers_are_refused(twin: Twin) -> None:
    with pytest.raises(ValidationError) as err:
        elec(twin, "delta", q="register")
    assert (err.value.field, err.value.rule) == ("agg", "agg-register")
    assert "consumption" in err.value.message
    with pytest.raises(ValidationError) as err:
        elec(twin, "sum", q="register")
    assert (err.value.field, err.value.rule) == ("agg", "agg-register")


def test_units_that_do_not_convert_are_refused_not_added(twin: Twin) -> None:
    with pytest.raises(ValidationError) as err:
        twin.aggregate("reading", under=B, types=["Meter"], q=INTERVAL_Q, bucket="day", agg="sum", start=DAY)
    assert (err.value.field, err.value.rule) == ("group_by", "unit-mixed")
    # A count has no unit: it still works across carriers (4 electricity + 6 water interval readings).
    [n] = twin.aggregate("reading", under=B, types=["Meter"], q=INTERVAL_Q, bucket="day", agg="count",
                         start=DAY).to_pylist()
    assert (n["value"], n["unit"]) == (10.0, None)
