"""Timing of :class:`lingang_twin.core.geometry.GeoIndex` against a brute-force shapely baseline.

Scenario (the acceptance target): 10 000 entities near Lingang (121.93 °E, 30.90 °N), half points and half
small rotated building rectangles (10-60 m a side), spread over 3 km × 3 km. Queries: ``within`` a
32-gon covering ~20 % of the area and ``near;maxDistance==300`` around a point; each run uses a
different, randomly shifted query so no result is reused. Target: median ≤ 10 ms for both.

Run: ``.venv/bin/python benchmarks/bench_geo_index.py [--entities N] [--runs N]``
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable

import numpy as np
import shapely
from pyproj import Geod, Transformer

from lingang_twin.core.geometry import GeoIndex, GeoQuery, geodesic_area_m2, parse_georel

CENTRE = (121.93, 30.90)  # lon, lat [degrees]
HALF_SIDE_M = 1500.0  # the entities fill a 3 km × 3 km square around CENTRE
_GEOD = Geod(ellps="WGS84")
# Local metres <-> degrees around CENTRE, used only to lay out the synthetic district.
_TO_DEG = Transformer.from_pipeline(
    "+proj=pipeline +step +inv +proj=aeqd "
    f"+lat_0={CENTRE[1]} +lon_0={CENTRE[0]} +ellps=WGS84 +step +proj=unitconvert +xy_in=rad +xy_out=deg"
)


def _deg(x: np.ndarray, y: np.ndarray) -> list[list[float]]:
    lon, lat = _TO_DEG.transform(x, y)
    return [[float(a), float(b)] for a, b in zip(np.atleast_1d(lon), np.atleast_1d(lat), strict=True)]


def make_entities(n: int, seed: int = 1) -> list[tuple[str, dict]]:
    """``n`` (id, GeoJSON) pairs: even ones points, odd ones building footprints."""
    rng = np.random.default_rng(seed)
    items: list[tuple[str, dict]] = []
    for i in range(n):
        cx, cy = rng.uniform(-HALF_SIDE_M, HALF_SIDE_M, 2)
        if i % 2 == 0:
            items.append((f"urn:ngsi-ld:Sensor:{i:05d}", {"type": "Point", "coordinates": _deg(cx, cy)[0]}))
            continue
        w, h = rng.uniform(10.0, 60.0, 2) / 2
        a = rng.uniform(0.0, math.pi)
        corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h], [-w, -h]])
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        xy = corners @ rot.T + (cx, cy)
        ring = _deg(xy[:, 0], xy[:, 1])
        ring[-1] = ring[0]  # exactly closed despite float round-trips
        items.append((f"urn:ngsi-ld:Building:{i:05d}", {"type": "Polygon", "coordinates": [ring]}))
    return items


def within_queries(runs: int, seed: int = 2) -> list[GeoQuery]:
    """32-gons of ~20 % of the district's area, centres shifted randomly by up to 300 m."""
    rng = np.random.default_rng(seed)
    radius = math.sqrt(0.2 * (2 * HALF_SIDE_M) ** 2 / math.pi)
    angles = np.linspace(0.0, 2 * math.pi, 33)[:-1]
    out = []
    for _ in range(runs):
        dx, dy = rng.uniform(-300.0, 300.0, 2)
        ring = _deg(dx + radius * np.cos(angles), dy + radius * np.sin(angles))
        ring.append(ring[0])
        out.append(parse_georel("within", {"type": "Polygon", "coordinates": [ring]}))
    return out


def near_queries(runs: int, distance_m: float = 300.0, seed: int = 3) -> list[GeoQuery]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(runs):
        x, y = rng.uniform(-HALF_SIDE_M + distance_m, HALF_SIDE_M - distance_m, 2)
        point = {"type": "Point", "coordinates": _deg(x, y)[0]}
        out.append(parse_georel(f"near;maxDistance=={distance_m}", point))
    return out


# ---- baselines: the same answers without the tree ------------------------------------------------


def brute_within(ids: np.ndarray, geoms: np.ndarray, q: GeoQuery) -> list[str]:
    """Vectorised shapely over every entity (prepared query geometry, no STRtree)."""
    shape = shapely.from_geojson(_json(q.geometry))
    shapely.prepare(shape)
    return sorted(ids[shapely.contains(shape, geoms)].tolist())


def loop_within(ids: np.ndarray, geoms: np.ndarray, q: GeoQuery) -> list[str]:
    """The naive per-entity Python loop."""
    shape = shapely.from_geojson(_json(q.geometry))
    return sorted(i for i, g in zip(ids.tolist(), geoms.tolist(), strict=True) if g.within(shape))


def brute_near(ids: np.ndarray, geoms: np.ndarray, q: GeoQuery) -> list[str]:
    """Project every entity to AEQD around the query point and measure (no STRtree prefilter)."""
    lon, lat = q.geometry["coordinates"][:2]
    tr = Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        f"+step +proj=aeqd +lat_0={lat} +lon_0={lon} +ellps=WGS84"
    )

    def project(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))

    dist = shapely.distance(shapely.Point(0.0, 0.0), shapely.transform(geoms, project))
    assert q.max_distance_m is not None
    return sorted(ids[dist <= q.max_distance_m].tolist())


def _json(geometry: dict) -> str:
    import json

    return json.dumps(geometry)


# ---- timing ----------------------------------------------------------------------------------------


def _median_ms(fn: Callable[[GeoQuery], list[str]], queries: list[GeoQuery]) -> tuple[float, list[list[str]]]:
    times, results = [], []
    for q in queries:
        t0 = time.perf_counter()
        results.append(fn(q))
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()

    items = make_entities(args.entities)
    wq = within_queries(args.runs)
    nq = near_queries(args.runs)
    area_share = geodesic_area_m2(wq[0].geometry) / (2 * HALF_SIDE_M) ** 2
    print(
        f"{args.entities} entities, {args.runs} runs per query; within polygon = {area_share:.1%} of the area"
    )

    builds, first_queries = [], []
    for _ in range(5):
        index = GeoIndex()
        t0 = time.perf_counter()
        index.put_many(items)
        t1 = time.perf_counter()
        index.query(wq[0])
        t2 = time.perf_counter()
        builds.append(t1 - t0)
        first_queries.append(t2 - t1)
    print(f"put_many (validate + shapely), median of 5: {statistics.median(builds) * 1e3:8.1f} ms")
    print(f"first query incl. STRtree build, median of 5: {statistics.median(first_queries) * 1e3:8.2f} ms")

    # Warm-up so the one-off imports/allocations are not in the medians.
    index.query(nq[0])
    within_ms, within_res = _median_ms(index.query, wq)
    near_ms, near_res = _median_ms(index.query, nq)

    snap_ids = np.array([i for i, _ in items], dtype=object)
    snap_geoms = np.array([shapely.from_geojson(_json(g)) for _, g in items], dtype=object)
    b_within_ms, b_within_res = _median_ms(lambda q: brute_within(snap_ids, snap_geoms, q), wq)
    l_within_ms, l_within_res = _median_ms(lambda q: loop_within(snap_ids, snap_geoms, q), wq[:20])
    b_near_ms, b_near_res = _median_ms(lambda q: brute_near(snap_ids, snap_geoms, q), nq)
    assert within_res == b_within_res and within_res[:20] == l_within_res, "within differs from baseline"
    assert near_res == b_near_res, "near differs from baseline"

    hits_w = statistics.median(len(r) for r in within_res)
    hits_n = statistics.median(len(r) for r in near_res)
    print(f"within  GeoIndex   median {within_ms:7.2f} ms  (median {hits_w:.0f} hits)")
    print(
        f"within  brute vec. median {b_within_ms:7.2f} ms  -> index is {b_within_ms / within_ms:5.1f}x faster"
    )
    print(
        f"within  py loop    median {l_within_ms:7.2f} ms  -> index is {l_within_ms / within_ms:5.1f}x faster"
    )
    print(f"near300 GeoIndex   median {near_ms:7.2f} ms  (median {hits_n:.0f} hits)")
    print(f"near300 brute vec. median {b_near_ms:7.2f} ms  -> index is {b_near_ms / near_ms:5.1f}x faster")

    # Cost of an interleaved write: one moved entity forces a rebuild on the next query.
    rebuild = []
    for k, q in enumerate(wq[:20]):
        entity_id, geometry = items[2 * k]
        lon, lat = geometry["coordinates"]
        index.put(entity_id, {"type": "Point", "coordinates": [lon + 1e-6, lat]})
        t0 = time.perf_counter()
        index.query(q)
        rebuild.append(time.perf_counter() - t0)
    print(f"within right after one put (rebuild), median {statistics.median(rebuild) * 1e3:7.2f} ms")


if __name__ == "__main__":
    main()
