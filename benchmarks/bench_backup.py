"""Backing up a live twin: how long ``DuckDBStore.backup`` takes and what a write meets meanwhile.

Baselines in the same run, on the same file: a bare CHECKPOINT + file copy (the unsafe way the issue warned
about: fast, but only right with no writer and no WAL), and the same writes with no backup running.

    python benchmarks/bench_backup.py [--readings 5000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from _bench_common import median, peak_rss_mib, print_machine, print_table, remove_db
from lingang_twin.core.twin import Twin
from lingang_twin.stores.duckdb_store import DuckDBStore

CST = timezone(timedelta(hours=8))
METER = "urn:ngsi-ld:Meter:bench"


def build(path: Path, readings: int) -> Twin:
    twin = Twin(DuckDBStore(path, compact_rows=0))
    twin.upsert([{"id": "urn:ngsi-ld:District:bench", "type": "District", "properties": {}},
                 {"id": METER, "type": "Meter", "properties": {"carrier": "electricity", "unit": "kWh",
                                                               "register": "interval"},
                  "relationships": {"containedIn": "urn:ngsi-ld:District:bench"}}])
    twin.append([{"entity_id": METER, "attribute": "reading", "observed_at": datetime(2020, 1, 1, tzinfo=CST),
                  "value": 1.0}])
    # Bulk rows straight into the table (the benchmark measures the copy, not ingest): 1,000 series.
    con = twin.store.con  # type: ignore[attr-defined]
    con.execute("INSERT INTO series SELECT 1000 + i, 'urn:ngsi-ld:Meter:m' || i, 'reading', 'kWh' "
                "FROM range(1000) t(i)")
    con.execute(f"INSERT INTO observations SELECT 1000 + (i % 1000), 1577808000000000 + (i // 1000) * 900000000, "
                f"random() FROM range({readings}) t(i)")
    con.execute("CHECKPOINT")
    return twin


def write_latencies(twin: Twin, stop: threading.Event, out: list[float], start_day: int) -> None:
    """96-reading batches, one after another, until ``stop``; the duration of each [s]."""
    day = start_day
    while not stop.is_set():
        t0 = datetime(2030, 1, 1, tzinfo=CST) + timedelta(days=day)
        rows = [{"entity_id": METER, "attribute": "reading", "observed_at": t0 + timedelta(minutes=15 * i),
                 "value": 1.0} for i in range(96)]
        began = time.perf_counter()
        twin.append(rows)
        out.append(time.perf_counter() - began)
        day += 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--readings", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print_machine()
    folder = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    db = folder / "live.duckdb"
    twin = build(db, args.readings)
    print(f"twin file: {db.stat().st_size / 2**20:.0f} MiB, {args.readings:,} readings")
    backups, copies, during, idle = [], [], [], []
    day = 0
    for run in range(args.runs):
        # Writes alone, for as long as a backup takes.
        stop = threading.Event()
        lat: list[float] = []
        writer = threading.Thread(target=write_latencies, args=(twin, stop, lat, day))
        writer.start()
        time.sleep(2.0)
        stop.set()
        writer.join()
        idle.extend(lat)
        day += len(lat) + 1
        # A backup with the same writer running.
        target = folder / f"b{run}.duckdb"
        stop = threading.Event()
        lat = []
        writer = threading.Thread(target=write_latencies, args=(twin, stop, lat, day))
        writer.start()
        began = time.perf_counter()
        twin.store.backup(target)  # type: ignore[attr-defined]
        backups.append(time.perf_counter() - began)
        stop.set()
        writer.join()
        during.extend(lat)
        day += len(lat) + 1
        remove_db(target)
        # The bare copy, writes stopped (the only way it is even consistent).
        began = time.perf_counter()
        twin.store.con.execute("CHECKPOINT")  # type: ignore[attr-defined]
        shutil.copyfile(db, folder / "copy.duckdb")
        copies.append(time.perf_counter() - began)
        (folder / "copy.duckdb").unlink()

    def p95(xs: list[float]) -> float:
        return statistics.quantiles(xs, n=20)[-1] if len(xs) >= 20 else max(xs)

    print_table(["what", "median", "p95 / spread", "baseline", "ratio"], [
        ["backup (COPY FROM DATABASE, writes on)", f"{median(backups):.2f} s", f"{min(backups):.2f}–"
         f"{max(backups):.2f} s", f"bare CHECKPOINT + copy, writes off: {median(copies):.2f} s",
         f"{median(backups) / median(copies):.1f}×"],
        ["96-reading write during a backup", f"{median(during) * 1e3:.1f} ms", f"{p95(during) * 1e3:.1f} ms",
         f"same writes, no backup: {median(idle) * 1e3:.1f} ms (p95 {p95(idle) * 1e3:.1f})",
         f"{median(during) / median(idle):.1f}×"],
    ])
    print(f"writes during backups: {len(during)}, alone: {len(idle)}; peak RSS {peak_rss_mib():.0f} MiB")
    twin.close()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
