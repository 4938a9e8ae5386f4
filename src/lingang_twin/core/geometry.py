"""GeoJSON geometry: validation, geodesic measures in metres, and an in-memory spatial index.

Entities carry GeoJSON geometries in longitude/latitude degrees (WGS84; CGCS2000 differs from it by
centimetres, which is below anything the twin measures, so both are treated as the same datum). Geo
queries are answered in real metres, never in degrees:

* areas and point-to-point distances are exact on the WGS84 ellipsoid (``pyproj.Geod``);
* distances that involve lines or polygons are measured in an azimuthal equidistant (AEQD) projection
  centred on the geometries concerned. Over district-sized extents (a few km) its distortion is well
  below a millimetre.

:class:`GeoIndex` answers NGSI-LD ``georel`` queries (:func:`parse_georel`) over many entities with a
``shapely.STRtree`` and vectorised shapely 2 functions.

Geometries that cross the antimeridian are not supported (Lingang sits at about 121.93 °E, 30.90 °N).
"""

from __future__ import annotations

import functools
import math
import numbers
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from pyproj import Geod, Transformer

from lingang_twin.core.errors import GeometryError, ValidationError

__all__ = [
    "GEOMETRY_TYPES",
    "GEORELS",
    "GeoIndex",
    "GeoQuery",
    "geodesic_area_m2",
    "geodesic_distance_m",
    "parse_georel",
    "to_shape",
    "validate_geometry",
]

GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
GEORELS = ("within", "intersects", "contains", "disjoint", "equals", "overlaps", "near")

_GEOD = Geod(ellps="WGS84")

# Array nesting below "coordinates" for each type: 0 = a position, 1 = an array of positions, ...
_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}

# Transformer centres are rounded to this many decimals of a degree (about 100 m) so that queries over
# the same neighbourhood share one cached Transformer; the distortion an off-centre AEQD adds within a few
# km of its centre is far below a millimetre.
_CENTRE_DECIMALS = 3

# Metres per degree used to turn a distance into a bounding-box margin. Both are lower bounds of the true
# values on WGS84 (latitude: 110 574 m at the equator; longitude: 111 319 m × cos φ or more), so dividing
# by them over-estimates the margin, which is what a prefilter needs.
_M_PER_DEG_LAT_MIN = 110_000.0
_M_PER_DEG_LON_EQUATOR_MIN = 111_000.0


def _err(field: str, rule: str, english: str, chinese: str, value: Any = None) -> GeometryError:
    return GeometryError(field, rule, f"{english} / {chinese}", value=value)


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------


def validate_geometry(obj: object, field: str = "location") -> dict:
    """Check a GeoJSON geometry object and return it normalised.

    The result is a plain ``{"type": ..., "coordinates": ...}`` dict whose positions are lists of floats
    ``[lon, lat]`` or ``[lon, lat, alt]`` [degrees, degrees, m]; other members (``bbox``, foreign
    members) are dropped. Tuples are accepted where GeoJSON has arrays.

    Raises :class:`GeometryError` whose ``field`` points at the offending part (for example
    ``location.coordinates[0][3]`` for the fourth position of a polygon's exterior ring) and whose
    ``rule`` is one of ``geojson-object``, ``geojson-type``, ``coordinates-shape``, ``non-finite``,
    ``lon-lat-swapped``, ``longitude-range``, ``latitude-range``, ``ring-too-few-points``,
    ``ring-unclosed``, ``line-too-few-points``, ``self-intersection``.
    """
    normalised, _ = _validate(obj, field)
    return normalised


def _validate(obj: object, field: str) -> tuple[dict, shapely.Geometry]:
    """Validate ``obj``; also return the shapely geometry, which polygon checks have to build anyway."""
    if not isinstance(obj, dict) or "type" not in obj or "coordinates" not in obj:
        raise _err(
            field,
            "geojson-object",
            'a GeoJSON geometry must be an object with "type" and "coordinates"',
            '几何必须是包含 "type" 和 "coordinates" 的 GeoJSON 对象',
            value=obj,
        )
    gtype = obj["type"]
    if not isinstance(gtype, str) or gtype not in _DEPTH:
        supported = ", ".join(GEOMETRY_TYPES)
        raise _err(
            f"{field}.type",
            "geojson-type",
            f"unsupported geometry type {gtype!r}; supported: {supported}",
            f"不支持的几何类型 {gtype!r}；支持：{supported}",
            value=gtype,
        )
    checker = _Checker(f"{field}.coordinates")
    coords = checker.nested(obj["coordinates"], _DEPTH[gtype], checker.base)

    if gtype == "Point":
        shape: shapely.Geometry = shapely.Point(coords)
    elif gtype == "MultiPoint":
        checker.non_empty(
            coords, checker.base, "a MultiPoint needs at least one position", "多点至少需要一个位置"
        )
        shape = shapely.MultiPoint(coords)
    elif gtype == "LineString":
        checker.line(coords, checker.base)
        shape = shapely.LineString(coords)
    elif gtype == "MultiLineString":
        checker.non_empty(
            coords, checker.base, "a MultiLineString needs at least one line", "多线至少需要一条线"
        )
        for i, line in enumerate(coords):
            checker.line(line, f"{checker.base}[{i}]")
        shape = shapely.MultiLineString(coords)
    elif gtype == "Polygon":
        shape = checker.polygon(coords, checker.base)
    else:  # MultiPolygon
        checker.non_empty(
            coords, checker.base, "a MultiPolygon needs at least one polygon", "多面至少需要一个面"
        )
        parts = [checker.polygon(poly, f"{checker.base}[{i}]") for i, poly in enumerate(coords)]
        shape = shapely.MultiPolygon(parts)
        # Each part is valid on its own here, so what is left is parts that overlap each other.
        checker.valid(shape, checker.base)
    return {"type": gtype, "coordinates": coords}, shape


class _Checker:
    """Walks a ``coordinates`` array, normalising positions and raising pointed errors."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.dims: int | None = None  # 2 or 3, fixed by the first position: shapely cannot mix them

    def nested(self, value: object, depth: int, path: str) -> list:
        if depth == 0:
            return self.position(value, path)
        if not isinstance(value, list | tuple):
            kind = "a position" if depth == 1 else "an array of " + "arrays of " * (depth - 2) + "positions"
            raise _err(
                path,
                "coordinates-shape",
                f"expected an array of {kind}",
                "坐标数组的嵌套层级不正确",
                value=value,
            )
        return [self.nested(item, depth - 1, f"{path}[{i}]") for i, item in enumerate(value)]

    def position(self, value: object, path: str) -> list[float]:
        if not isinstance(value, list | tuple) or len(value) not in (2, 3):
            raise _err(
                path,
                "coordinates-shape",
                "a position must be [longitude, latitude] or [longitude, latitude, altitude]",
                "位置必须为 [经度, 纬度] 或 [经度, 纬度, 高程]",
                value=value,
            )
        out: list[float] = []
        for i, number in enumerate(value):
            # The exact-type test first: the numbers.Real ABC check is slow and this runs per coordinate.
            if type(number) not in (float, int) and (
                isinstance(number, bool) or not isinstance(number, numbers.Real)
            ):
                raise _err(
                    f"{path}[{i}]",
                    "coordinates-shape",
                    f"a coordinate must be a number, got {type(number).__name__}",
                    "坐标必须是数字",
                    value=number,
                )
            try:
                x = float(number)
            except OverflowError:  # an int too large for a float is as unusable as infinity
                x = math.inf
            if not math.isfinite(x):
                raise _err(
                    f"{path}[{i}]",
                    "non-finite",
                    "a coordinate must be finite",
                    "坐标必须是有限数",
                    value=number,
                )
            out.append(x)
        if self.dims is None:
            self.dims = len(out)
        elif self.dims != len(out):
            raise _err(
                path,
                "coordinates-shape",
                "positions of one geometry must all be 2D or all be 3D",
                "同一几何的位置必须全部为二维或全部为三维",
                value=value,
            )
        lon, lat = out[0], out[1]
        # Swapped only if the pair reads well the other way round; a 2nd number beyond ±180 is no
        # longitude either, so that is reported as a plain latitude-range error below.
        if -90.0 <= lon <= 90.0 and 90.0 < abs(lat) <= 180.0:
            raise _err(
                path,
                "lon-lat-swapped",
                f"coordinates are [longitude, latitude]; [{lon}, {lat}] look swapped",
                f"坐标顺序应为 [经度, 纬度]；[{lon}, {lat}] 似乎颠倒了",
                value=value,
            )
        if not -180.0 <= lon <= 180.0:
            raise _err(
                path,
                "longitude-range",
                f"longitude {lon} is outside [-180, 180]",
                f"经度 {lon} 超出 [-180, 180]",
                value=value,
            )
        if not -90.0 <= lat <= 90.0:
            raise _err(
                path,
                "latitude-range",
                f"latitude {lat} is outside [-90, 90]",
                f"纬度 {lat} 超出 [-90, 90]",
                value=value,
            )
        return out

    @staticmethod
    def non_empty(coords: list, path: str, english: str, chinese: str) -> None:
        if not coords:
            raise _err(path, "coordinates-shape", english, chinese, value=coords)

    @staticmethod
    def line(coords: list, path: str) -> None:
        if len(coords) < 2:
            raise _err(
                path,
                "line-too-few-points",
                f"a LineString needs at least 2 positions, got {len(coords)}",
                f"线至少需要 2 个位置，实际 {len(coords)} 个",
                value=coords,
            )

    def polygon(self, rings: list, path: str) -> shapely.Polygon:
        self.non_empty(rings, path, "a Polygon needs an exterior ring", "面至少需要一个外环")
        for i, ring in enumerate(rings):
            where = f"{path}[{i}]"
            if len(ring) < 4:
                raise _err(
                    where,
                    "ring-too-few-points",
                    f"a polygon ring needs at least 4 positions, got {len(ring)}",
                    f"面的环至少需要 4 个位置，实际 {len(ring)} 个",
                    value=ring,
                )
            if ring[0] != ring[-1]:
                raise _err(
                    where,
                    "ring-unclosed",
                    "the first and last positions of a polygon ring must be equal",
                    "面的环首尾位置必须相同",
                    value=[ring[0], ring[-1]],
                )
        poly = shapely.Polygon(rings[0], rings[1:])
        self.valid(poly, path)
        return poly

    @staticmethod
    def valid(shape: shapely.Geometry, path: str) -> None:
        if not shapely.is_valid(shape):
            reason = shapely.is_valid_reason(shape)
            raise _err(
                path,
                "self-intersection",
                f"the polygon is not valid: {reason}",
                f"面无效（自相交或环不合法）：{reason}",
                value=reason,
            )


def to_shape(geometry: dict) -> shapely.Geometry:
    """Build the shapely geometry of a GeoJSON geometry already checked by :func:`validate_geometry`.

    Coordinates stay in degrees [lon, lat]. Unchecked input may raise shapely's own errors.
    """
    gtype = geometry.get("type")
    coords: Any = geometry.get("coordinates")
    if gtype == "Point":
        return shapely.Point(coords)
    if gtype == "MultiPoint":
        return shapely.MultiPoint(coords)
    if gtype == "LineString":
        return shapely.LineString(coords)
    if gtype == "MultiLineString":
        return shapely.MultiLineString(coords)
    if gtype == "Polygon":
        return shapely.Polygon(coords[0], coords[1:])
    if gtype == "MultiPolygon":
        return shapely.MultiPolygon([shapely.Polygon(p[0], p[1:]) for p in coords])
    supported = ", ".join(GEOMETRY_TYPES)
    raise _err(
        "geometry.type",
        "geojson-type",
        f"unsupported geometry type {gtype!r}; supported: {supported}",
        f"不支持的几何类型 {gtype!r}；支持：{supported}",
        value=gtype,
    )


def centroid_lat_lon(geometry: dict | None) -> tuple[float, float] | None:
    """The centroid of a GeoJSON geometry as ``(lat, lon)`` rounded to 7 decimals (≈ 1 cm), as map markers want
    it; ``None`` for no geometry."""
    if geometry is None:
        return None
    c = to_shape(geometry).centroid
    return (round(c.y, 7), round(c.x, 7))


def _as_shape(geometry: dict | shapely.Geometry, field: str) -> shapely.Geometry:
    if isinstance(geometry, shapely.Geometry):
        if geometry.is_empty:
            raise _err(field, "coordinates-shape", "the geometry is empty", "几何为空")
        return geometry
    return _validate(geometry, field)[1]


# --------------------------------------------------------------------------------------------------
# Geodesic measures
# --------------------------------------------------------------------------------------------------


def geodesic_area_m2(geometry: dict | shapely.Geometry) -> float:
    """Area on the WGS84 ellipsoid [m²] of a geometry in degrees [lon, lat].

    Holes are subtracted whatever the orientation of the rings; points and lines have area 0. A dict is
    validated first (field ``geometry``).
    """
    shape = _as_shape(geometry, "geometry")
    total = 0.0
    for part in shapely.get_parts(shape):
        if isinstance(part, shapely.Polygon):
            # Geod returns a signed area (negative for clockwise rings) and pyproj's own polygon helper
            # adds hole areas with their sign, so take magnitudes to be orientation-proof.
            total += abs(_ring_area(part.exterior))
            total -= sum(abs(_ring_area(hole)) for hole in part.interiors)
        elif isinstance(part, shapely.GeometryCollection):  # nested collections given as shapely objects
            total += geodesic_area_m2(part)
    return total


def _ring_area(ring: shapely.LinearRing) -> float:
    xy = shapely.get_coordinates(ring)
    area, _ = _GEOD.polygon_area_perimeter(xy[:, 0], xy[:, 1])
    return float(area)


def geodesic_distance_m(a: dict | shapely.Geometry, b: dict | shapely.Geometry) -> float:
    """Shortest distance between two geometries in degrees [lon, lat], in metres [m].

    0 if they touch or intersect. Exact on the WGS84 ellipsoid for two points (``Geod.inv``); otherwise
    both are projected to an azimuthal equidistant projection centred between their nearest points and
    the planar distance is taken (error well under a millimetre for distances of a few km). Dicts are
    validated first (fields ``a`` and ``b``).
    """
    sa = _as_shape(a, "a")
    sb = _as_shape(b, "b")
    if isinstance(sa, shapely.Point) and isinstance(sb, shapely.Point):
        _, _, dist = _GEOD.inv(sa.x, sa.y, sb.x, sb.y)
        return float(dist)
    if shapely.intersects(sa, sb):
        return 0.0
    nearest = shapely.get_coordinates(shapely.shortest_line(sa, sb))
    lon, lat = nearest.mean(axis=0)
    project = _aeqd_projector(float(lon), float(lat))
    pa, pb = shapely.transform(np.array([sa, sb]), project)
    return float(shapely.distance(pa, pb))


@functools.lru_cache(maxsize=512)
def _aeqd_transformer(lon: float, lat: float) -> Transformer:
    # A bare PROJ pipeline builds in ~0.1 ms (from_crs: ~20 ms, it consults the CRS database) and, being
    # the ellipsoidal AEQD, gives exact geodesic distances from its centre.
    return Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        f"+step +proj=aeqd +lat_0={lat!r} +lon_0={lon!r} +ellps=WGS84"
    )


def _aeqd_projector(lon: float, lat: float) -> Callable[[np.ndarray], np.ndarray]:
    """A ``shapely.transform`` function: (N, 2) lon/lat [degrees] -> (N, 2) x/y [m] around (lon, lat)."""
    transformer = _aeqd_transformer(round(lon, _CENTRE_DECIMALS), round(lat, _CENTRE_DECIMALS))

    def project(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack((x, y))

    return project


# --------------------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeoQuery:
    """A geo query: the relation an entity's geometry must have with ``geometry``.

    ``geometry`` is a GeoJSON geometry already checked by :func:`validate_geometry` (which
    :func:`parse_georel` does). ``max_distance_m`` / ``min_distance_m`` [m] apply to ``near`` only; the
    relation and distances are checked on construction (field ``georel``).
    """

    georel: str
    geometry: dict
    max_distance_m: float | None = None
    min_distance_m: float | None = None

    def __post_init__(self) -> None:
        _check_relation(self.georel, self.max_distance_m, self.min_distance_m, "georel")


def _check_relation(georel: str, max_d: float | None, min_d: float | None, field: str) -> None:
    if georel not in GEORELS:
        valid = ", ".join(GEORELS)
        raise ValidationError(
            field,
            "georel-relation",
            f"unknown geo relation {georel!r}; valid: {valid} / 未知的空间关系 {georel!r}；可用：{valid}",
            value=georel,
        )
    if georel != "near":
        if max_d is not None or min_d is not None:
            raise ValidationError(
                field,
                "georel-option",
                f"maxDistance/minDistance apply to near only, not to {georel} / "
                f"maxDistance/minDistance 仅用于 near，不能用于 {georel}",
                value=georel,
            )
        return
    if max_d is None and min_d is None:
        raise ValidationError(
            field,
            "georel-near-distance",
            "near needs maxDistance and/or minDistance, e.g. near;maxDistance==2000 / "
            "near 需要 maxDistance 或 minDistance，例如 near;maxDistance==2000",
            value=georel,
        )
    for name, d in (("maxDistance", max_d), ("minDistance", min_d)):
        if d is not None and not (isinstance(d, numbers.Real) and math.isfinite(d) and d >= 0):
            raise ValidationError(
                field,
                "georel-distance",
                f"{name} must be a finite number >= 0 [m], got {d!r} / {name} 必须是不小于 0 的有限数（米）",
                value=d,
            )
    if max_d is not None and min_d is not None and min_d > max_d:
        raise ValidationError(
            field,
            "georel-distance-order",
            f"minDistance {min_d} is greater than maxDistance {max_d} / "
            f"minDistance {min_d} 大于 maxDistance {max_d}",
            value=(min_d, max_d),
        )


def parse_georel(georel: str, geometry: object, field: str = "georel") -> GeoQuery:
    """Parse an NGSI-LD ``georel`` and its geometry into a :class:`GeoQuery`.

    Accepts ``within``, ``intersects``, ``contains``, ``disjoint``, ``equals``, ``overlaps`` and
    ``near;maxDistance==2000`` / ``near;minDistance==10`` / both, distances in metres [m]. The geometry
    is validated with field ``geometry``. Errors are :class:`ValidationError` naming ``field`` with rule
    ``georel-relation``, ``georel-near-distance``, ``georel-distance``, ``georel-distance-order`` or
    ``georel-option`` (also for an unknown, malformed or repeated option).
    """
    if not isinstance(georel, str):
        raise ValidationError(
            field, "georel-relation", "georel must be a string / georel 必须是字符串", value=georel
        )
    relation, *options = (part.strip() for part in georel.split(";"))
    distances: dict[str, float] = {}
    for option in options:
        name, sep, raw = option.partition("==")
        name = name.strip()
        if not sep or name not in ("maxDistance", "minDistance"):
            raise ValidationError(
                field,
                "georel-option",
                f"unknown georel option {option!r}; expected maxDistance==<m> or minDistance==<m> / "
                f"未知的 georel 选项 {option!r}；应为 maxDistance==<米> 或 minDistance==<米>",
                value=georel,
            )
        if name in distances:
            raise ValidationError(
                field, "georel-option", f"{name} given twice / {name} 重复出现", value=georel
            )
        try:
            distance = float(raw.strip())
        except ValueError:
            raise ValidationError(
                field,
                "georel-distance",
                f"{name} must be a number of metres, got {raw!r} / {name} 必须是以米为单位的数字",
                value=georel,
            ) from None
        distances[name] = distance
    try:
        _check_relation(relation, distances.get("maxDistance"), distances.get("minDistance"), field)
    except ValidationError as err:
        err.value = georel
        raise
    return GeoQuery(
        relation,
        validate_geometry(geometry, "geometry"),
        max_distance_m=distances.get("maxDistance"),
        min_distance_m=distances.get("minDistance"),
    )


# --------------------------------------------------------------------------------------------------
# Spatial index
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Snapshot:
    ids: np.ndarray  # object array of entity ids, sorted, so sorted positions give sorted ids
    geoms: np.ndarray  # shapely geometries parallel to ids
    tree: shapely.STRtree


class GeoIndex:
    """In-memory spatial index of entity id -> geometry, used by the stores to answer geo queries fast.

    Semantics (entity E, query geometry Q): ``within`` if E is within Q (the entity's location lies in the
    query area; as in shapely, a point on Q's boundary is not within), ``contains`` if E contains Q,
    ``intersects`` / ``disjoint`` / ``equals`` / ``overlaps`` as in shapely, ``near`` if the geodesic
    distance between E and Q [m] is <= ``max_distance_m`` and >= ``min_distance_m``.

    The STRtree is rebuilt lazily on the first query after a change (put with a different geometry, or
    remove); a rebuild costs a few ms per 10 000 entities. Safe to share between threads.
    """

    def __init__(self) -> None:
        self._shapes: dict[str, shapely.Geometry] = {}
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()

    def put(self, entity_id: str, geometry: dict) -> None:
        """Insert or replace the geometry of ``entity_id`` (GeoJSON, validated here, field ``location``)."""
        shape = _validate(geometry, "location")[1]
        with self._lock:
            self._store(entity_id, shape)

    def put_many(self, items: Iterable[tuple[str, dict]]) -> None:
        """Insert or replace many ``(entity_id, geometry)`` pairs. All are validated before any is stored;
        a bad one raises :class:`GeometryError` labelled with its position in ``items`` (``index``)."""
        shapes: list[tuple[str, shapely.Geometry]] = []
        for i, (entity_id, geometry) in enumerate(items):
            try:
                shapes.append((entity_id, _validate(geometry, "location")[1]))
            except GeometryError as err:
                raise err.at(i) from None
        with self._lock:
            for entity_id, shape in shapes:
                self._store(entity_id, shape)

    def load_trusted(self, entity_ids: list[str], geojson_texts: list[str]) -> None:
        """Bulk-load geometries that were validated when they were written (GeoJSON text, as a store keeps it).

        Skips validation and parses in one vectorised call: a store opening with 10,000 located entities builds
        its index in milliseconds instead of re-checking every ring."""
        shapes = shapely.from_geojson(np.asarray(geojson_texts, dtype=object))
        with self._lock:
            for entity_id, shape in zip(entity_ids, shapes, strict=True):
                self._store(entity_id, shape)

    def _store(self, entity_id: str, shape: shapely.Geometry) -> None:
        old = self._shapes.get(entity_id)
        # Stores re-put an entity on every attribute update; skip the tree rebuild when it did not move.
        if old is not None and shapely.equals_exact(old, shape, tolerance=0.0):
            return
        self._shapes[entity_id] = shape
        self._snapshot = None

    def remove(self, entity_id: str) -> None:
        """Take ``entity_id`` out of the index; does nothing if it is not there."""
        with self._lock:
            if self._shapes.pop(entity_id, None) is not None:
                self._snapshot = None

    def __len__(self) -> int:
        return len(self._shapes)

    def __contains__(self, entity_id: object) -> bool:
        return entity_id in self._shapes

    def _current(self) -> _Snapshot:
        with self._lock:
            if self._snapshot is None:
                ids = sorted(self._shapes)
                geoms = np.array([self._shapes[i] for i in ids], dtype=object)
                self._snapshot = _Snapshot(np.array(ids, dtype=object), geoms, shapely.STRtree(geoms))
            return self._snapshot

    def query(self, q: GeoQuery) -> list[str]:
        """Ids of the entities whose geometry has relation ``q.georel`` with ``q.geometry``, sorted."""
        snap = self._current()
        if len(snap.ids) == 0:
            return []
        shape = to_shape(q.geometry)
        if q.georel == "near":
            idx = self._near(snap, shape, q.max_distance_m, q.min_distance_m)
        elif q.georel == "within":
            # STRtree evaluates predicate(query, tree_geom): "Q contains E" is "E within Q".
            idx = snap.tree.query(shape, predicate="contains")
        elif q.georel == "contains":
            idx = snap.tree.query(shape, predicate="within")
        elif q.georel in ("intersects", "overlaps"):
            idx = snap.tree.query(shape, predicate=q.georel)
        elif q.georel == "disjoint":
            keep = np.ones(len(snap.ids), dtype=bool)
            keep[snap.tree.query(shape, predicate="intersects")] = False
            idx = np.flatnonzero(keep)
        elif q.georel == "equals":  # not an STRtree predicate: bounding-box candidates, then exact test
            candidates = snap.tree.query(shape)
            idx = candidates[shapely.equals(shape, snap.geoms[candidates])]
        else:  # GeoQuery.__post_init__ rejects anything else
            raise AssertionError(q.georel)
        return snap.ids[np.sort(idx)].tolist()

    @staticmethod
    def _near(
        snap: _Snapshot, shape: shapely.Geometry, max_d: float | None, min_d: float | None
    ) -> np.ndarray:
        # Without a maximum every entity is a candidate; with one, the tree narrows them to a margin box.
        candidates = np.arange(len(snap.ids)) if max_d is None else snap.tree.query(_margin_box(shape, max_d))
        if len(candidates) == 0:
            return candidates
        geoms = snap.geoms[candidates]
        dist = np.empty(len(candidates))
        if isinstance(shape, shapely.Point):
            # Point to point: exact ellipsoidal distance, the same number geodesic_distance_m gives.
            is_point = shapely.get_type_id(geoms) == 0
            if is_point.any():
                pts = shapely.get_coordinates(geoms[is_point])
                n = len(pts)
                _, _, d = _GEOD.inv(np.full(n, shape.x), np.full(n, shape.y), pts[:, 0], pts[:, 1])
                dist[is_point] = d
            others = ~is_point
        else:
            others = np.ones(len(candidates), dtype=bool)
        if others.any():
            centre = shapely.centroid(shape)
            project = _aeqd_projector(centre.x, centre.y)
            projected = shapely.transform(geoms[others], project)
            dist[others] = shapely.distance(shapely.transform(shape, project), projected)
        keep = np.ones(len(candidates), dtype=bool)
        if max_d is not None:
            keep &= dist <= max_d
        if min_d is not None:
            keep &= dist >= min_d
        return candidates[keep]


def _margin_box(shape: shapely.Geometry, distance_m: float) -> shapely.Geometry:
    """The bounding box of ``shape`` [degrees] enlarged by at least ``distance_m`` [m] on every side."""
    minx, miny, maxx, maxy = shapely.bounds(shape).tolist()
    dlat = distance_m / _M_PER_DEG_LAT_MIN * 1.01 + 1e-9
    south, north = miny - dlat, maxy + dlat
    widest = max(abs(south), abs(north))
    if widest >= 89.9:  # a box reaching a pole spans every longitude
        return shapely.box(-180.0, max(south, -90.0), 180.0, min(north, 90.0))
    dlon = distance_m / (_M_PER_DEG_LON_EQUATOR_MIN * math.cos(math.radians(widest))) * 1.01 + 1e-9
    return shapely.box(minx - dlon, south, maxx + dlon, north)
