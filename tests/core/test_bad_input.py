"""Bad input: a clear error naming the field and the rule, and nothing written."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from lingang_fixtures import DISTRICT, LINGANG_CENTER, M_ELEC, M_WATER, PARCEL, ZONE_TSC, lingang_layout, square
from lingang_twin.core.errors import GeometryError, NotFoundError, QuerySyntaxError, ValidationError
from lingang_twin.core.observations import ObservationBatch
from lingang_twin.core.twin import Twin

CST = timezone(timedelta(hours=8))
T0 = datetime(2024, 1, 1, tzinfo=CST)


@pytest.fixture
def twin(file_twin: Twin) -> Twin:
    file_twin.upsert(lingang_layout())
    file_twin.append([{"entity_id": M_WATER, "attribute": "reading", "observed_at": T0, "value": 1.0}])
    return file_twin


def snapshot(twin: Twin) -> tuple[Any, ...]:
    con = twin.store.con
    return tuple(con.execute(f"SELECT count(*), hash(string_agg(CAST(t AS VARCHAR), ',')) FROM {table} t")
                 .fetchall()[0] for table in ("entities", "relationships", "lifecycle", "series", "observations"))


def building(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "urn:ngsi-ld:Building:new-lab", "type": "Building",
                            "properties": {"floorArea": (5000, "m2")}, "relationships": {"containedIn": PARCEL},
                            "geo": {"location": square(121.94, 30.9)}}
    base.update(over)
    return base


BAD_ENTITIES = [
    ("malformed URN", building(id="urn:lingang:Building:x"), "id", "urn-format"),
    ("URN without local id", building(id="urn:ngsi-ld:Building:"), "id", "urn-format"),
    ("URN type lowercase", building(id="urn:ngsi-ld:building:x", type="building"), "id", "urn-format"),
    ("id and type disagree", building(id="urn:ngsi-ld:Zone:x"), "id", "id-type-mismatch"),
    ("unknown type", building(id="urn:ngsi-ld:Spaceship:x", type="Spaceship"), "type", "unknown-type"),
    ("property fails model", building(properties={"floors": -2}), "properties.floors", "greater_than_equal"),
    ("property of wrong type", building(properties={"height": "tall"}), "properties.height", "float_parsing"),
    ("meter with unknown carrier",
     {"id": "urn:ngsi-ld:Meter:x", "type": "Meter", "properties": {"carrier": "coal", "unit": "kg"}},
     "properties.carrier", "literal_error"),
    ("meter without unit", {"id": "urn:ngsi-ld:Meter:x", "type": "Meter", "properties": {"carrier": "water"}},
     "properties.unit", "missing"),
    ("meter with unknown unit",
     {"id": "urn:ngsi-ld:Meter:x", "type": "Meter", "properties": {"carrier": "water", "unit": "bananas"}},
     "properties.unit", "unit-unknown"),  # our validator's own rule, not pydantic's generic value_error
    ("NaN property", building(properties={"floorArea": math.nan}), "properties.floorArea.value", "finite"),
    ("infinite nested property", building(properties={"spec": {"load": math.inf}}), "properties.spec.value.load",
     "finite"),
    ("unit that does not convert", building(properties={"floorArea": (5000, "kWh")}), "properties.floorArea.unit",
     "unit-incompatible"),
    ("unknown unit", building(properties={"floorArea": (5000, "furlongs2")}), "properties.floorArea.unit",
     "unit-unknown"),
    ("observedAt without time zone",
     building(properties={"occupants": {"value": 3, "observed_at": datetime(2024, 1, 1)}}),
     "properties.occupants.observed_at", "timezone-required"),
    ("reserved attribute name", building(properties={"type": "x"}), "properties.type", "attribute-reserved"),
    ("bad attribute name", building(properties={"floor area": 1}), "properties.floor area", "attribute-name"),
    ("relationship to malformed id", building(relationships={"containedIn": "parcel-1"}),
     "relationships.containedIn.object", "urn-format"),
    ("relationship to missing entity", building(relationships={"containedIn": "urn:ngsi-ld:Parcel:nope"}),
     "relationships.containedIn.object", "unknown-target"),
    ("unclosed polygon",
     building(geo={"location": {"type": "Polygon", "coordinates": [[[121.9, 30.9], [121.91, 30.9],
                                                                    [121.91, 30.91], [121.9, 30.91]]]}}),
     "geo.location", "ring-unclosed"),
    ("self-intersecting polygon",
     building(geo={"location": {"type": "Polygon", "coordinates": [[[121.9, 30.9], [121.91, 30.91],
                                                                    [121.91, 30.9], [121.9, 30.91],
                                                                    [121.9, 30.9]]]}}),
     "geo.location", "self-intersection"),
    ("longitude out of range", building(geo={"location": {"type": "Point", "coordinates": [190.0, 30.9]}}),
     "geo.location", "longitude-range"),
    ("latitude out of range", building(geo={"location": {"type": "Point", "coordinates": [121.9, -95.0]}}),
     "geo.location", "latitude-range"),
    ("lon/lat swapped", building(geo={"location": {"type": "Point", "coordinates": [30.9, 121.9]}}),
     "geo.location", "lon-lat-swapped"),
    ("unknown geometry type", building(geo={"location": {"type": "Circle", "coordinates": [121.9, 30.9]}}),
     "geo.location", "geojson-type"),
    ("lifecycle contradicts phase",
     building(phase="design", lifecycle=[{"phase": "operation", "since": date(2020, 1, 1)}]), "phase",
     "phase-lifecycle-mismatch"),
    ("unknown phase", building(phase="demolished"), "entity.phase", "literal_error"),
]


@pytest.mark.parametrize(("case", "entity", "field", "rule"), BAD_ENTITIES, ids=[c[0] for c in BAD_ENTITIES])
def test_bad_entity_is_refused_and_nothing_written(twin: Twin, case: str, entity: dict, field: str,
                                                   rule: str) -> None:
    before = snapshot(twin)
    good = building(id="urn:ngsi-ld:Building:good-one")
    with pytest.raises(ValidationError) as err:
        twin.upsert([good, entity])
    assert err.value.index == 1, case
    assert err.value.field.startswith(field), (err.value.field, field)
    assert err.value.rule == rule, err.value.rule
    assert str(err.value)  # a message a person can read
    assert snapshot(twin) == before


def test_geometry_errors_are_geometry_errors(twin: Twin) -> None:
    with pytest.raises(GeometryError):
        twin.upsert([building(geo={"location": {"type": "Point", "coordinates": [30.9, 121.9]}})])


def test_containment_cycle_is_refused(twin: Twin) -> None:
    before = snapshot(twin)
    district = twin.get(DISTRICT).model_dump(exclude={"created_at", "modified_at"})
    district["relationships"] = {"containedIn": {"object": LINGANG_CENTER}}
    with pytest.raises(ValidationError) as err:
        twin.upsert([district])
    assert err.value.rule == "containment-cycle"
    with pytest.raises(ValidationError) as err:
        twin.upsert([building(id="urn:ngsi-ld:Building:a", relationships={"containedIn": "urn:ngsi-ld:Building:b"}),
                     building(id="urn:ngsi-ld:Building:b", relationships={"containedIn": "urn:ngsi-ld:Building:a"})])
    assert err.value.rule == "containment-cycle"
    with pytest.raises(ValidationError) as err:
        twin.patch(ZONE_TSC, relationships={"containedIn": ZONE_TSC})
    assert err.value.rule == "self-reference"
    assert snapshot(twin) == before


def test_duplicate_ids_in_one_batch(twin: Twin) -> None:
    with pytest.raises(ValidationError) as err:
        twin.upsert([building(), building()])
    assert (err.value.rule, err.value.index) == ("id-duplicate", 1)


def reading(**over: Any) -> dict[str, Any]:
    base = {"entity_id": M_ELEC, "attribute": "reading", "observed_at": T0 + timedelta(hours=1), "value": 5.0}
    base.update(over)
    return base


BAD_READINGS = [
    ("NaN", reading(value=math.nan), "value", "finite"),
    ("infinity", reading(value=-math.inf), "value", "finite"),
    ("text value", reading(value="12"), "value", "number"),
    ("boolean value", reading(value=True), "value", "number"),
    ("naive datetime", reading(observed_at=datetime(2024, 1, 1, 1)), "observed_at", "timezone-required"),
    ("naive ISO string", reading(observed_at="2024-01-01T01:00:00"), "observed_at", "timezone-required"),
    ("garbage timestamp", reading(observed_at="yesterday"), "observed_at", "datetime-format"),
    ("malformed entity id", reading(entity_id="meter-1"), "entity_id", "urn-format"),
    ("unknown entity", reading(entity_id="urn:ngsi-ld:Meter:ghost"), "entity_id", "unknown-entity"),
    ("bad attribute name", reading(attribute="re ading"), "attribute", "attribute-name"),
    ("series on a relationship", reading(attribute="containedIn"), "attribute", "attribute-kind"),
    ("unit that does not convert", reading(unit="m3"), "unit", "unit-incompatible"),
    ("unknown unit", reading(unit="bananas"), "unit", "unit-unknown"),
    ("missing value", {k: v for k, v in reading().items() if k != "value"}, "value", "required"),
    ("unknown field", reading(quality="good"), "quality", "unknown-field"),
    ("negative meter reading", reading(value=-3.0), "value", "negative-reading"),
]


def test_negative_values_are_fine_where_they_mean_something(twin: Twin) -> None:
    """Only series declared non-negative refuse values below zero: an outdoor temperature may well be."""
    station = "urn:ngsi-ld:WeatherStation:cold"
    twin.upsert([{"id": station, "type": "WeatherStation", "properties": {"name": "北风站"}}])
    result = twin.append([{"entity_id": station, "attribute": "temperature", "observed_at": T0, "value": -4.5}])
    assert result.inserted == 1


@pytest.mark.parametrize(("case", "row", "field", "rule"), BAD_READINGS, ids=[c[0] for c in BAD_READINGS])
def test_bad_reading_is_refused_and_nothing_written(twin: Twin, case: str, row: dict, field: str,
                                                    rule: str) -> None:
    before = snapshot(twin)
    good = [reading(observed_at=T0 + timedelta(minutes=15 * i), value=float(i)) for i in range(3)]
    with pytest.raises(ValidationError) as err:
        twin.append([*good, row])
    assert (err.value.field, err.value.rule) == (field, rule), case
    assert err.value.index == 3
    assert snapshot(twin) == before


def test_columnar_timestamps_without_time_zone_are_refused(twin: Twin) -> None:
    naive = np.array(["2024-01-01T00:00"], dtype="datetime64[us]")
    with pytest.raises(ValidationError, match="time zone") as err:
        ObservationBatch.from_arrays(M_ELEC, "reading", naive, [1.0])
    assert err.value.rule == "timezone-required"
    with pytest.raises(ValidationError) as err:
        ObservationBatch.from_arrays(M_ELEC, "reading", pa.array(naive), [1.0])
    assert err.value.rule == "timezone-required"
    ts = pa.array(naive, type=pa.timestamp("us", tz="UTC"))
    with pytest.raises(ValidationError) as err:
        ObservationBatch.from_arrays(M_ELEC, "reading", ts, [1.0, 2.0])
    assert err.value.rule == "length"


def test_bad_queries(twin: Twin) -> None:
    with pytest.raises(QuerySyntaxError) as err:
        twin.query(q="floorArea>>3")
    assert err.value.position == 10 and err.value.field == "q"
    with pytest.raises(ValidationError) as err:
        twin.query(types=["Spaceship"])
    assert err.value.rule == "unknown-type"
    with pytest.raises(ValidationError) as err:
        twin.query(id_pattern="([")
    assert err.value.rule == "regex"
    with pytest.raises(ValidationError) as err:
        twin.query(limit=-1)
    assert err.value.field == "limit"
    with pytest.raises(ValidationError) as err:
        twin.query(phases=["demolished"])
    assert err.value.field == "phases"
    with pytest.raises(ValidationError) as err:
        twin.aggregate("reading", entity_id=M_WATER, bucket="fortnight")
    assert err.value.field == "bucket" and "15min, hour, day, week, month, year" in err.value.message
    with pytest.raises(ValidationError) as err:
        twin.aggregate("reading", entity_id=M_WATER, bucket="day", agg="median")
    assert err.value.field == "agg"
    with pytest.raises(ValidationError) as err:
        twin.aggregate("reading", entity_id=M_WATER, bucket="day", start=datetime(2024, 1, 1))
    assert (err.value.field, err.value.rule) == ("start", "timezone-required")
    with pytest.raises(ValidationError) as err:
        twin.aggregate("reading", entity_id=M_WATER, bucket="day", start=T0, end=T0)
    assert err.value.rule == "range-order"
    with pytest.raises(ValidationError) as err:
        twin.aggregate("reading", bucket="day")
    assert err.value.rule == "scope"
    with pytest.raises(NotFoundError):
        twin.aggregate("reading", entity_id="urn:ngsi-ld:Meter:ghost", bucket="day")
    with pytest.raises(ValidationError) as err:
        twin.append([reading()], on_conflict="overwrite")  # type: ignore[arg-type]
    assert err.value.field == "on_conflict"
