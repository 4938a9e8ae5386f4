"""In-store aggregation: ``twin.aggregate`` against the best hand-written DuckDB SQL on the same file.

Targets (issue "Twin core"):

* daily totals per carrier over 1,000 meters × 1 year × 15-min readings (35,040,000 readings):
  median ≤ 0.3 s and ≤ 1.5 × the best hand-written SQL for the same answer, in the same run;
* one meter's year at hourly resolution (``agg="sum", bucket="hour"``): median ≤ 20 ms;
* peak RSS of the benchmark process ≤ 4 GB.

Also measured (no target): month buckets per carrier, one meter's raw year (``twin.read``), and ``agg="delta"``
per carrier per day on a cumulative-register copy of the data (same meters, same readings as running totals).

The stores are built once through the library itself — ``Twin.upsert`` of the meters, then one
``twin.append`` per day (96,000 readings, time-major, as a live daily feed would arrive) — in a child process
(so its memory is not charged to the query process), and cached under ``--cache-dir`` keyed by
``BUILD_VERSION``, the schema version and the sizes. Delete the files (or bump ``BUILD_VERSION``) to rebuild.

Meter readings close the interval they are stamped at, so the twin buckets them by ``ts - 1 µs`` over
``(start, end]``; the hand-written SQL does the same, so both give the same answer.

Run: ``.venv/bin/python benchmarks/bench_aggregate.py [--meters N] [--days N] [--runs N]``
(tiny: ``--meters 50 --days 20``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from _bench_common import (
    file_size_mib,
    median,
    peak_rss_mib,
    print_machine,
    print_table,
    remove_db,
    spread,
    verdict,
)
from _sql_timer import SqlTimer
from lingang_twin.core.observations import ObservationBatch
from lingang_twin.core.twin import Twin
from lingang_twin.stores import open_store
from lingang_twin.stores.migrations import LATEST_VERSION

BUILD_VERSION = "agg-v1"  # bump when the synthetic data or the build procedure changes
DISTRICT = "urn:ngsi-ld:District:iicz"
SLOTS_PER_DAY = 96
SLOT_US = 900 * 1_000_000
DAY_US = 86_400 * 1_000_000
OFF_US = 8 * 3600 * 1_000_000  # Asia/Shanghai = UTC+8
T0 = datetime(2023, 1, 1, tzinfo=UTC) - timedelta(hours=8)  # 2023-01-01 00:00 Asia/Shanghai
T0_US = int(T0.timestamp()) * 1_000_000
CARRIERS = (("electricity", "kWh"), ("water", "m3"), ("natural_gas", "m3"), ("heat", "GJ"), ("diesel", "L"))
TARGET_DAILY_S = 0.3
TARGET_DAILY_RATIO = 1.5
TARGET_HOURLY_S = 0.020
TARGET_RSS_MIB = 4096


def meter_id(i: int) -> str:
    return f"urn:ngsi-ld:Meter:m{i:05d}"


def store_path(cache: Path, kind: str, meters: int, days: int) -> Path:
    return cache / f"{BUILD_VERSION}-schema{LATEST_VERSION}-{kind}-m{meters}-d{days}.duckdb"


# ---- build (child process) -------------------------------------------------------------------------------


def build(path: Path, kind: str, meters: int, days: int) -> None:
    """Create the store at ``path`` through the library; ``kind`` is ``interval`` or ``cumulative`` (or
    ``clustered``: a copy of the interval store with the observations rewritten in (series_id, ts) order)."""
    tmp = path.with_name(path.name + ".building")
    remove_db(tmp)
    t0 = time.perf_counter()
    if kind == "clustered":
        source = store_path(path.parent, "interval", meters, days)
        shutil.copyfile(source, tmp)
        con = duckdb.connect(str(tmp))
        con.execute("CREATE TABLE obs_sorted AS SELECT * FROM observations ORDER BY series_id, ts")
        con.execute("DROP TABLE observations")
        con.execute("ALTER TABLE obs_sorted RENAME TO observations")
        con.execute("CHECKPOINT")
        con.close()
        os.replace(tmp, path)
        print(json.dumps({"seconds": time.perf_counter() - t0, "peak_rss_mib": peak_rss_mib()}))
        return
    twin = Twin(open_store(tmp))
    entities: list[dict[str, Any]] = [{"id": DISTRICT, "type": "District"}]
    for i in range(meters):
        carrier, unit = CARRIERS[i % len(CARRIERS)]
        entities.append({"id": meter_id(i), "type": "Meter",
                         "properties": {"carrier": carrier, "unit": unit, "register": kind},
                         "relationships": {"containedIn": DISTRICT}})
    twin.upsert(entities)
    ids = pa.array([meter_id(i) for i in range(meters)], type=pa.string())
    m_idx = np.repeat(np.arange(meters, dtype=np.int64), SLOTS_PER_DAY)
    row_ids = pc.take(ids, pa.array(m_idx))
    running = np.arange(meters, dtype=np.float64) * 1000.0  # cumulative registers start at different values
    for d in range(days):
        s = np.tile(np.arange(d * SLOTS_PER_DAY, (d + 1) * SLOTS_PER_DAY, dtype=np.int64), meters)
        v = ((m_idx * 7919 + s * 104_729) % 10_007).astype(np.float64) / 100.0
        if kind == "cumulative":
            per_meter = v.reshape(meters, SLOTS_PER_DAY)
            cum = np.cumsum(per_meter, axis=1) + running[:, None]
            running = cum[:, -1].copy()
            v = cum.ravel()
        ts = pa.array(T0_US + s * SLOT_US, type=pa.timestamp("us", tz="UTC"))
        r = twin.append(ObservationBatch.from_arrays(row_ids, "reading", ts, v))
        assert r.inserted == len(v), r
    twin.close()
    os.replace(tmp, path)
    print(json.dumps({"seconds": time.perf_counter() - t0, "peak_rss_mib": peak_rss_mib()}))


def ensure_store(path: Path, kind: str, meters: int, days: int) -> str:
    if path.exists():
        return f"cached ({file_size_mib(path):.0f} MiB; delete it to rebuild)"
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, __file__, "--build-only", kind, "--meters", str(meters), "--days", str(days),
           "--cache-dir", str(path.parent)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    info = json.loads(out.stdout.strip().splitlines()[-1])
    how = "by rewriting a copy of the interval store" if kind == "clustered" else \
        f"through twin.append ({days} daily batches)"
    return (f"built in {info['seconds']:.1f} s {how}, {file_size_mib(path):.0f} MiB, build peak RSS "
            f"{info['peak_rss_mib']:.0f} MiB")


# ---- hand-written SQL -------------------------------------------------------------------------------------

METERS_SQL = (
    "SELECT s.series_id, json_extract_string(e.props, '$.carrier.value') AS carrier FROM series s "
    "JOIN relationships r ON r.entity_id = s.entity_id AND r.name = 'containedIn' AND r.target = $district "
    "JOIN entities e ON e.id = s.entity_id WHERE s.attribute = 'reading'"
)
HAND_DAILY = {
    "A join→group": (
        f"WITH m AS ({METERS_SQL}) SELECT (o.ts - 1 + {OFF_US}) // {DAY_US} AS day, m.carrier, sum(o.value) AS value, "
        "count(*) AS n FROM observations o JOIN m USING (series_id) GROUP BY ALL ORDER BY carrier, day"
    ),
    "B group→join": (
        f"WITH m AS ({METERS_SQL}), per AS (SELECT series_id, (ts - 1 + {OFF_US}) // {DAY_US} AS day, "
        "sum(value) AS s, count(*) AS n FROM observations GROUP BY ALL) "
        "SELECT day, m.carrier, sum(s) AS value, sum(n) AS n FROM per JOIN m USING (series_id) "
        "GROUP BY ALL ORDER BY carrier, day"
    ),
    "C semi-join filter, join→group": (
        f"WITH m AS ({METERS_SQL}) SELECT (o.ts - 1 + {OFF_US}) // {DAY_US} AS day, m.carrier, sum(o.value) AS value, "
        "count(*) AS n FROM observations o JOIN m USING (series_id) "
        "WHERE o.series_id IN (SELECT series_id FROM m) GROUP BY ALL ORDER BY carrier, day"
    ),
}
HAND_MONTH = {
    "A join→group by month": (
        f"WITH m AS ({METERS_SQL}) SELECT date_trunc('month', DATE '1970-01-01' + "
        f"CAST((o.ts - 1 + {OFF_US}) // {DAY_US} AS INTEGER)) AS month, m.carrier, sum(o.value) AS value, "
        "count(*) AS n FROM observations o JOIN m USING (series_id) GROUP BY ALL ORDER BY carrier, month"
    ),
    "B day first, then month": (
        f"WITH m AS ({METERS_SQL}), d AS (SELECT (o.ts - 1 + {OFF_US}) // {DAY_US} AS day, m.carrier, "
        "sum(o.value) AS s, count(*) AS n FROM observations o JOIN m USING (series_id) GROUP BY ALL) "
        "SELECT date_trunc('month', DATE '1970-01-01' + CAST(day AS INTEGER)) AS month, carrier, "
        "sum(s) AS value, sum(n) AS n FROM d GROUP BY ALL ORDER BY carrier, month"
    ),
}
HAND_HOURLY = {
    "A join series by entity id": (
        f"SELECT (o.ts - 1 + {OFF_US}) // 3600000000 AS hour, sum(o.value) AS value, count(*) AS n "
        "FROM observations o JOIN series s USING (series_id) WHERE s.entity_id = $entity AND "
        "s.attribute = 'reading' AND o.ts > $start AND o.ts <= $end GROUP BY ALL ORDER BY hour"
    ),
    "B series_id looked up, then constant filter": None,  # two statements, see hourly_b()
}
HAND_DELTA = {
    "A lag() over every reading": (
        f"WITH m AS ({METERS_SQL}), l AS (SELECT o.series_id, o.ts, o.value - lag(o.value) OVER "
        "(PARTITION BY o.series_id ORDER BY o.ts) AS d FROM observations o JOIN m USING (series_id)) "
        f"SELECT (ts - 1 + {OFF_US}) // {DAY_US} AS day, m.carrier, sum(d) AS value, count(*) AS n "
        "FROM l JOIN m USING (series_id) WHERE d IS NOT NULL GROUP BY ALL ORDER BY carrier, day"
    ),
    "B last per day, lag() over days (assumes no resets)": (
        f"WITH m AS ({METERS_SQL}), last AS (SELECT series_id, (ts - 1 + {OFF_US}) // {DAY_US} AS day, "
        "arg_max(value, ts) AS v, count(*) AS n FROM observations GROUP BY ALL), "
        "d AS (SELECT series_id, day, n, v - lag(v) OVER (PARTITION BY series_id ORDER BY day) AS dv, "
        "row_number() OVER (PARTITION BY series_id ORDER BY day) AS k FROM last) "
        "SELECT day, m.carrier, sum(dv) AS value, sum(n) AS n FROM d JOIN m USING (series_id) "
        "GROUP BY ALL ORDER BY carrier, day"
    ),
}


# ---- measurement ------------------------------------------------------------------------------------------


def run_interleaved(fns: dict[str, Callable[[int], Any]], runs: int) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Run every function ``runs`` times (passing the round number), rotating the order each round; returns
    the times and the results of the last round."""
    names = list(fns)
    times: dict[str, list[float]] = {n: [] for n in names}
    last: dict[str, Any] = {}
    for k in range(runs):
        order = names[k % len(names):] + names[:k % len(names)]
        for n in order:
            t0 = time.perf_counter()
            last[n] = fns[n](k)
            times[n].append(time.perf_counter() - t0)
    return times, last


def day_numbers(bucket: pa.ChunkedArray) -> np.ndarray:
    us = pc.cast(pc.cast(bucket, pa.timestamp("us", tz="UTC")), pa.int64()).to_numpy()
    return (us + OFF_US) // DAY_US


def same_answer(twin_t: pa.Table, hand: pa.Table, key: str, skip_first_day: bool = False) -> str:
    """Compare (bucket, group) → value and count between the twin's result and a hand query's."""
    tk = day_numbers(twin_t["bucket"]) if key == "day" else pc.cast(
        pc.cast(twin_t["bucket"], pa.timestamp("us", tz="Asia/Shanghai")), pa.string()).to_numpy(
        zero_copy_only=False)
    hk = hand[key].to_numpy() if key == "day" else np.array(
        [str(x)[:7] for x in hand[key].to_pylist()])
    if key != "day":
        tk = np.array([s[:7] for s in tk])
    tg = twin_t["group"].to_numpy(zero_copy_only=False) if "group" in twin_t.column_names else np.array([""] * len(tk))
    hg = hand["carrier"].to_numpy(zero_copy_only=False) if "carrier" in hand.column_names else np.array(
        [""] * len(hk))
    t = {(a, b): (v, n) for a, b, v, n in zip(tk, tg, twin_t["value"].to_numpy(zero_copy_only=False),
                                              twin_t["count"].to_numpy(), strict=True)}
    h = {(a, b): (v, n) for a, b, v, n in zip(hk, hg, hand["value"].to_numpy(zero_copy_only=False),
                                              hand["n"].to_numpy(), strict=True)}
    if skip_first_day:
        first = min(k[0] for k in h)
        t = {k: v for k, v in t.items() if k[0] != first}
        h = {k: v for k, v in h.items() if k[0] != first}
    if set(t) != set(h):
        return f"DIFFERENT KEYS ({len(t)} vs {len(h)})"
    tv = np.array([t[k][0] for k in sorted(h)], dtype=np.float64)
    hv = np.array([h[k][0] for k in sorted(h)], dtype=np.float64)
    tn = np.array([t[k][1] for k in sorted(h)])
    hn = np.array([h[k][1] for k in sorted(h)])
    if not np.array_equal(tn, hn):
        return "DIFFERENT COUNTS"
    if not np.allclose(tv, hv, rtol=1e-9, atol=1e-6):
        return f"DIFFERENT VALUES (max abs diff {np.max(np.abs(tv - hv)):.3g})"
    return f"same ({len(h)} buckets)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--meters", type=int, default=1000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--runs", type=int, default=15, help="repetitions of each year-wide query")
    ap.add_argument("--meter-runs", type=int, default=40, help="repetitions of the one-meter queries")
    ap.add_argument("--delta-runs", type=int, default=5, help="repetitions of the delta queries")
    ap.add_argument("--cache-dir", default="/tmp/lingang_bench_cache")
    ap.add_argument("--no-delta", action="store_true", help="skip the cumulative store and agg='delta'")
    ap.add_argument("--no-clustered", action="store_true",
                    help="skip the diagnosis on a copy clustered by (series_id, ts)")
    ap.add_argument("--build-only", choices=("interval", "cumulative", "clustered"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    cache = Path(args.cache_dir)
    if args.build_only:
        build(store_path(cache, args.build_only, args.meters, args.days), args.build_only, args.meters, args.days)
        return 0

    print_machine()
    n_rows = args.meters * args.days * SLOTS_PER_DAY
    interval_path = store_path(cache, "interval", args.meters, args.days)
    print(f"store: {args.meters} meters × {args.days} days × 96 = {n_rows:,} readings; {interval_path}: "
          f"{ensure_store(interval_path, 'interval', args.meters, args.days)}")
    cum_path = store_path(cache, "cumulative", args.meters, args.days)
    if not args.no_delta:
        print(f"cumulative copy {cum_path}: {ensure_store(cum_path, 'cumulative', args.meters, args.days)}")

    twin = Twin(open_store(interval_path))
    con = twin.store.con
    start, end = T0, T0 + timedelta(days=args.days)
    rows: list[list[Any]] = []
    verdicts: list[str] = []

    # -- 1. daily totals per carrier, the whole year --------------------------------------------------------
    def twin_daily(_k: int = 0) -> pa.Table:
        return twin.aggregate("reading", under=DISTRICT, bucket="day", agg="sum", group_by="carrier")

    t0 = time.perf_counter()
    first = twin_daily()
    cold = time.perf_counter() - t0
    fns: dict[str, Callable[[int], Any]] = {"twin": twin_daily}
    for name, sql in HAND_DAILY.items():
        fns[name] = lambda _k, sql=sql: con.sql(sql, params={"district": DISTRICT}).to_arrow_table()
    for fn in fns.values():  # warm-up
        fn(0)
    times, last = run_interleaved(fns, args.runs)
    best_name = min(HAND_DAILY, key=lambda n: median(times[n]))
    tw, best = median(times["twin"]), median(times[best_name])
    checks = {n: same_answer(last["twin"], last[n], "day") for n in HAND_DAILY}
    print(f"\n1. daily totals per carrier over {n_rows:,} readings ({args.runs} interleaved runs; first twin "
          f"call after opening the file: {cold * 1e3:.0f} ms, {first.num_rows} rows)")
    print_table(["query", "median ms", "min–max ms", "vs twin", "same answer as twin"],
                [[n, f"{median(times[n]) * 1e3:.1f}", spread(times[n]),
                  "" if n == "twin" else f"{tw / median(times[n]):.2f}×", "" if n == "twin" else checks[n]]
                 for n in fns])
    ok_abs, ok_ratio = tw <= TARGET_DAILY_S, tw <= TARGET_DAILY_RATIO * best
    print(f"twin {tw * 1e3:.1f} ms vs target {TARGET_DAILY_S * 1e3:.0f} ms: {verdict(ok_abs)}; "
          f"ratio to best hand SQL ({best_name}, {best * 1e3:.1f} ms) {tw / best:.2f}× vs ≤ {TARGET_DAILY_RATIO}×: "
          f"{verdict(ok_ratio)}")
    rows.append(["daily × carrier, year", f"{tw * 1e3:.1f}", f"{best * 1e3:.1f} ({best_name})", f"{tw / best:.2f}",
                 f"≤ 300 ms: {verdict(ok_abs)}; ≤ 1.5×: {verdict(ok_ratio)}"])
    verdicts += [verdict(ok_abs), verdict(ok_ratio)]
    same_all = all(c.startswith("same") for c in checks.values())
    if not same_all:
        verdicts.append("FAIL")
    # Where the twin's time goes: its own SQL, run bare, vs the Python around it.
    with SqlTimer(twin.store) as timer:
        for _ in range(5):
            twin_daily()
    print("twin.aggregate statements (ms per call, mean of 5):")
    print_table(["ms", "calls", "statement"], [[f"{ms:.1f}", c, lab] for lab, ms, c in timer.rows(5) if ms >= 0.2])

    # -- 2. one meter's year, hourly ------------------------------------------------------------------------
    def meter(k: int) -> str:
        """The meter of round ``k``: every function of a round reads the same one, rounds differ."""
        return meter_id((k * 37 + 11) % args.meters)

    def twin_hourly(k: int) -> pa.Table:
        return twin.aggregate("reading", entity_id=meter(k), bucket="hour", agg="sum", start=start, end=end)

    params = {"start": T0_US, "end": T0_US + args.days * DAY_US}

    def hourly_a(k: int) -> pa.Table:
        return con.sql(HAND_HOURLY["A join series by entity id"],
                       params={**params, "entity": meter(k)}).to_arrow_table()

    def hourly_b(k: int) -> pa.Table:
        sid = con.execute("SELECT series_id FROM series WHERE entity_id = ? AND attribute = 'reading'",
                          [meter(k)]).fetchall()[0][0]
        return con.sql(f"SELECT (ts - 1 + {OFF_US}) // 3600000000 AS hour, sum(value) AS value, count(*) AS n "
                       f"FROM observations WHERE series_id = {int(sid)} AND ts > $start AND ts <= $end "
                       "GROUP BY ALL ORDER BY hour", params=params).to_arrow_table()

    fns = {"twin": twin_hourly, "A join series by entity id": hourly_a,
           "B series_id looked up, then constant filter": hourly_b}
    for fn in fns.values():
        fn(-1)
    times, last = run_interleaved(fns, args.meter_runs)
    hand_names = [n for n in fns if n != "twin"]
    best_name = min(hand_names, key=lambda n: median(times[n]))
    tw, best = median(times["twin"]), median(times[best_name])
    print(f"\n2. one meter's year at hourly resolution ({args.meter_runs} runs, a different meter each round; "
          f"{last['twin'].num_rows} hours)")
    print_table(["query", "median ms", "min–max ms", "vs twin"],
                [[n, f"{median(times[n]) * 1e3:.2f}", spread(times[n]),
                  "" if n == "twin" else f"{tw / median(times[n]):.2f}×"] for n in fns])
    hourly_same = all(
        last["twin"]["count"].to_numpy().tolist() == last[n]["n"].to_numpy().tolist()
        and np.allclose(last["twin"]["value"].to_numpy(), last[n]["value"].to_numpy(), rtol=1e-12)
        for n in hand_names)
    ok_h = tw <= TARGET_HOURLY_S
    print(f"twin {tw * 1e3:.2f} ms vs target {TARGET_HOURLY_S * 1e3:.0f} ms: {verdict(ok_h)}; ratio to best hand "
          f"SQL ({best_name}) {tw / best:.2f}×; same answer as the hand SQL (last round): {hourly_same}")
    rows.append(["one meter, year, hourly", f"{tw * 1e3:.2f}", f"{best * 1e3:.2f} ({best_name})",
                 f"{tw / best:.2f}", f"≤ 20 ms: {verdict(ok_h)}"])
    verdicts.append(verdict(ok_h))
    with SqlTimer(twin.store) as timer:
        for k in range(5):
            twin_hourly(k)
    print("twin.aggregate statements (ms per call, mean of 5):")
    print_table(["ms", "calls", "statement"], [[f"{ms:.2f}", c, lab] for lab, ms, c in timer.rows(5) if ms >= 0.05])

    # -- 2b. one meter's raw year (twin.read), info only --------------------------------------------------------
    def twin_read(k: int) -> pa.Table:
        return twin.read(meter(k), "reading", start, end)

    def hand_read(k: int) -> pa.Table:
        return con.sql("SELECT s.entity_id, o.ts, o.value FROM observations o JOIN series s USING (series_id) "
                       "WHERE s.entity_id = $entity AND s.attribute = 'reading' AND o.ts >= $start "
                       "AND o.ts < $end ORDER BY o.ts", params={**params, "entity": meter(k)}).to_arrow_table()

    times, last = run_interleaved({"twin.read": twin_read, "hand SQL": hand_read}, args.meter_runs)
    tw, best = median(times["twin.read"]), median(times["hand SQL"])
    print(f"\n2b. one meter's raw year, twin.read ({last['twin.read'].num_rows:,} readings): twin {tw * 1e3:.2f} ms, "
          f"hand SQL {best * 1e3:.2f} ms, ratio {tw / best:.2f}×")
    rows.append(["one meter, year, raw read", f"{tw * 1e3:.2f}", f"{best * 1e3:.2f}", f"{tw / best:.2f}", "no target"])

    # -- 3. month buckets per carrier --------------------------------------------------------------------------
    def twin_month(_k: int = 0) -> pa.Table:
        return twin.aggregate("reading", under=DISTRICT, bucket="month", agg="sum", group_by="carrier")

    fns = {"twin": twin_month}
    for name, sql in HAND_MONTH.items():
        fns[name] = lambda _k, sql=sql: con.sql(sql, params={"district": DISTRICT}).to_arrow_table()
    for fn in fns.values():
        fn(0)
    times, last = run_interleaved(fns, args.runs)
    best_name = min(HAND_MONTH, key=lambda n: median(times[n]))
    tw, best = median(times["twin"]), median(times[best_name])
    checks = {n: same_answer(last["twin"], last[n], "month") for n in HAND_MONTH}
    print(f"\n3. month buckets per carrier ({args.runs} interleaved runs, {last['twin'].num_rows} rows)")
    print_table(["query", "median ms", "min–max ms", "vs twin", "same answer as twin"],
                [[n, f"{median(times[n]) * 1e3:.1f}", spread(times[n]),
                  "" if n == "twin" else f"{tw / median(times[n]):.2f}×", "" if n == "twin" else checks[n]]
                 for n in fns])
    rows.append(["month × carrier, year", f"{tw * 1e3:.1f}", f"{best * 1e3:.1f} ({best_name})", f"{tw / best:.2f}",
                 "no target"])
    twin.close()
    rss_sum = peak_rss_mib()
    print(f"peak RSS after sections 1–3 (sum aggregations): {rss_sum:.0f} MiB")

    # -- 4. delta on cumulative registers -----------------------------------------------------------------------
    if not args.no_delta:
        ctwin = Twin(open_store(cum_path))
        ccon = ctwin.store.con

        def twin_delta(_k: int = 0) -> pa.Table:
            return ctwin.aggregate("reading", under=DISTRICT, bucket="day", agg="delta", group_by="carrier")

        fns = {"twin": twin_delta}
        for name, sql in HAND_DELTA.items():
            fns[name] = lambda _k, sql=sql: ccon.sql(sql, params={"district": DISTRICT}).to_arrow_table()
        times, last = run_interleaved(fns, args.delta_runs)
        tw = median(times["twin"])
        checks = {n: same_answer(last["twin"], last[n], "day", skip_first_day=n.startswith("B"))
                  for n in HAND_DELTA}
        print(f"\n4. agg='delta' per carrier per day on cumulative registers ({args.delta_runs} interleaved runs, "
              "no warm-up)")
        print_table(["query", "median ms", "min–max ms", "vs twin", "same answer as twin"],
                    [[n, f"{median(times[n]) * 1e3:.0f}", spread(times[n]),
                      "" if n == "twin" else f"{tw / median(times[n]):.2f}×", "" if n == "twin" else checks[n]]
                     for n in fns])
        print("(B is not the same semantics — it cannot see meter resets — and its first day differs; it is "
              "compared from the second day on.)")
        a = "A lag() over every reading"
        rows.append(["delta daily × carrier, year", f"{tw * 1e3:.0f}", f"{median(times[a]) * 1e3:.0f} (A lag())",
                     f"{tw / median(times[a]):.2f}", "no target"])
        ctwin.close()
        print(f"peak RSS after section 4 (delta): {peak_rss_mib():.0f} MiB")

    if not args.no_clustered:
        clustered(args, cache, rows)

    rss = peak_rss_mib()
    ok_rss = rss <= TARGET_RSS_MIB
    verdicts.append(verdict(ok_rss))
    print("\nSummary (medians, ms; ratio = twin ÷ best hand SQL)")
    print_table(["query", "twin ms", "best hand SQL ms", "ratio", "target"], rows)
    print(f"daily query answers identical to hand SQL: {verdict(same_all)}")
    print(f"peak RSS of this (query) process: {rss:.0f} MiB vs ≤ {TARGET_RSS_MIB} MiB: {verdict(ok_rss)} "
          f"(sections 1–3 alone: {rss_sum:.0f} MiB)")
    return 0


def clustered(args: argparse.Namespace, cache: Path, rows: list[list[Any]]) -> None:
    """Diagnosis: the same one-meter and daily queries on a copy whose observations are in (series_id, ts)
    order, so DuckDB's zone maps can skip the row groups of other meters."""
    path = store_path(cache, "clustered", args.meters, args.days)
    print(f"\n5. diagnosis — copy clustered by (series_id, ts) {path}: "
          f"{ensure_store(path, 'clustered', args.meters, args.days)}")
    twin = Twin(open_store(path))
    con = twin.store.con
    start, end = T0, T0 + timedelta(days=args.days)
    params = {"start": T0_US, "end": T0_US + args.days * DAY_US}

    def meter(k: int) -> str:
        return meter_id((k * 37 + 11) % args.meters)

    def hourly_b(k: int) -> pa.Table:
        sid = con.execute("SELECT series_id FROM series WHERE entity_id = ? AND attribute = 'reading'",
                          [meter(k)]).fetchall()[0][0]
        return con.sql(f"SELECT (ts - 1 + {OFF_US}) // 3600000000 AS hour, sum(value) AS value, count(*) AS n "
                       f"FROM observations WHERE series_id = {int(sid)} AND ts > $start AND ts <= $end "
                       "GROUP BY ALL ORDER BY hour", params=params).to_arrow_table()

    fns: dict[str, Callable[[int], Any]] = {
        "twin hourly, one meter": lambda k: twin.aggregate("reading", entity_id=meter(k), bucket="hour",
                                                          agg="sum", start=start, end=end),
        "hand A hourly (join series)": lambda k: con.sql(HAND_HOURLY["A join series by entity id"], params={
            **params, "entity": meter(k)}).to_arrow_table(),
        "hand B hourly (constant series_id)": hourly_b,
    }
    for fn in fns.values():
        fn(-1)
    times, _ = run_interleaved(fns, args.meter_runs)
    with SqlTimer(twin.store) as timer:
        for k in range(5):
            fns["twin hourly, one meter"](k)
    daily = {
        "twin daily × carrier": lambda _k: twin.aggregate("reading", under=DISTRICT, bucket="day", agg="sum",
                                                          group_by="carrier"),
        "hand A daily (join→group)": lambda _k: con.sql(HAND_DAILY["A join→group"],
                                                        params={"district": DISTRICT}).to_arrow_table(),
    }
    for fn in daily.values():
        fn(0)
    dtimes, _ = run_interleaved(daily, args.runs)
    times.update(dtimes)
    print_table(["query on the clustered copy", "median ms", "min–max ms"],
                [[n, f"{median(t) * 1e3:.2f}", spread(t)] for n, t in times.items()])
    tw = median(times["twin hourly, one meter"])
    best = min(median(times["hand A hourly (join series)"]), median(times["hand B hourly (constant series_id)"]))
    print(f"twin hourly on the clustered copy {tw * 1e3:.2f} ms (target 20 ms: {verdict(tw <= TARGET_HOURLY_S)}), "
          f"{tw / best:.2f}× the best hand SQL; its statements (ms per call, mean of 5):")
    print_table(["ms", "calls", "statement"], [[f"{ms:.2f}", c, lab] for lab, ms, c in timer.rows(5) if ms >= 0.05])
    rows.append(["(diagnosis) one meter hourly, clustered copy", f"{tw * 1e3:.2f}", f"{best * 1e3:.2f}",
                 f"{tw / best:.2f}", "not the shipped layout"])
    twin.close()


if __name__ == "__main__":
    sys.exit(main())
