"""The Lingang IICZ demo layout: what is in it, where it is, that it is deterministic and that a twin accepts it."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import shapely
from demo_fixtures import DemoTwin

from lingang_twin.core.geometry import geodesic_area_m2, geodesic_distance_m, to_shape
from lingang_twin.demo import DEMO_DISTRICT_ID, build_layout, plan_layout
from lingang_twin.demo.layout import LAKE_CENTRE, LAKE_RADIUS_M, ZONE_IDS

ALL_TYPES = {"District", "Zone", "Parcel", "Road", "Building", "Meter", "OffStreetParking", "ParkingSpot",
             "Vehicle", "TransitRoute", "TransitStop", "EVChargingStation", "HydrogenStation", "WeatherStation",
             "Space", "Enterprise"}
LAYOUT = build_layout(2022)
BY_ID = {e["id"]: e for e in LAYOUT}


def of_type(t: str) -> list[dict[str, Any]]:
    return [e for e in LAYOUT if e["type"] == t]


def phase(e: dict[str, Any]) -> str:
    return e["lifecycle"][-1]["phase"] if "lifecycle" in e else e["phase"]


def test_every_type_present_and_counts_as_planned() -> None:
    counts = Counter(e["type"] for e in LAYOUT)
    assert set(counts) == ALL_TYPES
    assert counts["Building"] >= 150
    assert 800 <= counts["Meter"] <= 1200
    assert 20 <= counts["Parcel"] <= 99
    assert counts["Zone"] == 3 and counts["District"] == 1
    assert 200 <= counts["ParkingSpot"] <= 500
    assert 4 <= counts["Vehicle"] <= 6
    assert counts["HydrogenStation"] == 1 and counts["WeatherStation"] == 1
    assert counts["Space"] == 16 and counts["Enterprise"] == 19  # the incubator's latest batch + 3 whole buildings


def test_tenants_lease_what_exists_and_fit_in_their_buildings() -> None:
    cube = BY_ID["urn:ngsi-ld:Building:innovation-magic-cube"]
    suites = [e for e in of_type("Space") if e["relationships"]["containedIn"] == cube["id"]]
    leased = sum(e["properties"]["floorArea"][0] for e in suites)
    assert 0.5 * cube["properties"]["floorArea"][0] < leased < 0.75 * cube["properties"]["floorArea"][0]
    for e in of_type("Enterprise"):
        target = BY_ID[e["relationships"]["occupies"]]
        assert target["type"] in ("Space", "Building")


def test_named_buildings_and_the_programme_of_the_top_scientists_community() -> None:
    buildings = of_type("Building")
    uses = Counter(b["properties"]["use"] for b in buildings)
    assert uses["school"] == 9
    assert uses["community_centre"] == 2
    assert uses["health_centre"] == 1
    names = {b["properties"]["nameEn"]: b for b in buildings}
    center = names["Lingang Center"]
    assert center["properties"]["name"] == "临港中心"
    assert {"conference", "hotel", "library", "theatre"} <= set(center["properties"]["functions"])
    lab = names["International Joint Laboratory"]
    assert lab["properties"]["floorArea"] == (100_000, "m2") and lab["properties"]["name"] == "国际联合实验室"
    assert "Möbius Park" in names and "Innovation Magic Cube" in names
    assert uses["residential"] >= 20 and uses["retail"] >= 3 and uses["lab"] >= 5 and uses["tech_platform"] >= 3
    assert sum(1 for b in buildings if "HQ Bay Tower" in b["properties"]["nameEn"]) >= 20


def test_lifecycles_are_dated_histories_2019_to_2026_with_some_not_yet_built() -> None:
    phases = Counter(phase(b) for b in of_type("Building"))
    assert phases["design"] >= 2 and phases["construction"] >= 5 and phases["operation"] >= 100
    order = ["planned", "design", "construction", "operation"]
    for b in of_type("Building"):
        steps = b["lifecycle"]
        dates = [s["since"] for s in steps]
        assert dates == sorted(dates) and len(set(dates)) == len(dates)
        assert [s["phase"] for s in steps] == order[:len(steps)]
        assert date(2019, 1, 1) <= dates[0] and dates[-1] <= date(2026, 12, 31)


def test_meters_cover_five_carriers_only_in_operating_buildings() -> None:
    meters = of_type("Meter")
    units = {(m["properties"]["carrier"], m["properties"]["unit"]) for m in meters}
    assert units == {("electricity", "kWh"), ("water", "m3"), ("natural_gas", "m3"), ("diesel", "L"),
                     ("hydrogen", "kg")}
    registers = Counter(m["properties"]["register"] for m in meters)
    assert registers["interval"] > 100 and registers["cumulative"] > 100
    subs = 0
    for m in meters:
        parent = BY_ID[m["relationships"]["containedIn"]]
        if m["properties"]["carrier"] == "hydrogen":
            assert parent["type"] == "HydrogenStation"
        else:
            assert parent["type"] == "Building" and phase(parent) == "operation"
        if m["properties"]["register"] == "cumulative":
            assert m["properties"]["registerMax"] > 0
        main = m["relationships"].get("submeterOf")
        if main is not None:
            subs += 1
            assert BY_ID[main]["properties"]["carrier"] == m["properties"]["carrier"]
            assert BY_ID[main]["relationships"]["containedIn"] == m["relationships"]["containedIn"]
    assert subs > 300
    with_meters = {m["relationships"]["containedIn"] for m in meters}
    assert all(phase(b) == "operation" for b in of_type("Building") if b["id"] in with_meters)
    assert all(b["id"] in with_meters for b in of_type("Building") if phase(b) == "operation")


def test_zones_total_6_9_km2_beside_dishui_lake_on_land() -> None:
    zones = of_type("Zone")
    assert {z["id"] for z in zones} == set(ZONE_IDS.values())
    assert {z["properties"]["name"] for z in zones} == {"科创总部湾", "顶尖科学家社区", "科技城"}
    total = sum(geodesic_area_m2(z["geo"]["location"]) for z in zones) / 1e6
    assert abs(total - 6.9) / 6.9 < 0.05
    lake = {"type": "Point", "coordinates": list(LAKE_CENTRE)}
    for z in zones:
        assert geodesic_distance_m(z["geo"]["location"], lake) > LAKE_RADIUS_M  # dry feet
        centroid = to_shape(z["geo"]["location"]).centroid
        assert centroid.x < LAKE_CENTRE[0] + 0.005 and centroid.y > LAKE_CENTRE[1] - 0.005  # north-west side
    district = BY_ID[DEMO_DISTRICT_ID]
    assert "illustrative" in district["properties"]["geometryNote"] and "示意" in district["properties"]["geometryNote"]


def test_footprints_valid_disjoint_and_inside_their_parcels_and_zones() -> None:
    buildings = of_type("Building")
    shapes = [to_shape(b["geo"]["location"]) for b in buildings]
    assert all(s.is_valid and s.geom_type == "Polygon" for s in shapes)
    tree = shapely.STRtree(shapes)
    a, b = tree.query(shapes, predicate="intersects")
    assert (a == b).all(), "two footprints overlap"
    for building, shape in zip(buildings, shapes, strict=True):
        parcel = BY_ID[building["relationships"]["containedIn"]]
        assert parcel["type"] == "Parcel"
        assert to_shape(parcel["geo"]["location"]).buffer(1e-7).contains(shape)
        zone = BY_ID[parcel["relationships"]["containedIn"]]
        assert to_shape(zone["geo"]["location"]).buffer(1e-7).contains(shape)
        assert building["properties"]["height"][0] > 0 and building["properties"]["floors"] >= 1


def test_roads_route_and_shuttles() -> None:
    roads = of_type("Road")
    assert len(roads) >= 8
    for r in roads:
        assert r["geo"]["location"]["type"] == "LineString"
        assert r["properties"]["totalLaneNumber"] >= 2 and r["properties"]["maximumAllowedSpeed"][1] == "km/h"
    route = of_type("TransitRoute")[0]
    assert route["geo"]["location"]["type"] == "LineString"
    assert all(s["relationships"]["onRoute"] == route["id"] for s in of_type("TransitStop"))
    vehicles = of_type("Vehicle")
    assert all(v["relationships"]["servesRoute"] == route["id"] for v in vehicles)
    assert all(v["properties"]["vehicleType"] == "minibus" and "autonomous" in v["properties"]["category"]
               for v in vehicles)


def test_parents_come_before_children() -> None:
    seen: set[str] = set()
    for e in LAYOUT:
        for rel in e.get("relationships", {}).values():
            for target in [rel] if isinstance(rel, str) else rel:
                assert target in seen, f"{e['id']} refers to {target} before it is defined"
        seen.add(e["id"])


def test_deterministic_from_the_seed() -> None:
    assert build_layout(2022) == LAYOUT
    other = {e["id"]: e for e in build_layout(7)}
    assert set(other) != set(BY_ID) or list(other.values()) != LAYOUT
    housing = "urn:ngsi-ld:Building:tsc-housing-01"
    assert other[housing]["geo"] != BY_ID[housing]["geo"]  # same programme, placed elsewhere
    assert plan_layout(2022).seed == 2022


def test_layout_upserts_into_a_duckdb_twin(demo: DemoTwin) -> None:
    twin = demo.twin
    assert demo.report.entities == len(LAYOUT) and demo.report.entities_written == len(LAYOUT)
    for t in ALL_TYPES:
        assert twin.query(types=[t], limit=1).total == sum(1 for e in LAYOUT if e["type"] == t), t
    assert twin.query(types=["Meter"], under=DEMO_DISTRICT_ID, limit=1).total == len(of_type("Meter"))
    lab = twin.get("urn:ngsi-ld:Building:international-joint-lab")
    assert lab.phase == "operation" and lab.phase_on(date(2022, 1, 1)) == "construction"
    assert twin.query(types=["Building"], as_of=date(2020, 1, 1), limit=1).total < len(of_type("Building"))
