"""``account``: main meters only, delta for cumulative registers, units, time-of-use cost, bad input."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from energy_fixtures import (
    BUILDING,
    CONFIG,
    DAY,
    DISTRICT,
    M_ELEC,
    M_ELEC_SUB,
    M_WATER,
    OTHER,
    SH,
    meter,
)
from numpy.testing import assert_allclose

from lingang_twin.core.errors import NotFoundError, ValidationError
from lingang_twin.core.twin import Twin
from lingang_twin.energy.accounting import account, month_range

END = DAY + timedelta(days=1)
DB = tuple[Path, Twin]


def test_building_account_matches_reference(energy_db: DB) -> None:
    _, twin = energy_db
    a = account(twin, BUILDING, DAY, END, config=CONFIG)
    e = a.carriers["electricity"]
    # 1,000 kWh → 122.9 kgce and 420 kg CO2 (shanghai-local-2022); the sub-meter's 960 kWh are not added.
    assert e.meters == [M_ELEC]
    assert_allclose([e.consumption, e.kgce, e.kgco2], [1000.0, 122.9, 420.0])
    # Time of use (illustrative tariff): 100 kWh in the valley (0.35) + 900 kWh at peak (1.20).
    assert_allclose(e.cost_cny, 100 * 0.35 + 900 * 1.20)
    d = a.carriers["diesel"]
    assert d.unit == "kg"
    assert_allclose([d.consumption, d.kgce, d.kgco2], [84.0, 84 * 1.4571, 84 * 3.0959])
    assert_allclose(d.kgce, 122.4, atol=0.01)
    w = a.carriers["water"]
    assert_allclose([w.consumption, w.kgce, w.kgco2, w.cost_cny], [48.0, 48 * 0.0857, 48 * 0.25, 48 * 5.0])
    g = a.carriers["natural_gas"]
    assert_allclose([g.consumption, g.kgce, g.kgco2], [20.0, 20 * 1.2143, 20 * 2.1622], rtol=1e-9)
    assert g.register_resets == 0  # the rollover at 1,000 m³ is a rollover, not a reset
    assert "hydrogen" not in a.carriers
    assert_allclose(a.total_kgce, sum(c.kgce for c in a.carriers.values()))
    assert a.basis["co2"]["factor_set"] == "shanghai-local-2022"
    assert a.basis["standard_coal"]["coefficients"]["electricity"]["source"] == "GB/T 2589-2020"
    assert a.basis["tariff"]["illustrative"] is True


def test_district_adds_buildings_and_converts_hydrogen(energy_db: DB) -> None:
    _, twin = energy_db
    district = account(twin, DISTRICT, DAY, END, config=CONFIG)
    lab = account(twin, BUILDING, DAY, END, config=CONFIG)
    station = account(twin, OTHER, DAY, END, config=CONFIG)
    h = district.carriers["hydrogen"]
    assert_allclose([h.consumption, h.kgce, h.kgco2], [8.99, 8.99 * 4.0945, 8.99 * 1.0])
    assert_allclose(district.total_kgce, lab.total_kgce + station.total_kgce)
    assert_allclose(district.total_cost_cny, lab.total_cost_cny + station.total_cost_cny)


def test_a_submeter_as_scope_counts_itself(energy_db: DB) -> None:
    _, twin = energy_db
    a = account(twin, M_ELEC_SUB, DAY, END)
    assert_allclose(a.carriers["electricity"].consumption, 24 * 40.0)


def test_flat_tariff_and_other_factor_set(energy_db: DB) -> None:
    _, twin = energy_db
    tariff = {"name": "flat", "prices_cny": {"electricity": 0.6}}
    a = account(twin, M_ELEC, DAY, END, factors="mee-east-china-2023", tariff=tariff)
    e = a.carriers["electricity"]
    assert_allclose([e.kgco2, e.cost_cny], [550.0, 600.0])
    assert a.basis["tariff"]["time_of_use"] is False


def test_equal_value_basis(energy_db: DB) -> None:
    _, twin = energy_db
    a = account(twin, M_ELEC, DAY, END, electricity_basis="equal-value",
                config={"electricity_equal_value_kgce_per_kwh": 0.3})
    assert_allclose(a.carriers["electricity"].kgce, 300.0)


def test_tou_on_a_hand_built_day(tmp_path: Path) -> None:
    from lingang_twin.app import open_twin

    twin = open_twin(tmp_path / "tou.duckdb")
    try:
        twin.upsert([{"id": "urn:ngsi-ld:Building:b", "type": "Building"},
                     meter("urn:ngsi-ld:Meter:b", "urn:ngsi-ld:Building:b", "electricity", "kWh")])
        # 10 kWh in every hour: 8 valley h × 0.35 + 10 flat h × 0.75 + 6 peak h × 1.20 = 17.5 CNY per kWh-hour.
        twin.append([{"entity_id": "urn:ngsi-ld:Meter:b", "attribute": "reading",
                      "observed_at": DAY + timedelta(hours=h), "value": 10.0} for h in range(1, 25)])
        a = account(twin, "urn:ngsi-ld:Building:b", DAY, END)
        assert_allclose(a.carriers["electricity"].cost_cny, 10 * (8 * 0.35 + 10 * 0.75 + 6 * 1.20))
        a = account(twin, "urn:ngsi-ld:Building:b", DAY, END, tariff={
            "name": "two", "prices_cny": {}, "time_of_use": [
                {"name": "night", "hours": [(23, 7)], "price_cny_per_kwh": 0.1},
                {"name": "day", "hours": [(7, 23)], "price_cny_per_kwh": 1.0}]})
        assert_allclose(a.carriers["electricity"].cost_cny, 10 * (8 * 0.1 + 16 * 1.0))
    finally:
        twin.close()


@pytest.mark.parametrize(("kwargs", "field", "rule"), [
    ({"factors": "mee-2099"}, "factors", "factor-set-unknown"),
    ({"tariff": "nope"}, "tariff", "tariff-unknown"),
    ({"electricity_basis": "nope"}, "electricity_basis", "basis-unknown"),
    ({"electricity_basis": "equal-value"}, "electricity_equal_value_kgce_per_kwh", "coefficient-missing"),
    ({"config": {"water_kgco2_per_m3": -1}}, "config.water_kgco2_per_m3", "config-invalid"),
    ({"config": {"bogus": 1}}, "config.bogus", "config-invalid"),
    ({"tariff": {"name": "x", "prices_cny": {"electricity": 1}}}, "tariff", "price-missing"),
    ({"tariff": {"name": "x", "time_of_use": [{"name": "a", "hours": [(0, 20)], "price_cny_per_kwh": 1}]}},
     "tariff", "tariff-invalid"),
])
def test_bad_input_is_named(energy_db: DB, kwargs: dict[str, Any], field: str, rule: str) -> None:
    _, twin = energy_db
    base: dict[str, Any] = {"config": CONFIG}
    with pytest.raises(ValidationError) as err:
        account(twin, BUILDING, DAY, END, **{**base, **kwargs})
    assert (err.value.field, err.value.rule) == (field, rule)


def test_factor_set_missing_a_carrier_in_use(energy_db: DB) -> None:
    _, twin = energy_db
    with pytest.raises(ValidationError) as err:
        account(twin, BUILDING, DAY, END)  # water metered, no water factor configured
    assert (err.value.field, err.value.rule) == ("factors", "factor-missing")
    assert "water" in str(err.value)
    with pytest.raises(ValidationError, match="hydrogen"):
        account(twin, DISTRICT, DAY, END, config={"water_kgco2_per_m3": 0.25})


def test_meter_in_a_unit_its_carrier_cannot_use(energy_db: DB) -> None:
    _, twin = energy_db
    twin.upsert([meter("urn:ngsi-ld:Meter:odd", BUILDING, "electricity", "m3")])
    with pytest.raises(ValidationError) as err:
        account(twin, BUILDING, DAY, END, config=CONFIG)
    assert (err.value.field, err.value.rule) == ("unit", "unit-incompatible")
    assert "urn:ngsi-ld:Meter:odd" in str(err.value)


def test_bad_scope_and_range(energy_db: DB) -> None:
    _, twin = energy_db
    with pytest.raises(NotFoundError):
        account(twin, "urn:ngsi-ld:Building:missing", DAY, END)
    with pytest.raises(ValidationError) as err:
        account(twin, BUILDING, END, DAY)
    assert err.value.rule == "range-order"
    with pytest.raises(ValidationError) as err:
        account(twin, BUILDING, datetime(2026, 3, 2), END)
    assert err.value.rule == "timezone-required"


def test_month_range() -> None:
    assert month_range("2026-12") == (datetime(2026, 12, 1, tzinfo=SH), datetime(2027, 1, 1, tzinfo=SH))
    for bad in ("2026-13", "2026/03", "", "2026-3", "March"):
        with pytest.raises(ValidationError) as err:
            month_range(bad)
        assert (err.value.field, err.value.rule) == ("month", "month-format")


def test_water_reading_stamped_next_day_excluded(energy_db: DB) -> None:
    _, twin = energy_db
    a = account(twin, M_WATER, DAY, END + timedelta(hours=2), config=CONFIG)
    assert_allclose(a.carriers["water"].consumption, 48.0 + 999.0)


def _backwards(twin: Twin, resets: list[str] | None) -> str:
    """A cumulative electricity meter in the lab: 100 → 160 kWh, then 5 kWh at 12:00 (register back to zero), 25
    at 13:00."""
    mid = "urn:ngsi-ld:Meter:lab-elec-reset"
    props: dict[str, object] = {"registerResets": resets} if resets is not None else {}
    twin.upsert([meter(mid, BUILDING, "electricity", "kWh", "cumulative", registerMax=1e6, **props)])
    twin.append([{"entity_id": mid, "attribute": "reading", "observed_at": DAY + timedelta(hours=h), "value": v}
                 for h, v in ((9, 100.0), (11, 160.0), (12, 5.0), (13, 25.0))])
    return mid


def test_undeclared_backwards_register_is_refused(energy_db: tuple[Path, Twin]) -> None:
    _, twin = energy_db
    mid = _backwards(twin, None)
    for scope in (mid, BUILDING):
        with pytest.raises(ValidationError) as err:
            account(twin, scope, DAY, DAY + timedelta(days=1), config=CONFIG)
        assert (err.value.field, err.value.rule) == ("reading", "register-backwards")
        assert mid in err.value.message and "160" in err.value.message and "12:00" in err.value.message


def test_declared_reset_counts_from_zero(energy_db: tuple[Path, Twin]) -> None:
    _, twin = energy_db
    mid = _backwards(twin, ["2026-03-02T11:30:00+08:00"])
    acc = account(twin, mid, DAY, DAY + timedelta(days=1), config=CONFIG)
    e = acc.carriers["electricity"]
    assert e.consumption == pytest.approx(60.0 + 5.0 + 20.0)
    assert e.register_resets == 1
    assert acc.issues[0]["rule"] == "register-reset" and acc.issues[0]["declared"].startswith("2026-03-02T11:30")
    # A declaration that does not cover the step (after it) explains nothing.
    twin.patch(mid, properties={"registerResets": ["2026-03-02T12:30:00+08:00"]})
    with pytest.raises(ValidationError):
        account(twin, mid, DAY, DAY + timedelta(days=1), config=CONFIG)
    with pytest.raises(ValidationError) as err:
        twin.patch(mid, properties={"registerResets": ["2026-03-02T12:30:00"]})
    assert "registerResets" in err.value.field
