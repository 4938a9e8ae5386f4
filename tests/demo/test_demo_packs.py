"""The mobility and energy pack skeletons: their types, units, bounds and idempotent setup."""

from __future__ import annotations

import pytest

from lingang_twin.core.errors import ValidationError
from lingang_twin.core.twin import Twin
from lingang_twin.demo import DEMO_PACKS, build_layout
from lingang_twin.energy import PACK as ENERGY
from lingang_twin.mobility import PACK as MOBILITY
from lingang_twin.stores.duckdb_store import DuckDBStore

MOBILITY_TYPES = {"OffStreetParking", "ParkingSpot", "Vehicle", "TransitRoute", "TransitStop"}
ENERGY_TYPES = {"EVChargingStation", "HydrogenStation"}


@pytest.fixture
def twin() -> Twin:
    t = Twin(DuckDBStore(None))
    for pack in DEMO_PACKS:
        pack.setup(t)
    return t


def test_packs_are_named_and_labelled_in_both_languages() -> None:
    assert (MOBILITY.name, MOBILITY.label) == ("mobility", ("出行", "Mobility"))
    assert (ENERGY.name, ENERGY.label) == ("energy", ("能源", "Energy"))
    assert DEMO_PACKS == [MOBILITY, ENERGY]


def test_setup_registers_types_with_series_units_and_is_idempotent(twin: Twin) -> None:
    names = {t.name for t in twin.types}
    assert names >= MOBILITY_TYPES | ENERGY_TYPES
    before = {t.name: t for t in twin.types}
    MOBILITY.setup(twin)
    ENERGY.setup(twin)
    assert {t.name: t for t in twin.types} == before
    assert twin.types.get("OffStreetParking").series == {"occupancy": "%", "availableSpotNumber": "1"}
    assert twin.types.get("Vehicle").series["speed"] == "km/h"
    assert twin.types.get("Vehicle").series["lat"] == "degree"
    assert twin.types.get("EVChargingStation").series == {"power": "kW", "energy": "kWh", "availableCapacity": "1"}
    assert twin.types.get("HydrogenStation").series == {"dispensed": "kg", "storageLevel": "kg"}
    assert twin.types.get("ParkingSpot").smart_data_model == "ParkingSpot"
    assert twin.types.get("EVChargingStation").property_units()["ratedPower"] == "kW"
    assert twin.types.get("HydrogenStation").property_units()["capacity"] == "kg/day"


def test_core_road_and_weather_station_types() -> None:
    twin = Twin(DuckDBStore(None))  # base types: no pack needed
    assert twin.types.get("Road").property_units()["maximumAllowedSpeed"] == "km/h"
    assert twin.types.get("WeatherStation").series == {"temperature": "°C", "relativeHumidity": "%"}


def test_property_units_convert_and_bounds_are_enforced(twin: Twin) -> None:
    twin.upsert([{"id": "urn:ngsi-ld:EVChargingStation:x", "type": "EVChargingStation",
                  "properties": {"socketNumber": 4, "ratedPower": (240_000, "W"), "openingHours": "24/7"}}])
    station = twin.get("urn:ngsi-ld:EVChargingStation:x")
    assert station.value("ratedPower") == pytest.approx(240.0)
    assert station.properties["ratedPower"].unit == "kW"
    assert station.value("openingHours") == "24/7"  # open model: unforeseen attributes are kept
    with pytest.raises(ValidationError) as err:
        twin.upsert([{"id": "urn:ngsi-ld:OffStreetParking:p", "type": "OffStreetParking",
                      "properties": {"totalSpotNumber": -3}}])
    assert err.value.field.startswith("properties.totalSpotNumber")
    with pytest.raises(ValidationError):
        twin.upsert([{"id": "urn:ngsi-ld:HydrogenStation:h", "type": "HydrogenStation",
                      "properties": {"capacity": (5, "kWh")}}])


def test_each_pack_brings_its_own_part_of_the_demo_district() -> None:
    from lingang_twin.demo.layout import plan_for

    full = {e["id"]: e for e in build_layout(2022)}
    without_mobility = plan_for(2022, [ENERGY]).entities
    # Mobility draws nothing from the plan's generator: leaving it out removes its entities and changes nothing else.
    assert {e["type"] for e in without_mobility}.isdisjoint(MOBILITY_TYPES)
    assert {e["id"] for e in without_mobility} == {i for i, e in full.items() if e["type"] not in MOBILITY_TYPES}
    assert all(e == full[e["id"]] for e in without_mobility)
    # With no pack at all the demo is the core district: no meter, no station, no car park, no tenant.
    core_only = {e["type"] for e in plan_for(2022, []).entities}
    assert core_only == {"District", "Zone", "Road", "Parcel", "Building", "WeatherStation"}
    assert ENERGY.demo_layout is not None and MOBILITY.demo_layout is not None
    assert ENERGY.demo is not None and MOBILITY.demo is None
