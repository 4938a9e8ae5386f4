"""The tables against REFERENCE.md (GB/T 2589-2020, MEE/NBS, 沪环气〔2022〕34号)."""

from __future__ import annotations

import pytest
from numpy.testing import assert_allclose

from lingang_twin.core.errors import ValidationError
from lingang_twin.energy.carriers import canonical_unit, to_canonical_scale
from lingang_twin.energy.factors import (
    CO2_FACTOR_SETS,
    STANDARD_COAL_COEFFICIENTS,
    EnergyConfig,
    co2_factor,
    co2_factor_set,
    coal_coefficient,
)


def test_every_entry_carries_source_and_year() -> None:
    for fig in STANDARD_COAL_COEFFICIENTS.values():
        assert fig.source and fig.year == 2020
    for name, table in CO2_FACTOR_SETS.items():
        assert table["electricity"].year is not None, name
        assert all(f.source for f in table.values())
    assert "check" in STANDARD_COAL_COEFFICIENTS["water"].note
    assert "derived" in STANDARD_COAL_COEFFICIENTS["hydrogen"].note


def test_reference_figures() -> None:
    assert_allclose(1000 * coal_coefficient("electricity").value, 122.9)
    assert_allclose(1000 * co2_factor("electricity", "shanghai-local-2022").value, 420.0)
    assert_allclose(coal_coefficient("natural_gas").value, 1.2143)  # gas-field by default
    assert_allclose(coal_coefficient("natural_gas", EnergyConfig(natural_gas_source="oil-field")).value, 1.3300)
    assert_allclose(coal_coefficient("diesel").value, 1.4571)
    assert_allclose(coal_coefficient("gasoline").value, 1.4714)
    assert_allclose(coal_coefficient("hydrogen").value, 120_000 / 29_307, rtol=1e-4)  # LHV 120 MJ/kg
    grid = {"mee-national-2021": 0.5568, "mee-national-2022": 0.5366, "mee-national-2023": 0.5306,
            "mee-east-china-2021": 0.5992, "mee-east-china-2022": 0.5617, "mee-east-china-2023": 0.5500}
    for name, value in grid.items():
        assert_allclose(co2_factor("electricity", name).value, value)
        assert_allclose(co2_factor("diesel", name).value, 3.0959)
        assert_allclose(co2_factor("gasoline", name).value, 2.9251)
        assert_allclose(co2_factor("natural_gas", name).value, 2.1622)


def test_liquid_fuel_and_hydrogen_units() -> None:
    # 100 L diesel → 84 kg → 122.4 kgce
    kg = 100 * to_canonical_scale("diesel", "L")
    assert_allclose(kg, 84.0)
    assert_allclose(kg * coal_coefficient("diesel").value, 122.4, atol=0.01)
    assert_allclose(to_canonical_scale("gasoline", "L"), 0.73)
    assert_allclose(to_canonical_scale("hydrogen", "Nm3"), 0.0899)
    assert_allclose(to_canonical_scale("hydrogen", "Nm3") * coal_coefficient("hydrogen").value, 0.368, atol=1e-3)
    assert_allclose(to_canonical_scale("diesel", "L", EnergyConfig(fuel_densities_kg_per_l={"diesel": 0.85})), 0.85)
    assert_allclose(to_canonical_scale("electricity", "MWh"), 1000.0)
    assert_allclose(to_canonical_scale("heat", "GJ"), 1000.0)


def test_equal_value_is_off_until_configured() -> None:
    with pytest.raises(ValidationError) as err:
        coal_coefficient("electricity", electricity_basis="equal-value")
    assert err.value.rule == "coefficient-missing"
    cfg = EnergyConfig(electricity_equal_value_kgce_per_kwh=0.3)
    assert coal_coefficient("electricity", cfg, "equal-value").value == 0.3
    with pytest.raises(ValidationError) as err:
        coal_coefficient("electricity", cfg, "bogus")
    assert (err.value.field, err.value.rule) == ("electricity_basis", "basis-unknown")


def test_unknown_factor_set_lists_valid_names() -> None:
    with pytest.raises(ValidationError) as err:
        co2_factor_set("mee-2099")
    assert (err.value.field, err.value.rule) == ("factors", "factor-set-unknown")
    for name in CO2_FACTOR_SETS:
        assert name in str(err.value)


@pytest.mark.parametrize("carrier", ["hydrogen", "water"])
def test_missing_carrier_is_an_error_not_zero(carrier: str) -> None:
    with pytest.raises(ValidationError) as err:
        co2_factor(carrier, "shanghai-local-2022")
    assert (err.value.field, err.value.rule) == ("factors", "factor-missing")
    assert carrier in str(err.value)


def test_heat_missing_from_mee_sets() -> None:
    assert co2_factor("heat", "shanghai-local-2022").value == 0.06
    with pytest.raises(ValidationError, match="heat"):
        co2_factor("heat", "mee-national-2023")


def test_hydrogen_factor_needs_its_route() -> None:
    with pytest.raises(ValidationError) as err:
        co2_factor("hydrogen", "shanghai-local-2022", EnergyConfig(hydrogen_kgco2_per_kg=12.0))
    assert err.value.rule == "route-missing"
    fig = co2_factor("hydrogen", "shanghai-local-2022", EnergyConfig(hydrogen_kgco2_per_kg=12.0, hydrogen_route="smr"))
    assert fig.value == 12.0 and "smr" in fig.note


def test_overrides_take_precedence() -> None:
    cfg = EnergyConfig(co2_overrides={"electricity": 0.5}, coal_overrides={"diesel": 1.5})
    assert co2_factor("electricity", "shanghai-local-2022", cfg).value == 0.5
    assert co2_factor("electricity", "shanghai-local-2022", cfg).source.startswith("configuration")
    assert coal_coefficient("diesel", cfg).value == 1.5


def test_unknown_carrier_and_bad_units() -> None:
    with pytest.raises(ValidationError) as err:
        canonical_unit("coal")
    assert (err.value.field, err.value.rule) == ("carrier", "carrier-unknown")
    with pytest.raises(ValidationError) as err:
        to_canonical_scale("electricity", "m3")
    assert (err.value.field, err.value.rule) == ("unit", "unit-incompatible")
    with pytest.raises(ValidationError) as err:
        to_canonical_scale("water", "furlongs-per-bushel")
    assert (err.value.field, err.value.rule) == ("unit", "unit-unknown")
    with pytest.raises(ValidationError) as err:
        to_canonical_scale("natural_gas", "kg")  # gas by mass: no density in the tables
    assert err.value.rule == "unit-incompatible"
