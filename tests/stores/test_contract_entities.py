"""Store contract: entities, relationships, lifecycle, queries. Runs against every store in STORE_FACTORIES."""

from __future__ import annotations

from datetime import UTC, date

import pytest

from lingang_fixtures import (
    DISTRICT,
    HQ_TOWER,
    JOINT_LAB,
    LINGANG_CENTER,
    M_ELEC,
    M_ELEC_SUB,
    M_H2,
    M_WATER,
    PARCEL,
    ZONE_HQ,
    ZONE_TSC,
    lingang_layout,
)
from lingang_twin.core.errors import ConflictError, NotFoundError, ValidationError
from lingang_twin.core.geometry import parse_georel
from lingang_twin.core.twin import Twin


def test_roundtrip_keeps_every_kind_of_attribute(lingang: Twin) -> None:
    lc = lingang.get(LINGANG_CENTER)
    assert lc.type == "Building"
    assert lc.value("name") == "临港中心"
    assert lc.properties["floorArea"].value == 120000 and lc.properties["floorArea"].unit == "m2"
    assert lc.value("tags") == ["venue", "hotel"]
    assert lc.target("containedIn") == PARCEL
    assert lc.location is not None and lc.location["type"] == "Polygon"
    assert lc.phase == "operation"
    assert [(c.phase, c.since) for c in lc.lifecycle] == [("operation", date(2022, 10, 1))]
    assert lc.created_at is not None and lc.modified_at is not None
    ngsi = lc.to_ngsi_ld()
    assert ngsi["floorArea"] == {"type": "Property", "value": 120000.0, "unitCode": "m2"}
    assert ngsi["containedIn"] == {"type": "Relationship", "object": PARCEL}


def test_units_are_converted_to_the_declared_unit(twin: Twin) -> None:
    twin.upsert([{"id": "urn:ngsi-ld:Building:b", "type": "Building",
                  "properties": {"floorArea": (2.5, "km2"), "height": (3000, "cm")}}])
    b = twin.get("urn:ngsi-ld:Building:b")
    assert b.properties["floorArea"].value == pytest.approx(2_500_000)
    assert b.properties["floorArea"].unit == "m2"
    assert b.properties["height"].value == pytest.approx(30.0)


def test_upsert_replaces_and_keeps_created_at(lingang: Twin) -> None:
    before = lingang.get(JOINT_LAB)
    lingang.patch(JOINT_LAB, properties={"occupants": 800}, remove=["height"])
    after = lingang.get(JOINT_LAB)
    assert after.value("occupants") == 800
    assert "height" not in after.properties
    assert after.created_at == before.created_at
    assert after.modified_at is not None and before.modified_at is not None
    assert after.modified_at >= before.modified_at


def test_create_refuses_an_existing_id(lingang: Twin) -> None:
    with pytest.raises(ConflictError):
        lingang.create({"id": DISTRICT, "type": "District"})


def test_get_unknown_is_not_found(twin: Twin) -> None:
    with pytest.raises(NotFoundError):
        twin.get("urn:ngsi-ld:Building:nowhere")


def test_delete_refuses_while_referenced_then_deletes(lingang: Twin) -> None:
    with pytest.raises(ConflictError, match="referenced"):
        lingang.delete(HQ_TOWER)
    lingang.delete(M_H2)
    lingang.delete(HQ_TOWER)
    with pytest.raises(NotFoundError):
        lingang.get(HQ_TOWER)
    assert lingang.store.count_entities() == len(lingang_layout()) - 2


def test_lifecycle_history_and_as_of(lingang: Twin) -> None:
    lingang.set_phase(HQ_TOWER, "operation", date(2026, 3, 1))
    tower = lingang.get(HQ_TOWER)
    assert [(c.phase, c.since) for c in tower.lifecycle] == [
        ("construction", date(2024, 5, 1)), ("operation", date(2026, 3, 1))]
    assert tower.phase == "operation"
    assert tower.phase_on(date(2025, 1, 1)) == "construction"

    def phases_on(day: date) -> dict[str, str]:
        page = lingang.query(types=["Building"], as_of=day)
        return {e.id: e.phase for e in page.entities}

    assert phases_on(date(2020, 1, 1)) == {}
    assert phases_on(date(2021, 6, 1)) == {JOINT_LAB: "design"}
    assert phases_on(date(2023, 1, 1)) == {JOINT_LAB: "construction", LINGANG_CENTER: "operation"}
    assert phases_on(date(2025, 1, 1)) == {JOINT_LAB: "operation", LINGANG_CENTER: "operation",
                                           HQ_TOWER: "construction"}
    assert phases_on(date(2026, 6, 1))[HQ_TOWER] == "operation"
    # Phase filters apply to the phase on that date.
    page = lingang.query(types=["Building"], as_of=date(2025, 1, 1), phases=["construction"])
    assert [e.id for e in page.entities] == [HQ_TOWER]


def test_phase_change_through_upsert_is_recorded(lingang: Twin) -> None:
    data = lingang.get(HQ_TOWER).model_dump(exclude={"lifecycle", "created_at", "modified_at"})
    data["phase"] = "operation"
    data["phase_since"] = date(2026, 9, 1)
    lingang.upsert([data])
    assert [c.phase for c in lingang.get(HQ_TOWER).lifecycle] == ["construction", "operation"]


def test_query_by_type_and_id_pattern(lingang: Twin) -> None:
    page = lingang.query(types=["Meter"])
    assert page.total == 4
    assert [e.id for e in page.entities] == sorted([M_ELEC, M_ELEC_SUB, M_WATER, M_H2])
    assert lingang.query(id_pattern=r"^urn:ngsi-ld:Meter:lc-").total == 3
    assert lingang.query(types=["Building", "Zone"]).total == 5


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ('use=="lab"', {JOINT_LAB}),
        ("floorArea>50000", {LINGANG_CENTER, JOINT_LAB}),
        ("floorArea>=100000;height<40", {JOINT_LAB}),
        ("floorArea==40000..110000", {JOINT_LAB, HQ_TOWER}),
        ('use=="lab","office"', {JOINT_LAB, HQ_TOWER}),
        ('use!="lab"', {LINGANG_CENTER, HQ_TOWER}),
        ('name~="^国际"', {JOINT_LAB}),
        ('(use=="lab"|use=="office");height>100', {HQ_TOWER}),
        ('use=="lab"|use=="office";height>100', {JOINT_LAB, HQ_TOWER}),
        ('tags=="hotel"', {LINGANG_CENTER}),
        ("occupants", set()),
        ("!occupants", {LINGANG_CENTER, JOINT_LAB, HQ_TOWER}),
        ('!tags;use!="office"', {JOINT_LAB}),
        ("height", {LINGANG_CENTER, JOINT_LAB, HQ_TOWER}),
        (f'containedIn=="{PARCEL}"', {LINGANG_CENTER, JOINT_LAB}),
        ('floorArea.unit=="m2";floorArea<100000', {HQ_TOWER}),
        ('use>5', set()),  # a string never compares with a number
    ],
)
def test_q_filters(lingang: Twin, q: str, expected: set[str]) -> None:
    page = lingang.query(types=["Building"], q=q)
    assert {e.id for e in page.entities} == expected
    assert page.total == len(expected)


def test_relationship_traversal_finds_meters_anywhere_under(lingang: Twin) -> None:
    under_district = lingang.query(types=["Meter"], under=DISTRICT)
    assert {e.id for e in under_district.entities} == {M_ELEC, M_ELEC_SUB, M_WATER, M_H2}
    under_tsc = lingang.query(types=["Meter"], under=ZONE_TSC)
    assert {e.id for e in under_tsc.entities} == {M_ELEC, M_ELEC_SUB, M_WATER}
    assert lingang.query(under=ZONE_HQ).total == 2  # the tower and its meter
    subs = lingang.query(related=("submeterOf", M_ELEC))
    assert [e.id for e in subs.entities] == [M_ELEC_SUB]
    assert lingang.store.ancestors(M_ELEC) == [LINGANG_CENTER, PARCEL, ZONE_TSC, DISTRICT]


def test_ordering_and_pagination_with_total(lingang: Twin) -> None:
    page = lingang.query(types=["Building"], order_by=["-floorArea"], limit=2)
    assert [e.id for e in page.entities] == [LINGANG_CENTER, JOINT_LAB]
    assert page.total == 3
    page2 = lingang.query(types=["Building"], order_by=["-floorArea"], limit=2, offset=2)
    assert [e.id for e in page2.entities] == [HQ_TOWER]
    assert page2.total == 3
    empty = lingang.query(types=["Building"], limit=2, offset=10)
    assert empty.entities == [] and empty.total == 3
    by_height = lingang.query(types=["Building"], order_by=["height"])
    assert [e.id for e in by_height.entities] == [JOINT_LAB, LINGANG_CENTER, HQ_TOWER]


def test_geo_queries_in_metres(lingang: Twin) -> None:
    area = {"type": "Polygon", "coordinates": [[[121.925, 30.897], [121.94, 30.897], [121.94, 30.905],
                                                [121.925, 30.905], [121.925, 30.897]]]}
    within = lingang.query(geo=parse_georel("within", area))
    assert {e.id for e in within.entities} == {LINGANG_CENTER, JOINT_LAB}
    # Lingang Center's footprint edge is ~48 m east of its centre; a point 200 m east is ~150 m from the edge.
    east = {"type": "Point", "coordinates": [121.930 + 200 / (111_320 * 0.8581), 30.900]}
    near = lingang.query(geo=parse_georel("near;maxDistance==160", east))
    assert {e.id for e in near.entities} == {LINGANG_CENTER}
    assert lingang.query(geo=parse_georel("near;maxDistance==140", east)).total == 0
    hits = lingang.query(geo=parse_georel("intersects", {"type": "Point", "coordinates": [121.9361, 30.9021]}))
    assert [e.id for e in hits.entities] == [JOINT_LAB]
    # geo combines with other filters
    assert lingang.query(geo=parse_georel("within", area), q='use=="lab"').total == 1


def test_geo_index_follows_writes(lingang: Twin) -> None:
    area = {"type": "Polygon", "coordinates": [[[121.915, 30.89], [121.925, 30.89], [121.925, 30.90],
                                                [121.915, 30.90], [121.915, 30.89]]]}
    assert [e.id for e in lingang.query(geo=parse_georel("within", area)).entities] == [HQ_TOWER]
    moved = {"type": "Point", "coordinates": [121.95, 30.91]}
    lingang.patch(HQ_TOWER, geo={"location": moved})
    assert lingang.query(geo=parse_georel("within", area)).total == 0


def test_batch_is_all_or_nothing(twin: Twin) -> None:
    layout = lingang_layout()
    layout[5]["properties"]["height"] = (-3, "m")  # the joint lab, item 5
    with pytest.raises(ValidationError) as err:
        twin.upsert(layout)
    assert err.value.index == 5 and err.value.field == "properties.height"
    assert twin.store.count_entities() == 0


def test_change_feed_records_writes(lingang: Twin) -> None:
    changes = lingang.changes(0)
    assert len(changes) == len(lingang_layout())
    assert {c.op for c in changes} == {"create"}
    last = changes[-1].seq
    lingang.patch(JOINT_LAB, properties={"occupants": 10})
    lingang.delete(M_H2)
    newer = lingang.changes(last)
    assert [(c.entity_id, c.op) for c in newer] == [(JOINT_LAB, "update"), (M_H2, "delete")]


def test_upsert_each_stores_the_good_and_reports_the_bad(twin: Twin) -> None:
    layout = lingang_layout()
    layout[3]["properties"]["area"] = (-1, "m2")  # the parcel fails its model …
    layout.append({"id": "urn:ngsi-ld:Building:ok", "type": "Building", "relationships": {"containedIn": DISTRICT}})
    layout.append({"id": "urn:ngsi-ld:Building:ok", "type": "Building"})  # duplicate id
    results = twin.upsert_each(layout)
    failed = {r.index: r.error.rule for r in results if not r.stored and r.error is not None}
    # … and so do both buildings in it, and the meters in those buildings (cascade).
    assert failed == {3: "greater_than", 4: "unknown-target", 5: "unknown-target", 7: "unknown-target",
                      8: "unknown-target", 9: "unknown-target", 12: "id-duplicate"}
    stored = {r.id for r in results if r.stored}
    assert stored == {DISTRICT, ZONE_TSC, ZONE_HQ, HQ_TOWER, M_H2, "urn:ngsi-ld:Building:ok"}
    assert twin.store.count_entities() == 6


def test_count_only_and_reopened_store_answers_geo(lingang: Twin) -> None:
    assert lingang.query(types=["Building"], limit=0).total == 3
    assert lingang.query(types=["Building"], limit=0).entities == []
    # A fresh index built from what the store holds gives the same answers as the one kept up to date by writes.
    area = {"type": "Polygon", "coordinates": [[[121.925, 30.897], [121.94, 30.897], [121.94, 30.905],
                                                [121.925, 30.905], [121.925, 30.897]]]}
    before = {e.id for e in lingang.query(geo=parse_georel("within", area)).entities}
    lingang.store._geo.reset()  # what a reopened store starts with
    assert {e.id for e in lingang.query(geo=parse_georel("within", area)).entities} == before == {
        LINGANG_CENTER, JOINT_LAB}


def test_reopen_then_append_first(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from lingang_twin.stores.duckdb_store import DuckDBStore

    path = tmp_path / "reopen.duckdb"
    with Twin(DuckDBStore(path)) as twin:
        twin.upsert(lingang_layout())
    with Twin(DuckDBStore(path)) as twin:  # the very first call on a reopened file is a write
        from datetime import datetime

        r = twin.append([{"entity_id": M_WATER, "attribute": "reading",
                          "observed_at": datetime(2024, 1, 1, tzinfo=UTC), "value": 1.0}])
        assert r.inserted == 1


def test_pages_show_writes_at_once(lingang: Twin) -> None:
    first = lingang.query(types=["Building"], q='use=="lab"').entities[0]
    assert first.value("occupants") is None
    lingang.patch(JOINT_LAB, properties={"occupants": 640})
    again = lingang.query(types=["Building"], q='use=="lab"').entities[0]
    assert again.value("occupants") == 640 and lingang.get(JOINT_LAB).value("occupants") == 640
    lingang.delete(M_H2)
    assert M_H2 not in {e.id for e in lingang.query(types=["Meter"]).entities}
