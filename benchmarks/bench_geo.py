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
import pyarrow as pa
import shapely
from pyproj import Transformer

from _bench_common import file_size_mib, median, peak_rss_mib, print_machine, print_table, remove_db, spread, verdict
from _sql_timer import SqlTimer
from lingang_twin.core.geometry import GeoQuery, geodesic_area_m2, parse_georel
from lingang_twin.core.model import Entity
from lingang_twin.core.twin import Twin
from lingang_twin.stores import open_store

CENTRE = (121.93, 30.90)
HALF_SIDE_M = 1500.0
DISTRICT = "urn:ngsi-ld:District:iicz"
TARGET_S = 0.010
_TO_DEG = Transformer.from_pipeline(
    "+proj=pipeline +step +inv +proj=aeqd "
    f"+lat_0={CENTRE[1]} +lon_0={CENTRE[0]} +ellps=WGS84 +step +proj=unitconvert +xy_in=rad +xy_out=deg"
)
USES = ("office", "lab", "residential", "retail", "industrial")


def _deg(x: np.ndarray, y: np.ndarray) -> list[list[float]]:
    lon, lat = _TO_DEG.transform(np.atleast_1d(x), np.atleast_1d(y))
    return [[float(a), float(b)] for a, b in zip(lon, lat, strict=True)]


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


def within_queries(runs: int, seed: int = 2) -> list[GeoQuery]:
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

    index = twin.store._geo_index()  # the store's own index (private attribute; read-only use here)
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
    """Where twin.query's time goes."""
    store = twin.store
    con = store.con
    index = store._geo_index()
    n = min(len(qs), 10)
    for limit in (10_000, 100):
        with SqlTimer(store) as timer:
            for q in qs[:n]:
                twin.query(geo=q, limit=limit)
        sql, args, _ = timer.statements[-1]
        params = dict(args[0]) if args else {}
        t_index, t_sql, t_fetch, t_json, t_pyd, t_entity, t_total, n_rows = [], [], [], [], [], [], [], []
        t_nogc = []
        for q in qs[:n]:
            a = time.perf_counter()
            twin.query(geo=q, limit=limit)
            t_total.append(time.perf_counter() - a)
            gc.disable()
            a = time.perf_counter()
            twin.query(geo=q, limit=limit)
            t_nogc.append(time.perf_counter() - a)
            gc.enable()
            a = time.perf_counter()
            ids = index.query(q)
            t_index.append(time.perf_counter() - a)
            params["geo_ids"] = ids
            a = time.perf_counter()
            cur = con.execute(sql, params)
            b = time.perf_counter()
            rows = cur.fetchall()
            c = time.perf_counter()
            t_sql.append(b - a)
            t_fetch.append(c - b)
            n_rows.append(len(rows))
            # Results are kept alive, as the store does (it returns them in a list): that matters for the GC.
            a = time.perf_counter()
            dicts = [_json_part(r) for r in rows]
            b = time.perf_counter()
            built = [Entity.model_validate(d) for d in dicts]
            c = time.perf_counter()
            t_json.append(b - a)
            t_pyd.append(c - b)
            del dicts, built
            a = time.perf_counter()
            entities = [store._entity(r) for r in rows]
            t_entity.append(time.perf_counter() - a)
            del entities, rows
        total = median(t_total)
        parts = [
            ("GeoIndex.query (STRtree + shapely)", median(t_index)),
            ("SQL execute (list_contains($geo_ids, e.id), lifecycle subquery, count() OVER, ORDER BY, LIMIT)",
             median(t_sql)),
            ("fetchall → Python tuples", median(t_fetch)),
            ("DuckDBStore._entity: json.loads of props/rels/geo + dict building", median(t_json)),
            ("DuckDBStore._entity: Entity.model_validate (pydantic)", median(t_pyd)),
        ]
        accounted = median(t_index) + median(t_sql) + median(t_fetch) + median(t_entity)
        print(f"\nBreakdown of twin.query(geo=within, limit={limit}) — {median(n_rows):.0f} rows returned, "
              f"median of {n}; end-to-end {total * 1e3:.1f} ms")
        print_table(["ms", "share", "part"],
                    [[f"{t * 1e3:.2f}", f"{t / total:.0%}", p] for p, t in parts]
                    + [[f"{max(total - accounted, 0) * 1e3:.2f}", f"{max(total - accounted, 0) / total:.0%}",
                        "rest (Twin.query checks, EntityQuery, _where, …)"]])
        print(f"  (_entity as a whole: {median(t_entity) * 1e3:.2f} ms for {median(n_rows):.0f} rows = "
              f"{median(t_entity) / max(median(n_rows), 1) * 1e6:.0f} µs per entity; the json/pydantic split "
              "above times the two halves separately, so it does not add up to it exactly)")
        print(f"  the same twin.query with Python's cyclic GC disabled: {median(t_nogc) * 1e3:.1f} ms "
              f"(GC passes triggered by the allocations cost {(total - median(t_nogc)) * 1e3:.1f} ms)")
        sql_variants(con, sql, params, qs[:n], index)
        if limit == 10_000:
            # With the GC off: a GC pass is charged to whatever frame happens to allocate, which scrambles the
            # attribution; its total cost is measured separately above.
            gc.disable()
            prof = cProfile.Profile()
            prof.enable()
            for q in qs[:n]:
                twin.query(geo=q, limit=limit)
            prof.disable()
            gc.enable()
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(14)
            print(f"\ncProfile of {n} × twin.query(limit=10000), GC off, by own time (top 14; the DuckDB "
                  "execute/fetchall calls are charged to query_entities):")
            print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:5000])


def _json_part(r: Any) -> dict[str, Any]:
    """The dict DuckDBStore._entity builds before pydantic (mirrors it, to time the two halves apart)."""
    eid, etype, phase, props, rels, geo, created, modified, lifecycle = r[:9]
    p = json.loads(props)
    return {
        "id": eid, "type": etype, "phase": phase,
        "properties": {k: {"value": v.get("value"), "unit": v.get("unit"), "observed_at": v.get("observedAt")}
                       for k, v in p.items()},
        "relationships": {k: {"object": v["object"]} for k, v in json.loads(rels).items()},
        "geo": json.loads(geo),
        "lifecycle": [{"phase": c["phase"], "since": c["since"]} for c in (lifecycle or [])],
        "created_at": created, "modified_at": modified,
    }


def sql_variants(con: Any, sql: str, params: dict[str, Any], qs: list[GeoQuery], index: Any) -> None:
    """The store's SQL for limit=10000 against alternative formulations of the id filter (same rows)."""
    variants: dict[str, tuple[str, Callable[[list[str]], None] | None]] = {}
    variants["store SQL as is: list_contains($geo_ids, e.id)"] = (sql, None)
    if "list_contains($geo_ids, e.id)" in sql:
        variants["e.id IN (SELECT unnest($geo_ids))"] = (
            sql.replace("list_contains($geo_ids, e.id)", "e.id IN (SELECT unnest($geo_ids))"), None)

        def reg(ids: list[str]) -> None:
            con.register("geo_hits", pa.table({"id": pa.array(ids, type=pa.string())}))

        variants["e.id IN (SELECT id FROM registered Arrow table)"] = (
            sql.replace("list_contains($geo_ids, e.id)", "e.id IN (SELECT id FROM geo_hits)"), reg)
    start = sql.find("(SELECT list(")
    stop = sql.find(") AS lifecycle")
    if start >= 0 and stop > start:
        variants["as is, without the lifecycle subquery"] = (sql[:start] + "NULL" + sql[stop + 1:], None)
    if "list_contains($geo_ids, e.id)" in sql:
        variants["filter only: SELECT count(*) … WHERE list_contains($geo_ids, e.id)"] = (
            "SELECT count(*) FROM entities e WHERE list_contains($geo_ids, e.id)", None)
        variants["filter only: SELECT count(*) … WHERE e.id IN (SELECT unnest($geo_ids))"] = (
            "SELECT count(*) FROM entities e WHERE e.id IN (SELECT unnest($geo_ids))", None)
    limit = sql.rsplit("LIMIT", 1)[1].split()[0] if "LIMIT" in sql else "10000"
    page = (f"WITH hits AS (SELECT e.id, e.type, e.phase, e.props, e.rels, e.geo, e.created_at, e.modified_at, "
            f"count(*) OVER () AS total FROM entities e WHERE e.id IN (SELECT unnest($geo_ids)) ORDER BY e.id "
            f"LIMIT {limit}), lc AS (SELECT l.entity_id, list({{'phase': l.phase, 'since': l.since}} ORDER BY "
            "l.since) AS lifecycle FROM lifecycle l WHERE l.entity_id IN (SELECT id FROM hits) GROUP BY "
            "l.entity_id) SELECT h.id, h.type, h.phase, h.props, h.rels, h.geo, h.created_at, h.modified_at, "
            "lc.lifecycle, h.total FROM hits h LEFT JOIN lc ON lc.entity_id = h.id ORDER BY h.id")
    variants["rewrite: page first (IN unnest, LIMIT), then lifecycle for the page by one join"] = (page, None)
    variants["rewrite: page first … and created_at/modified_at as epoch_us (cheaper fetch)"] = (
        page.replace("h.created_at, h.modified_at", "epoch_us(h.created_at), epoch_us(h.modified_at)"), None)
    times: dict[str, list[float]] = {k: [] for k in variants}
    counts: dict[str, set[int]] = {k: set() for k in variants}
    for q in qs:
        ids = index.query(q)
        for name, (text, prep) in variants.items():
            p = {k: v for k, v in params.items() if f"${k}" in text}
            if "$geo_ids" in text:
                p["geo_ids"] = ids
            if prep is not None:
                prep(ids)
            a = time.perf_counter()
            rows = con.execute(text, p).fetchall()
            times[name].append(time.perf_counter() - a)
            counts[name].add(len(rows) if not name.startswith("filter only") else rows[0][0])
            if prep is not None:
                con.unregister("geo_hits")
    print(f"\nSQL alternatives (LIMIT {limit}; execute + fetchall, median ms):")
    print_table(["ms", "min–max", "rows (or count)", "formulation"],
                [[f"{median(t) * 1e3:.2f}", spread(t), "/".join(str(c) for c in sorted(counts[name])[:3]), name]
                 for name, t in times.items()])


if __name__ == "__main__":
    sys.exit(main())
