"""Tests of lingang_twin.core.geometry: GeoJSON validation, geodesic measures, georel parsing, GeoIndex."""

from __future__ import annotations

import math

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from lingang_twin.core.errors import GeometryError, ValidationError
from lingang_twin.core.geometry import (
    GEOMETRY_TYPES,
    GeoIndex,
    GeoQuery,
    geodesic_area_m2,
    geodesic_distance_m,
    parse_georel,
    to_shape,
    validate_geometry,
)

GEOD = Geod(ellps="WGS84")
LON, LAT = 121.93, 30.90  # Lingang


def fwd(lon: float, lat: float, azimuth: float, distance_m: float) -> list[float]:
    """The position ``distance_m`` [m] from (lon, lat) along ``azimuth`` [degrees], exactly on WGS84."""
    lon2, lat2, _ = GEOD.fwd(lon, lat, azimuth, distance_m)
    return [lon2, lat2]


def point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def square(sw: list[float], side_m: float) -> dict:
    """A closed polygon with south-west corner ``sw`` and sides of ``side_m`` [m] (counter-clockwise)."""
    se = fwd(*sw, 90.0, side_m)
    ne = fwd(*se, 0.0, side_m)
    nw = fwd(*sw, 0.0, side_m)
    return {"type": "Polygon", "coordinates": [[sw, se, ne, nw, sw]]}


def poly(*ring: tuple[float, float]) -> dict:
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}


# ---- validate_geometry: one bad input per rule ------------------------------------------------------

NAN, INF = float("nan"), float("inf")
BOWTIE = [[121.93, 30.90], [121.94, 30.91], [121.94, 30.90], [121.93, 30.91], [121.93, 30.90]]
BOX = [[121.93, 30.90], [121.94, 30.90], [121.94, 30.91], [121.93, 30.91], [121.93, 30.90]]

BAD = [
    ([121.93, 30.90], "geojson-object", "location"),
    ({"type": "Point"}, "geojson-object", "location"),
    ({"coordinates": [121.93, 30.90]}, "geojson-object", "location"),
    ({"type": "Circle", "coordinates": [121.93, 30.90]}, "geojson-type", "location.type"),
    ({"type": "GeometryCollection", "coordinates": []}, "geojson-type", "location.type"),
    ({"type": 7, "coordinates": [121.93, 30.90]}, "geojson-type", "location.type"),
    ({"type": "Point", "coordinates": [121.93]}, "coordinates-shape", "location.coordinates"),
    ({"type": "Point", "coordinates": [121.93, 30.9, 4.0, 1.0]}, "coordinates-shape", "location.coordinates"),
    ({"type": "Point", "coordinates": [121.93, "30.9"]}, "coordinates-shape", "location.coordinates[1]"),
    ({"type": "Point", "coordinates": [True, 30.9]}, "coordinates-shape", "location.coordinates[0]"),
    ({"type": "LineString", "coordinates": [121.93, 30.90]}, "coordinates-shape", "location.coordinates[0]"),
    ({"type": "Polygon", "coordinates": BOX}, "coordinates-shape", "location.coordinates[0][0]"),
    ({"type": "Polygon", "coordinates": []}, "coordinates-shape", "location.coordinates"),
    ({"type": "MultiPoint", "coordinates": []}, "coordinates-shape", "location.coordinates"),
    (
        {"type": "LineString", "coordinates": [[121.93, 30.90], [121.94, 30.91, 5.0]]},
        "coordinates-shape",
        "location.coordinates[1]",
    ),
    ({"type": "Point", "coordinates": [NAN, 30.90]}, "non-finite", "location.coordinates[0]"),
    (
        poly((121.93, 30.90), (121.94, 30.90), (121.94, INF), (121.93, 30.90)),
        "non-finite",
        "location.coordinates[0][2][1]",
    ),
    ({"type": "Point", "coordinates": [30.90, 121.93]}, "lon-lat-swapped", "location.coordinates"),
    (
        {"type": "LineString", "coordinates": [[121.93, 30.90], [30.91, 121.94]]},
        "lon-lat-swapped",
        "location.coordinates[1]",
    ),
    ({"type": "Point", "coordinates": [181.0, 30.90]}, "longitude-range", "location.coordinates"),
    ({"type": "Point", "coordinates": [-200.0, 95.0]}, "longitude-range", "location.coordinates"),
    ({"type": "Point", "coordinates": [121.93, 91.0]}, "latitude-range", "location.coordinates"),
    ({"type": "Point", "coordinates": [10.0, 300.0]}, "latitude-range", "location.coordinates"),
    (
        poly((121.93, 30.90), (121.94, 30.90), (121.93, 30.90)),
        "ring-too-few-points",
        "location.coordinates[0]",
    ),
    (
        {"type": "Polygon", "coordinates": [BOX, [[121.931, 30.901], [121.932, 30.901], [121.931, 30.901]]]},
        "ring-too-few-points",
        "location.coordinates[1]",
    ),
    (
        {"type": "Polygon", "coordinates": [[*BOX[:-1], [121.93, 30.9001]]]},
        "ring-unclosed",
        "location.coordinates[0]",
    ),
    ({"type": "LineString", "coordinates": [[121.93, 30.90]]}, "line-too-few-points", "location.coordinates"),
    (
        {"type": "MultiLineString", "coordinates": [[[121.93, 30.90], [121.94, 30.90]], [[121.93, 30.91]]]},
        "line-too-few-points",
        "location.coordinates[1]",
    ),
    ({"type": "Polygon", "coordinates": [BOWTIE]}, "self-intersection", "location.coordinates"),
    (
        {"type": "MultiPolygon", "coordinates": [[BOX], [BOWTIE]]},
        "self-intersection",
        "location.coordinates[1]",
    ),
    ({"type": "MultiPolygon", "coordinates": [[BOX], [BOX]]}, "self-intersection", "location.coordinates"),
]


@pytest.mark.parametrize(("obj", "rule", "field"), BAD, ids=[f"{r}-{i}" for i, (_, r, _) in enumerate(BAD)])
def test_bad_geometry_names_rule_and_field(obj: object, rule: str, field: str) -> None:
    with pytest.raises(GeometryError) as info:
        validate_geometry(obj)
    assert (info.value.rule, info.value.field) == (rule, field)
    english, chinese = info.value.message.split(" / ", 1)
    assert english.isascii()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese)
    assert isinstance(info.value, ValidationError)  # faces catch the parent class


def test_messages_explain_swap_types_and_validity_reason() -> None:
    with pytest.raises(GeometryError, match=r"coordinates are \[longitude, latitude\].*swapped"):
        validate_geometry(point(30.90, 121.93))
    with pytest.raises(GeometryError) as info:
        validate_geometry({"type": "Circle", "coordinates": [0, 0]})
    assert all(t in info.value.message for t in GEOMETRY_TYPES)
    with pytest.raises(GeometryError, match="Self-intersection"):
        validate_geometry({"type": "Polygon", "coordinates": [BOWTIE]})


def test_field_prefix_is_the_callers() -> None:
    with pytest.raises(GeometryError) as info:
        validate_geometry(point(30.90, 121.93), field="geometry")
    assert info.value.field == "geometry.coordinates"


def test_valid_polygon_in_lingang_is_normalised() -> None:
    building = {
        "type": "Polygon",
        "coordinates": (
            (
                (121.9301, 30.9001),
                (121.9305, 30.9001),
                (121.9305, 30.9004),
                (121.9301, 30.9004),
                (121.9301, 30.9001),
            ),
        ),
        "bbox": [121.9301, 30.9001, 121.9305, 30.9004],
    }
    out = validate_geometry(building)
    assert out == {"type": "Polygon", "coordinates": [[list(p) for p in building["coordinates"][0]]]}
    assert all(type(x) is float for p in out["coordinates"][0] for x in p)
    assert to_shape(out).equals(shapely.Polygon(building["coordinates"][0]))


def test_ints_become_floats_and_3d_is_kept() -> None:
    assert validate_geometry({"type": "Point", "coordinates": [122, 31, 4]}) == {
        "type": "Point",
        "coordinates": [122.0, 31.0, 4.0],
    }


@pytest.mark.parametrize(
    "geometry",
    [
        point(LON, LAT),
        {"type": "MultiPoint", "coordinates": [[LON, LAT], [121.94, 30.91]]},
        {"type": "LineString", "coordinates": [[LON, LAT], [121.94, 30.91]]},
        {
            "type": "MultiLineString",
            "coordinates": [[[LON, LAT], [121.94, 30.91]], [[121.95, 30.9], [121.96, 30.9]]],
        },
        {"type": "Polygon", "coordinates": [BOX]},
        {"type": "MultiPolygon", "coordinates": [[BOX], [[[p[0] + 0.02, p[1]] for p in BOX]]]},
    ],
)
def test_every_type_round_trips_to_shapely(geometry: dict) -> None:
    shape = to_shape(validate_geometry(geometry))
    assert shape.geom_type == geometry["type"]
    assert shape.is_valid


# ---- geodesic measures -------------------------------------------------------------------------------


def test_area_of_1km_square_is_1e6_m2() -> None:
    sq = square([LON, LAT], 1000.0)
    assert geodesic_area_m2(sq) == pytest.approx(1e6, rel=0.01)
    # Clockwise input gives the same positive area.
    clockwise = {"type": "Polygon", "coordinates": [sq["coordinates"][0][::-1]]}
    assert geodesic_area_m2(clockwise) == pytest.approx(geodesic_area_m2(sq), rel=1e-12)


def test_area_subtracts_holes_and_ignores_points() -> None:
    outer = square([LON, LAT], 1000.0)["coordinates"][0]
    hole = square(fwd(*fwd(LON, LAT, 90.0, 250.0), 0.0, 250.0), 500.0)["coordinates"][0]
    with_hole = {"type": "Polygon", "coordinates": [outer, hole]}
    assert geodesic_area_m2(with_hole) == pytest.approx(1e6 - 2.5e5, rel=0.01)
    assert geodesic_area_m2(shapely.Point(LON, LAT)) == 0.0


def test_distance_between_points_1km_apart() -> None:
    a = [LON, LAT]
    b = fwd(LON, LAT, 37.0, 1000.0)
    _, _, expected = GEOD.inv(*a, *b)
    assert geodesic_distance_m(point(*a), point(*b)) == pytest.approx(1000.0, abs=0.5)
    assert geodesic_distance_m(shapely.Point(a), shapely.Point(b)) == pytest.approx(expected, abs=1e-6)


def test_distance_point_to_polygon_edge_and_touching() -> None:
    sq = square([LON, LAT], 200.0)
    east_mid = fwd(*fwd(LON, LAT, 90.0, 200.0), 0.0, 100.0)
    outside = fwd(*east_mid, 90.0, 500.0)
    assert geodesic_distance_m(point(*outside), sq) == pytest.approx(500.0, abs=0.5)
    assert geodesic_distance_m(point(*east_mid), sq) == 0.0
    assert geodesic_distance_m(sq, square(fwd(LON, LAT, 90.0, 200.0), 50.0)) == 0.0


# ---- parse_georel ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("georel", "relation", "max_d", "min_d"),
    [
        ("within", "within", None, None),
        ("intersects", "intersects", None, None),
        ("contains", "contains", None, None),
        ("disjoint", "disjoint", None, None),
        ("equals", "equals", None, None),
        ("overlaps", "overlaps", None, None),
        ("near;maxDistance==2000", "near", 2000.0, None),
        ("near;minDistance==10", "near", None, 10.0),
        ("near;minDistance==10;maxDistance==500", "near", 500.0, 10.0),
        (" near ; maxDistance == 2e3 ", "near", 2000.0, None),
        ("near;maxDistance==0", "near", 0.0, None),
    ],
)
def test_parse_georel_good(georel: str, relation: str, max_d: float | None, min_d: float | None) -> None:
    q = parse_georel(georel, point(LON, LAT))
    assert (q.georel, q.max_distance_m, q.min_distance_m) == (relation, max_d, min_d)
    assert q.geometry == {"type": "Point", "coordinates": [LON, LAT]}


@pytest.mark.parametrize(
    ("georel", "rule"),
    [
        ("nearby", "georel-relation"),
        ("", "georel-relation"),
        ("near", "georel-near-distance"),
        ("near;maxDistance==abc", "georel-distance"),
        ("near;maxDistance==-1", "georel-distance"),
        ("near;maxDistance==nan", "georel-distance"),
        ("near;minDistance==inf", "georel-distance"),
        ("near;minDistance==500;maxDistance==10", "georel-distance-order"),
        ("within;maxDistance==10", "georel-option"),
        ("near;distance==10", "georel-option"),
        ("near;maxDistance=10", "georel-option"),
        ("near;maxDistance==10;maxDistance==20", "georel-option"),
    ],
)
def test_parse_georel_bad(georel: str, rule: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_georel(georel, point(LON, LAT), field="q.georel")
    assert (info.value.rule, info.value.field) == (rule, "q.georel")
    assert " / " in info.value.message


def test_parse_georel_lists_valid_relations_and_checks_geometry() -> None:
    with pytest.raises(
        ValidationError, match="within, intersects, contains, disjoint, equals, overlaps, near"
    ):
        parse_georel("inside", point(LON, LAT))
    with pytest.raises(GeometryError) as info:
        parse_georel("within", point(30.90, 121.93))
    assert (info.value.rule, info.value.field) == ("lon-lat-swapped", "geometry.coordinates")


def test_geoquery_checks_itself() -> None:
    with pytest.raises(ValidationError) as info:
        GeoQuery("near", point(LON, LAT))
    assert info.value.rule == "georel-near-distance"
    with pytest.raises(ValidationError):
        GeoQuery("within", point(LON, LAT), max_distance_m=5.0)


# ---- GeoIndex ----------------------------------------------------------------------------------------


def test_near_finds_290m_not_310m() -> None:
    index = GeoIndex()
    index.put("a:290", point(*fwd(LON, LAT, 45.0, 290.0)))
    index.put("b:310", point(*fwd(LON, LAT, 200.0, 310.0)))
    index.put("c:far", point(*fwd(LON, LAT, 90.0, 5000.0)))
    assert index.query(parse_georel("near;maxDistance==300", point(LON, LAT))) == ["a:290"]
    assert index.query(parse_georel("near;minDistance==300", point(LON, LAT))) == ["b:310", "c:far"]
    assert index.query(parse_georel("near;minDistance==300;maxDistance==1000", point(LON, LAT))) == ["b:310"]


def test_near_with_polygons_uses_edges_not_centroids() -> None:
    index = GeoIndex()
    # Two 100 m buildings east of the query point: edges at 250 m and 350 m, centroids at 300 m and 400 m.
    near_sw = fwd(*fwd(LON, LAT, 90.0, 250.0), 180.0, 50.0)
    far_sw = fwd(*fwd(LON, LAT, 90.0, 350.0), 180.0, 50.0)
    index.put("bldg:near", square(near_sw, 100.0))
    index.put("bldg:far", square(far_sw, 100.0))
    q = parse_georel("near;maxDistance==300", point(LON, LAT))
    assert index.query(q) == ["bldg:near"]
    # A polygon query goes through the projected path; distances agree with geodesic_distance_m.
    # 200 m square whose east edge runs through the query point, so the edge distances stay 250 / 350 m.
    area = square(fwd(*fwd(LON, LAT, 270.0, 200.0), 180.0, 100.0), 200.0)
    d_near = geodesic_distance_m(area, square(near_sw, 100.0))
    d_far = geodesic_distance_m(area, square(far_sw, 100.0))
    assert d_near == pytest.approx(250.0, abs=0.5) and d_far == pytest.approx(350.0, abs=0.5)
    assert index.query(parse_georel("near;maxDistance==300", area)) == ["bldg:near"]
    assert index.query(parse_georel("near;maxDistance==351", area)) == ["bldg:far", "bldg:near"]


@pytest.fixture
def layout() -> tuple[GeoIndex, dict]:
    """A 1 km district D and entities placed around it (all positions in metres from D's SW corner)."""
    sw = [LON, LAT]

    def at(east_m: float, north_m: float) -> list[float]:
        return fwd(*fwd(*sw, 90.0, east_m), 0.0, north_m)

    district = square(sw, 1000.0)
    index = GeoIndex()
    index.put_many(
        [
            ("p-in", point(*at(500.0, 500.0))),
            ("p-out", point(*at(1500.0, 500.0))),
            ("b-in", square(at(100.0, 100.0), 50.0)),
            ("b-edge", square(at(980.0, 300.0), 50.0)),  # straddles D's east edge
            ("zone", square(at(-100.0, -100.0), 1200.0)),  # contains D
            ("same", district),
        ]
    )
    return index, district


@pytest.mark.parametrize(
    ("georel", "expected"),
    [
        ("within", ["b-in", "p-in", "same"]),
        ("intersects", ["b-edge", "b-in", "p-in", "same", "zone"]),
        ("contains", ["same", "zone"]),
        ("disjoint", ["p-out"]),
        ("equals", ["same"]),
        ("overlaps", ["b-edge"]),
    ],
)
def test_relations_on_a_small_layout(layout: tuple[GeoIndex, dict], georel: str, expected: list[str]) -> None:
    index, district = layout
    assert index.query(parse_georel(georel, district)) == expected


def test_remove_and_move(layout: tuple[GeoIndex, dict]) -> None:
    index, district = layout
    within = parse_georel("within", district)
    assert len(index) == 6
    index.remove("p-in")
    index.remove("no-such-entity")  # idempotent: stores may remove entities that never had a location
    assert len(index) == 5 and "p-in" not in index
    assert index.query(within) == ["b-in", "same"]
    assert "p-in" not in index.query(parse_georel("disjoint", district))
    # Moving p-out into D replaces its geometry.
    index.put("p-out", point(*fwd(*fwd(LON, LAT, 90.0, 10.0), 0.0, 10.0)))
    assert index.query(within) == ["b-in", "p-out", "same"]


def test_empty_index_and_bad_put_many() -> None:
    index = GeoIndex()
    assert index.query(parse_georel("within", {"type": "Polygon", "coordinates": [BOX]})) == []
    with pytest.raises(GeometryError) as info:
        index.put_many([("ok", point(LON, LAT)), ("bad", point(LAT, LON))])
    assert (info.value.index, info.value.rule) == (1, "lon-lat-swapped")
    assert len(index) == 0  # all or nothing


# ---- property: near == brute force Geod.inv ----------------------------------------------------------

TOLERANCE_M = 0.01
offsets = st.floats(min_value=-0.02, max_value=0.02, allow_nan=False)  # ±0.02° ≈ ±2 km
positions = st.tuples(offsets, offsets).map(lambda d: (LON + d[0], LAT + d[1]))


def _brute_near(pts: list[tuple[float, float]], sources: list[tuple[float, float]], max_d: float) -> tuple:
    """Ids within ``max_d`` of the nearest source by Geod.inv, and ids too close to the threshold to judge."""
    inside, borderline = set(), set()
    for i, (lon, lat) in enumerate(pts):
        d = min(GEOD.inv(slon, slat, lon, lat)[2] for slon, slat in sources)
        if abs(d - max_d) <= TOLERANCE_M:
            borderline.add(f"e{i:03d}")
        elif d <= max_d:
            inside.add(f"e{i:03d}")
    return inside, borderline


@settings(max_examples=60, deadline=None)
@given(
    pts=st.lists(positions, min_size=1, max_size=40),
    centre=positions,
    max_d=st.floats(min_value=0.0, max_value=3000.0, allow_nan=False),
)
def test_near_matches_brute_force_geod(
    pts: list[tuple[float, float]], centre: tuple[float, float], max_d: float
) -> None:
    index = GeoIndex()
    index.put_many((f"e{i:03d}", point(*p)) for i, p in enumerate(pts))
    got = set(index.query(GeoQuery("near", point(*centre), max_distance_m=max_d)))
    inside, borderline = _brute_near(pts, [centre], max_d)
    assert got - borderline == inside


@settings(max_examples=40, deadline=None)
@given(
    pts=st.lists(positions, min_size=1, max_size=30),
    sources=st.lists(positions, min_size=1, max_size=3),
    max_d=st.floats(min_value=0.0, max_value=3000.0, allow_nan=False),
)
def test_near_projected_path_matches_brute_force_geod(
    pts: list[tuple[float, float]], sources: list[tuple[float, float]], max_d: float
) -> None:
    # A MultiPoint query is measured in the AEQD projection rather than with Geod.inv: check that path too.
    index = GeoIndex()
    index.put_many((f"e{i:03d}", point(*p)) for i, p in enumerate(pts))
    query = {"type": "MultiPoint", "coordinates": [list(s) for s in sources]}
    got = set(index.query(GeoQuery("near", validate_geometry(query), max_distance_m=max_d)))
    inside, borderline = _brute_near(pts, sources, max_d)
    assert got - borderline == inside


def test_margin_box_is_generous_at_high_latitude() -> None:
    # The prefilter must not drop an entity the exact distance would keep, even far from Lingang.
    index = GeoIndex()
    index.put("north", point(*fwd(10.0, 69.5, 90.0, 999.0)))
    assert index.query(GeoQuery("near", point(10.0, 69.5), max_distance_m=1000.0)) == ["north"]
    assert math.isclose(geodesic_distance_m(point(10.0, 69.5), point(*fwd(10.0, 69.5, 90.0, 999.0))), 999.0)
