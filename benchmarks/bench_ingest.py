"""Library ingest: ``twin.append(ObservationBatch.from_arrays(...))`` against a bare DuckDB Arrow append.

Target (issue "Twin core"): ≥ 1,000,000 readings/s with idempotency kept (a resent batch inserts nothing).

Scenario: ``--meters`` meters (default 1,000) registered as ``Meter`` entities in one District, 15-minute
readings. The twin's DuckDB file first receives a history of ``--history-days`` days (default 8 weeks) with
three 10-day gaps left open. Then, each measured on its own:

* ``fresh``   — ``--batches`` successive batches of ``--days-per-batch`` days (default 10 days → 960,000
  readings per batch with 1,000 meters), newer than anything stored: timed as ``from_arrays`` (validation)
  + ``append``, and the ``append`` alone;
* ``resend``  — a batch that is already stored, sent again (must insert 0 and report every reading as a
  duplicate);
* ``late``    — out-of-order batches that fill the gaps in the history (older than stored data, so the
  idempotency anti-join cannot be pruned away by the ``ts`` zone maps);
* ``half``    — batches whose first half is already stored and second half is new;
* ``daily``   — 1-day batches (96,000 readings with 1,000 meters), the size of a daily feed.

Baselines, in the same run and interleaved with the twin so they share the machine's noise, on a second
DuckDB file holding the same history: ``bare`` — ``con.register(arrow)`` + ``INSERT INTO t SELECT * FROM
arrow`` into a plain ``(series_id INTEGER, ts BIGINT, value DOUBLE)`` table, no checks at all; ``idem`` — the
same plus a hand-written idempotency anti-join (for reference: what idempotency alone costs).

Compaction runs on its background thread (``open_store``), so it is in the measured appends only as the CPU it
takes beside them; ``fresh + compaction`` therefore also reports the wall time of the fresh batches plus the wait
for the compaction they caused to finish, per batch.

``--year-days N`` (issue 16) builds a second twin of ``--meters`` meters day by day (``N`` batches of one day,
meter by meter as in ``bench_aggregate``), timed from the first append to the end of the last compaction, against
the same rows appended bare into a plain table; it also records each append's latency and whether a compaction
step ran meanwhile (max and p99 of both kinds).

Run: ``.venv/bin/python benchmarks/bench_ingest.py [--meters N] [--days-per-batch N] [--batches N]
[--year-days 365]`` (tiny: ``--meters 50 --days-per-batch 1 --history-days 56 --batches 5``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

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
    verdict,
)
from _sql_timer import SqlTimer
from lingang_twin.core.observations import ObservationBatch
from lingang_twin.core.twin import Twin
from lingang_twin.stores import open_store

DISTRICT = "urn:ngsi-ld:District:iicz"
SLOTS_PER_DAY = 96  # 15-minute readings
SLOT_US = 900 * 1_000_000
T0_US = 1_704_038_400 * 1_000_000  # 2024-01-01 00:00 Asia/Shanghai, as UTC epoch microseconds
CARRIERS = (("electricity", "kWh"), ("water", "m3"), ("natural_gas", "m3"), ("heat", "GJ"), ("diesel", "L"))
TARGET_RATE = 1_000_000  # readings/s


def meter_id(i: int) -> str:
    return f"urn:ngsi-ld:Meter:m{i:05d}"


class Feed:
    """Deterministic readings for ``meters`` meters: the value of (meter, slot) never changes, so a resent
    batch is an exact duplicate."""

    def __init__(self, meters: int) -> None:
        self.meters = meters
        self.ids = pa.array([meter_id(i) for i in range(meters)], type=pa.string())

    def rows(self, day0: int, days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(meter index, slot, value), meter-major (each meter's readings in time order)."""
        k = days * SLOTS_PER_DAY
        m = np.repeat(np.arange(self.meters, dtype=np.int64), k)
        s = np.tile(np.arange(day0 * SLOTS_PER_DAY, day0 * SLOTS_PER_DAY + k, dtype=np.int64), self.meters)
        v = ((m * 7919 + s * 104_729) % 10_007).astype(np.float64) / 100.0
        return m, s, v

    def twin_arrays(self, day0: int, days: int) -> tuple[pa.Array, pa.Array, np.ndarray]:
        """What a caller hands ``ObservationBatch.from_arrays``: string ids, tz-aware timestamps, float64."""
        m, s, v = self.rows(day0, days)
        ids = pc.take(self.ids, pa.array(m))
        ts = pa.array(T0_US + s * SLOT_US, type=pa.timestamp("us", tz="UTC"))
        return ids, ts, v

    def bare_table(self, day0: int, days: int) -> pa.Table:
        m, s, v = self.rows(day0, days)
        return pa.table({
            "series_id": pa.array((m + 1).astype(np.int32)),
            "ts": pa.array(T0_US + s * SLOT_US),
            "value": pa.array(v),
        })


class Bare:
    """The baselines: a plain table (``t``) and a plain table with a hand-written anti-join (``t_idem``)."""

    def __init__(self, path: Path) -> None:
        remove_db(path)
        self.con = duckdb.connect(str(path))
        for name in ("t", "t_idem"):
            self.con.execute(f"CREATE TABLE {name} (series_id INTEGER, ts BIGINT, value DOUBLE)")

    def append(self, table: pa.Table) -> None:
        self.con.register("b", table)
        self.con.execute("INSERT INTO t SELECT * FROM b")
        self.con.unregister("b")

    def append_idem(self, table: pa.Table) -> int:
        lo, hi = pc.min_max(table["ts"]).values()
        self.con.register("b", table)
        row = self.con.execute(
            "INSERT INTO t_idem SELECT b.* FROM b ANTI JOIN (SELECT series_id, ts FROM t_idem "
            "WHERE ts BETWEEN $lo AND $hi) o ON o.series_id = b.series_id AND o.ts = b.ts",
            {"lo": lo.as_py(), "hi": hi.as_py()}).fetchall()[0]
        self.con.unregister("b")
        return int(row[0]) if row else 0


def setup_twin(path: Path, meters: int) -> tuple[Twin, float]:
    remove_db(path)
    twin = Twin(open_store(path))
    entities: list[dict] = [{"id": DISTRICT, "type": "District", "properties": {"name": "临港国际创新协同区"}}]
    for i in range(meters):
        carrier, unit = CARRIERS[i % len(CARRIERS)]
        entities.append({"id": meter_id(i), "type": "Meter",
                         "properties": {"carrier": carrier, "unit": unit, "register": "interval"},
                         "relationships": {"containedIn": DISTRICT}})
    t0 = time.perf_counter()
    twin.upsert(entities)
    return twin, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--meters", type=int, default=1000)
    ap.add_argument("--days-per-batch", type=int, default=10, help="days per measured batch (10 → 960k readings)")
    ap.add_argument("--batches", type=int, default=7, help="measured fresh batches (median over these)")
    ap.add_argument("--history-days", type=int, default=56, help="span of the pre-stored history [days]")
    ap.add_argument("--repeats", type=int, default=5, help="resend / daily repetitions")
    ap.add_argument("--dir", default="/tmp/lingang_bench_ingest")
    ap.add_argument("--no-breakdown", action="store_true", help="skip the per-statement breakdown and profile")
    ap.add_argument("--year-days", type=int, default=0, help="also build a twin day by day for this many days")
    ap.add_argument("--year-only", action="store_true", help="only the day-by-day build")
    args = ap.parse_args()
    if args.year_only:
        print_machine()
        year_build(Path(args.dir), Feed(args.meters), args.year_days or 365)
        return 0
    days, meters = args.days_per_batch, args.meters
    per_batch = meters * days * SLOTS_PER_DAY

    print_machine()
    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    twin_path, bare_path = work / "twin.duckdb", work / "bare.duckdb"
    feed = Feed(meters)
    twin, t_upsert = setup_twin(twin_path, meters)
    bare = Bare(bare_path)
    print(f"{meters} meters upserted in {t_upsert:.2f} s; batch = {meters} meters × {days} d × 96 = "
          f"{per_batch:,} readings")

    # History with three gaps of `days` days each, to be filled later by the late batches.
    h = args.history_days
    gaps = [(h * k // 4 - days // 2, days) for k in (1, 2, 3)]
    gap_days = {g0 + j for g0, n in gaps for j in range(n)}
    if min(g0 for g0, _ in gaps) < 0 or len(gap_days) != 3 * days or max(gap_days) >= h:
        ap.error("--history-days too short for three gaps of --days-per-batch days")
    t0 = time.perf_counter()
    stored_history = 0
    d = 0
    while d < h:
        run = 0
        while d + run < h and (d + run) not in gap_days and run < days:
            run += 1
        if run == 0:
            d += 1
            continue
        ids, ts, v = feed.twin_arrays(d, run)
        r = twin.append(ObservationBatch.from_arrays(ids, "reading", ts, v))
        bare.append(feed.bare_table(d, run))
        bare.append_idem(feed.bare_table(d, run))
        stored_history += r.inserted
        d += run
    print(f"history: {stored_history:,} readings over {h} days with gaps at days "
          f"{', '.join(f'{g0}–{g0 + n - 1}' for g0, n in gaps)}; loaded in {time.perf_counter() - t0:.1f} s")

    results: dict[str, dict[str, list[float]]] = {}
    checks: list[str] = []

    def measure(name: str, day0: int, ndays: int, *, expect_inserted: int, expect_dup: int, k: int) -> None:
        """One twin append (validation + append) and the two baselines on the same rows, order rotated."""
        ids, ts, v = feed.twin_arrays(day0, ndays)
        table = feed.bare_table(day0, ndays)
        rec = results.setdefault(name, {"total": [], "append": [], "validate": [], "bare": [], "idem": [],
                                        "n": []})
        steps = ["twin", "bare", "idem"]
        steps = steps[k % 3:] + steps[:k % 3]
        for step in steps:
            if step == "twin":
                a = time.perf_counter()
                batch = ObservationBatch.from_arrays(ids, "reading", ts, v)
                b = time.perf_counter()
                r = twin.append(batch)
                c = time.perf_counter()
                rec["total"].append(c - a)
                rec["append"].append(c - b)
                rec["validate"].append(b - a)
                rec["n"].append(len(batch))
                if (r.inserted, r.duplicates) != (expect_inserted, expect_dup):
                    checks.append(f"{name}: inserted {r.inserted} duplicates {r.duplicates}, expected "
                                  f"{expect_inserted}/{expect_dup}")
            elif step == "bare":
                a = time.perf_counter()
                bare.append(table)
                rec["bare"].append(time.perf_counter() - a)
            else:
                a = time.perf_counter()
                bare.append_idem(table)
                rec["idem"].append(time.perf_counter() - a)

    n = per_batch
    day = h
    twin.store.wait_compacted()  # the history's compaction is not the fresh batches'
    wall0 = time.perf_counter()
    bare_fresh = 0.0
    for k in range(args.batches):
        measure("fresh", day, days, expect_inserted=n, expect_dup=0, k=k)
        bare_fresh += results["fresh"]["bare"][-1] + results["fresh"]["idem"][-1]
        day += days
    twin.store.wait_compacted()
    # Wall time of the fresh batches, their compaction included, less the baselines measured in between.
    fresh_wall = (time.perf_counter() - wall0 - bare_fresh) / args.batches
    last_fresh = day - days
    for k in range(args.repeats):
        measure("resend", last_fresh, days, expect_inserted=0, expect_dup=n, k=k)
    for k, (g0, gn) in enumerate(gaps):
        measure("late", g0, gn, expect_inserted=n, expect_dup=0, k=k)
    half = days // 2
    for k in range(3):
        # First `half` days are the last stored ones; the rest is new.
        measure("half", day - half, days, expect_inserted=meters * (days - half) * SLOTS_PER_DAY,
                expect_dup=meters * half * SLOTS_PER_DAY, k=k)
        day += days - half
    for k in range(args.repeats):
        measure("daily", day, 1, expect_inserted=meters * SLOTS_PER_DAY, expect_dup=0, k=k)
        day += 1

    # fetchall, not fetchone: DuckDB 2 refuses con.register() while a result is unfinished (see BENCHMARKS.md).
    stored = twin.store.con.execute(
        "SELECT count(*), count(DISTINCT (series_id, ts)) FROM observations").fetchall()[0]
    if stored is None or stored[0] != stored[1]:
        checks.append(f"observations hold duplicates: {stored}")
    bare_rows = bare.con.execute("SELECT count(*) FROM t_idem").fetchall()[0]
    if bare_rows is None or stored is None or bare_rows[0] != stored[0]:
        checks.append(f"idem baseline holds {bare_rows} rows, twin {stored}")

    print()
    print("Medians; rate = readings / s; ratio = twin time ÷ bare append time (1.0 = as fast as raw DuckDB).")
    rows = []
    for name, rec in results.items():
        nn = rec["n"][0]
        tot, app, val = median(rec["total"]), median(rec["append"]), median(rec["validate"])
        bare_t, idem_t = median(rec["bare"]), median(rec["idem"])
        rows.append([name, len(rec["total"]), f"{nn:,}", f"{val * 1e3:.0f}", f"{app * 1e3:.0f}",
                     f"{tot * 1e3:.0f}", f"{nn / tot / 1e6:.2f} M", f"{nn / app / 1e6:.2f} M",
                     f"{bare_t * 1e3:.0f}", f"{nn / bare_t / 1e6:.2f} M", f"{tot / bare_t:.2f}",
                     f"{idem_t * 1e3:.0f}", f"{nn / idem_t / 1e6:.2f} M"])
    print_table(["batch", "runs", "readings", "from_arrays ms", "append ms", "total ms", "rate (total)",
                 "rate (append)", "bare ms", "bare rate", "ratio", "bare+antijoin ms", "bare+antijoin rate"],
                rows)
    fresh = results["fresh"]
    bare_med = median(fresh["bare"])
    print(f"fresh + compaction (wall time of the {args.batches} fresh batches until their compaction finished, "
          f"per batch): {fresh_wall * 1e3:.0f} ms = {fresh['n'][0] / fresh_wall / 1e6:.2f} M readings/s, "
          f"{fresh_wall / bare_med:.2f}× the bare append (goal ≤ 3×: {verdict(fresh_wall / bare_med <= 3)})")
    rate = fresh["n"][0] / median(fresh["total"])
    idem_ok = not checks
    print()
    print(f"fresh-batch rate (from_arrays + append, median of {len(fresh['total'])}): {rate:,.0f} readings/s "
          f"vs target {TARGET_RATE:,}: {verdict(rate >= TARGET_RATE)}")
    print(f"idempotency (resend inserts 0, no duplicate rows stored): {verdict(idem_ok)}")
    for c in checks:
        print("  CHECK FAILED:", c)
    print(f"twin file {file_size_mib(twin_path):.0f} MiB ({stored[0] if stored else '?':,} readings), "
          f"bare file {file_size_mib(bare_path):.0f} MiB")

    if not args.no_breakdown:
        breakdown(twin, feed, day, days)
    print(f"peak RSS of this process (twin + baselines): {peak_rss_mib():.0f} MiB")
    twin.close()
    bare.con.close()
    if args.year_days:
        year_build(work, feed, args.year_days)
    sys.stdout.flush()
    return 0


def year_build(work: Path, feed: Feed, days: int) -> None:
    """A year (``days``) of ``feed.meters`` meters appended day by day, compaction included, against bare
    appends of the same rows, interleaved day by day so both share the machine's noise."""
    path, bare_path = work / "year.duckdb", work / "year_bare.duckdb"
    twin, _ = setup_twin(path, feed.meters)
    bare = Bare(bare_path)
    compaction = twin.store._compaction
    twin_s = bare_s = 0.0
    quiet: list[float] = []
    busy: list[float] = []
    total = 0
    for d in range(days):
        a = time.perf_counter()
        ids, ts, v = feed.twin_arrays(d, 1)
        during = compaction is not None and compaction._busy
        r = twin.append(ObservationBatch.from_arrays(ids, "reading", ts, v))
        b = time.perf_counter()
        during = during or (compaction is not None and compaction._busy)
        (busy if during else quiet).append(b - a)
        twin_s += b - a
        total += r.inserted
        table = feed.bare_table(d, 1)
        c = time.perf_counter()
        bare.append(table)
        bare_s += time.perf_counter() - c
    a = time.perf_counter()
    twin.store.wait_compacted()
    twin_s += time.perf_counter() - a
    steps = compaction.steps if compaction is not None else 0
    twin.close()
    bare.con.close()
    rate, bare_rate = total / twin_s, total / bare_s
    print()
    print(f"Day-by-day build: {feed.meters} meters × {days} days = {total:,} readings in {days} batches of "
          f"{feed.meters * SLOTS_PER_DAY:,} (from_arrays + append, compaction included: {steps} steps)")
    print_table(["path", "seconds", "readings/s", "ratio to bare"], [
        ["twin (validation, idempotent append, compaction)", f"{twin_s:.2f}", f"{rate / 1e6:.2f} M",
         f"{twin_s / bare_s:.2f}"],
        ["bare DuckDB Arrow append", f"{bare_s:.2f}", f"{bare_rate / 1e6:.2f} M", "1.00"]])
    print(f"goal ≥ 5 M readings/s: {verdict(rate >= 5e6)}")

    def stats(xs: list[float]) -> str:
        if not xs:
            return "none"
        return f"{len(xs)} appends, median {median(xs) * 1e3:.1f} ms, p99 {np.percentile(xs, 99) * 1e3:.1f} ms, " \
               f"max {max(xs) * 1e3:.1f} ms"

    print(f"append latency while a compaction ran: {stats(busy)}")
    print(f"append latency otherwise:              {stats(quiet)}")
    remove_db(path)
    remove_db(bare_path)


def breakdown(twin: Twin, feed: Feed, day: int, days: int) -> None:
    """Where an append's time goes: per-statement timings and a cProfile of Python-side work."""
    print()
    print(f"Breakdown of one fresh append ({days}-day batch; SQL statements timed one by one):")
    ids, ts, v = feed.twin_arrays(day, days)
    batch = ObservationBatch.from_arrays(ids, "reading", ts, v)
    a = time.perf_counter()
    with SqlTimer(twin.store) as timer:
        twin.append(batch)
    total = time.perf_counter() - a
    rows = [[f"{ms:.1f}", calls, label] for label, ms, calls in timer.rows() if ms >= 0.5]
    rows.append([f"{(total - timer.total()) * 1e3:.1f}", "", "(Python outside SQL: plan_series, arrow prep, …)"])
    print_table(["ms", "calls", "statement"], rows)
    print(f"total {total * 1e3:.0f} ms")
    # The same for a resend of that batch (idempotency path).
    a = time.perf_counter()
    with SqlTimer(twin.store) as timer:
        twin.append(batch)
    total = time.perf_counter() - a
    print()
    print("Breakdown of a resend of that batch:")
    rows = [[f"{ms:.1f}", calls, label] for label, ms, calls in timer.rows() if ms >= 0.5]
    rows.append([f"{(total - timer.total()) * 1e3:.1f}", "", "(Python outside SQL)"])
    print_table(["ms", "calls", "statement"], rows)
    print(f"total {total * 1e3:.0f} ms")
    # Python-side hot spots of from_arrays + append.
    ids, ts, v = feed.twin_arrays(day + days, days)
    prof = cProfile.Profile()
    prof.enable()
    twin.append(ObservationBatch.from_arrays(ids, "reading", ts, v))
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(18)
    print()
    print("cProfile of from_arrays + append (cumulative, top 18):")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])


if __name__ == "__main__":
    sys.exit(main())
