"""Geo ``within`` among 10,000 entities, end to end through ``twin.query`` on a DuckDB file.

Target (issue "Twin core"): a ``within`` query among 10,000 entities answers in ≤ 10 ms (median), through
``twin.query(geo=...)`` — not just the spatial index.

Scenario: ``--entities`` Building entities (default 10,000) near Lingang (121.93 °E, 30.90 °N) spread over
3 km × 3 km, half with a point location and half with a small rotated footprint (10–60 m a side), each with a
few properties and a ``containedIn`` relationship to one District, upserted through the twin into a DuckDB
file. Each run asks a different 32-gon covering ~20 % of the area (centre shifted at random by ≤ 300 m), with
``limit=10000`` (every match) and ``limit=100`` (a console page).

Baselines, interleaved with the twin in every run: the store's own ``GeoIndex`` alone (STRtree + shapely), and
a brute-force vectorised shapely filter (``shapely.contains`` of the prepared query polygon over every
geometry, no tree). Then a breakdown of ``twin.query``: spatial index, the SQL (with alternative formulations of
the id filter), and the JSON + pydantic construction of the returned entities, plus a cProfile.

Run: ``.venv/bin/python benchmarks/bench_geo.py [--entities N] [--runs N]`` (tiny: ``--entities 500 --runs 5``).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import math
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from _bench_common import file_size_mib, median, peak_rss_mib, print_machine, print_table, remove_db, spread, verdict
from _sql_timer import SqlTimer

# The synthetic district and the query polygons are bench_geo_index's, so both measure the same layout.
from bench_geo_index import HALF_SIDE_M, _deg, within_queries
from lingang_twin.core.geometry import GeoQuery, geodesic_area_m2, parse_georel
from lingang_twin.core.twin import Twin
from lingang_twin.stores import open_store

DISTRICT = "urn:ngsi-ld:District:iicz"
TARGET_S = 0.010
USES = ("office", "lab", "residential", "retail", "industrial")


def make_buildings(n: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    out: list[dict[str, Any]] = []
    for i in range(n):
        cx, cy = rng.uniform(-HALF_SIDE_M, HALF_SIDE_M, 2)
        if i % 2 == 0:
            geom: dict[str, Any] = {"type": "Point", "coordinates": _deg(cx, cy)[0]}
        else:
            w, h = rng.uniform(10.0, 60.0, 2) / 2
            a = rng.uniform(0.0, math.pi)
            corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h], [-w, -h]])
            rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
            xy = corners @ rot.T + (cx, cy)
            ring = _deg(xy[:, 0], xy[:, 1])
            ring[-1] = ring[0]
            geom = {"type": "Polygon", "coordinates": [ring]}
        out.append({
            "id": f"urn:ngsi-ld:Building:b{i:05d}", "type": "Building",
            "properties": {"name": f"楼宇 {i}", "floors": int(rng.integers(1, 30)),
                           "floorArea": round(float(rng.uniform(500, 50_000)), 1), "use": USES[i % len(USES)]},
            "relationships": {"containedIn": DISTRICT},
            "geo": {"location": geom},
        })
    return out


def brute_within(ids: np.ndarray, geoms: np.ndarray, q: GeoQuery) -> list[str]:
    shape = shapely.from_geojson(json.dumps(q.geometry))
    shapely.prepare(shape)
    return ids[shapely.contains(shape, geoms)].tolist()


def interleave(fns: dict[str, Callable[[GeoQuery], Any]], queries: list[GeoQuery]) -> tuple[dict, dict]:
    names = list(fns)
    times: dict[str, list[float]] = {n: [] for n in names}
    results: dict[str, list[Any]] = {n: [] for n in names}
    for k, q in enumerate(queries):
        for n in names[k % len(names):] + names[:k % len(names)]:
            t0 = time.perf_counter()
            out = fns[n](q)
            times[n].append(time.perf_counter() - t0)
            # Keep only ids and total: holding 30 pages of 2,000 Entity objects alive would make every later GC
            # pass (and so every later query) slower than in a real server.
            if hasattr(out, "entities"):
                out = ([e.id for e in out.entities], out.total)
            results[n].append(out)
            del out
    return times, results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entities", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=30, help="queries (each a differently shifted polygon)")
    ap.add_argument("--dir", default="/tmp/lingang_bench_geo")
    args = ap.parse_args()
    print_machine()
    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    path = work / "geo.duckdb"
    remove_db(path)

    buildings = make_buildings(args.entities)
    twin = Twin(open_store(path))
    twin.upsert([{"id": DISTRICT, "type": "District"}])
    t0 = time.perf_counter()
    with SqlTimer(twin.store) as up_timer:
        for i in range(0, len(buildings), 2000):
            twin.upsert(buildings[i:i + 2000])
    t_upsert = time.perf_counter() - t0
    top_label, top_ms, top_calls = up_timer.rows()[0]
    twin.close()
    # Reopen, so the first query has to load the spatial index from the file as a restarted server would.
    twin = Twin(open_store(path))
    queries = within_queries(args.runs + 1)
    share = geodesic_area_m2(queries[0].geometry) / (2 * HALF_SIDE_M) ** 2
    print(f"{args.entities:,} Building entities upserted (batches of 2000) in {t_upsert:.1f} s; file "
          f"{file_size_mib(path):.1f} MiB; within polygon = {share:.1%} of the area; {args.runs} queries")
    print(f"  upsert's slowest statement: {top_ms / 1e3:.1f} s in {top_calls} calls of: {top_label}")

    t0 = time.perf_counter()
    first = twin.query(geo=queries[0], limit=10_000)
    t_first = time.perf_counter() - t0
    print(f"first twin.query after opening (loads GeoIndex from the entities table + STRtree): "
          f"{t_first * 1e3:.0f} ms, {first.total} matches")
    qs = queries[1:]

    index = twin.store._geo.index()  # the store's own index (private attribute; read-only use here)
    snap_ids = np.array([b["id"] for b in buildings], dtype=object)
    snap_geoms = np.array([shapely.from_geojson(json.dumps(b["geo"]["location"])) for b in buildings], dtype=object)
    # Drop what only the set-up needed, so the timed calls see a heap like a server's (the GC cost scales with it).
    del buildings, first
    gc.collect()
    t_parse = []
    for q in qs[:10]:
        a = time.perf_counter()
        parse_georel("within", q.geometry)
        t_parse.append(time.perf_counter() - a)

    fns: dict[str, Callable[[GeoQuery], Any]] = {
        "twin.query limit=10000": lambda q: twin.query(geo=q, limit=10_000),
        "twin.query limit=100": lambda q: twin.query(geo=q, limit=100),
        "GeoIndex.query alone": index.query,
        "brute-force shapely": lambda q: brute_within(snap_ids, snap_geoms, q),
    }
    times, results = interleave(fns, qs)
    # Same answers everywhere.
    ok = True
    for k in range(len(qs)):
        ids = results["GeoIndex.query alone"][k]
        full_ids, full_total = results["twin.query limit=10000"][k]
        page_ids, page_total = results["twin.query limit=100"][k]
        ok &= full_ids == ids and full_total == len(ids)
        ok &= page_ids == ids[:100] and page_total == len(ids)
        ok &= sorted(results["brute-force shapely"][k]) == ids
    hits = median([len(r) for r in results["GeoIndex.query alone"]])
    idx_t = median(times["GeoIndex.query alone"])
    brute_t = median(times["brute-force shapely"])
    print(f"\nMedians over {len(qs)} queries (median {hits:.0f} matches); answers identical across all four: {ok}")
    print_table(["what", "median ms", "min–max ms", "÷ GeoIndex", "÷ brute force", "target ≤ 10 ms"],
                [[n, f"{median(t) * 1e3:.2f}", spread(t), f"{median(t) / idx_t:.1f}×",
                  f"{median(t) / brute_t:.2f}×", verdict(median(t) <= TARGET_S) if n.startswith("twin") else ""]
                 for n, t in times.items()])
    print(f"parse_georel of the query polygon (not included above): {median(t_parse) * 1e3:.2f} ms")
    for name in ("twin.query limit=10000", "twin.query limit=100"):
        t = times[name]
        slow = sorted(range(len(t)), key=lambda i: -t[i])[:3]
        print(f"slowest runs of {name}: " + ", ".join(f"#{i} {t[i] * 1e3:.0f} ms" for i in slow))

    breakdown(twin, qs)
    print(f"\npeak RSS of this process: {peak_rss_mib():.0f} MiB")
    twin.close()
    return 0 if ok else 1


def breakdown(twin: Twin, qs: list[GeoQuery]) -> None:
    """Cold (entity snapshot cache emptied before each call, as right after opening the store) against warm, and
    where a warm call spends its time."""
    store = twin.store
    n = min(len(qs), 10)
    for limit in (10_000, 100):
        cold, warm = [], []
        for q in qs[:n]:
            store._cache.clear()
            a = time.perf_counter()
            twin.query(geo=q, limit=limit)
            cold.append(time.perf_counter() - a)
            a = time.perf_counter()
            twin.query(geo=q, limit=limit)
            warm.append(time.perf_counter() - a)
        print(f"\ntwin.query(geo=within, limit={limit}): cold {median(cold) * 1e3:.1f} ms (snapshot cache empty: "
              f"JSON + pydantic for every row), warm {median(warm) * 1e3:.1f} ms, median of {n}")
        if limit == 10_000:
            gc.disable()
            prof = cProfile.Profile()
            prof.enable()
            for q in qs[:n]:
                twin.query(geo=q, limit=limit)
            prof.disable()
            gc.enable()
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(10)
            print(f"cProfile of {n} warm calls, GC off, by own time (top 10):")
            print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:4000])


if __name__ == "__main__":
    sys.exit(main())
