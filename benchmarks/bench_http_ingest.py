"""HTTP batch ingest into one server process, against the library path in the same run.

Target (issue "Faces"): ≥ 100,000 readings/s through ``POST /api/v1/observations`` into one ``lingang-twin serve``
process, and its ratio to ``Twin.append`` of the same rows (parsed the same way) in this process.

    python benchmarks/bench_http_ingest.py [--meters 1000] [--batch 50000] [--batches 12] [--format json]

``--format arrow`` (or ``parquet``) sends the same readings as an Arrow IPC stream (Parquet file) body: entity ids
as a dictionary, ``observed_at`` as ``timestamp[us, tz=UTC]`` (issue 16: goal ≥ 3 M readings/s; JSON ≥ 1 M/s).

The client pre-serialises every body with orjson, so its own JSON cost is not in the figure; it sends from this
process while the server runs in another (the machine has 2 cores, so they share them — quoted as measured).
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_common import median, peak_rss_mib, print_machine, print_table, verdict
from lingang_twin.api.binary_readings import ARROW_STREAM, PARQUET, readings_from_body
from lingang_twin.api.observations import batch_from_json_rows
from lingang_twin.app import open_twin

CST = timezone(timedelta(hours=8))


def meters(n: int) -> list[dict]:
    out: list[dict] = [{"id": "urn:ngsi-ld:District:bench", "type": "District"}]
    for i in range(n):
        out.append({"id": f"urn:ngsi-ld:Meter:m{i:05d}", "type": "Meter", "relationships": {
            "containedIn": {"object": "urn:ngsi-ld:District:bench"}},
            "properties": {"carrier": {"value": "electricity"}, "unit": {"value": "kWh"}}})
    return out


def bodies(n_meters: int, per_batch: int, batches: int) -> list[list[dict]]:
    """Successive 15-minute slices across all meters, ``per_batch`` readings each."""
    start = datetime(2025, 1, 1, tzinfo=CST)
    out, step = [], 0
    for _ in range(batches):
        rows = []
        while len(rows) < per_batch:
            ts = (start + timedelta(minutes=15 * step)).isoformat()
            rows.extend({"entity_id": f"urn:ngsi-ld:Meter:m{i:05d}", "attribute": "reading", "observed_at": ts,
                         "value": float(i % 97) + step * 0.01} for i in range(n_meters))
            step += 1
        out.append(rows[:per_batch])
    return out


def binary_bodies(n_meters: int, per_batch: int, batches: int, kind: str) -> list[bytes]:
    """The readings of :func:`bodies` (same meters, instants and values) as Arrow IPC streams or Parquet files."""
    ids = pa.array([f"urn:ngsi-ld:Meter:m{i:05d}" for i in range(n_meters)]).dictionary_encode()
    t0 = int(datetime(2025, 1, 1, tzinfo=CST).timestamp()) * 1_000_000
    out = []
    for b in range(batches):
        k = b * per_batch + np.arange(per_batch)
        step, meter = k // n_meters, k % n_meters
        table = pa.table({
            "entity_id": pa.DictionaryArray.from_arrays(pa.array(meter.astype(np.int32)), ids.dictionary),
            "attribute": pa.DictionaryArray.from_arrays(pa.array(np.zeros(per_batch, np.int32)), ["reading"]),
            "observed_at": pa.array(t0 + step * 900_000_000, type=pa.timestamp("us", tz="UTC")),
            "value": (meter % 97).astype(np.float64) + step * 0.01})
        if kind == "arrow":
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)
            out.append(sink.getvalue().to_pybytes())
        else:
            buf = io.BytesIO()
            pq.write_table(table, buf)
            out.append(buf.getvalue())
    return out


def server_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--meters", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=50_000)
    ap.add_argument("--batches", type=int, default=12)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--format", choices=("json", "arrow", "parquet"), default="json")
    args = ap.parse_args()
    print_machine()
    work = Path(tempfile.mkdtemp(prefix="lingang-http-"))
    media = {"json": "application/json", "arrow": ARROW_STREAM, "parquet": PARQUET}[args.format]
    if args.format == "json":
        data = bodies(args.meters, args.batch, args.batches)
        payloads = [orjson.dumps(rows) for rows in data]
    else:
        payloads = binary_bodies(args.meters, args.batch, args.batches, args.format)
    print(f"{args.batches} batches × {args.batch} readings as {media}, body {len(payloads[0]) / 1e6:.1f} MB each")

    # Library path: the same bodies, read by the same function, appended in this process.
    lib = open_twin(work / "lib.duckdb")
    lib.upsert(meters(args.meters))
    lib_rates = []
    for body in payloads:
        t = time.perf_counter()
        if args.format == "json":
            lib.append(batch_from_json_rows(orjson.loads(body)))
        else:
            lib.append(readings_from_body(body, media, args.batch))
        lib_rates.append(args.batch / (time.perf_counter() - t))
    lib.close()

    db = work / "http.duckdb"
    seed = open_twin(db)
    seed.upsert(meters(args.meters))
    seed.close()
    env = {**os.environ, "LINGANG_MAX_BODY_BYTES": str(64 * 1024 * 1024),
           "LINGANG_MAX_BATCH_ITEMS": str(args.batch)}
    proc = subprocess.Popen([sys.executable, "-m", "lingang_twin.cli", "serve", "--db", str(db), "--port",
                             str(args.port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{args.port}"
        for _ in range(300):
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        http_rates, resend_rates = [], []
        with httpx.Client(base_url=url, timeout=120, headers={"content-type": media}) as client:
            for body in payloads:
                t = time.perf_counter()
                r = client.post("/api/v1/observations", content=body)
                dt = time.perf_counter() - t
                assert r.status_code == 200 and r.json()["inserted"] == args.batch, r.text
                http_rates.append(args.batch / dt)
            for body in payloads[:3]:
                t = time.perf_counter()
                r = client.post("/api/v1/observations", content=body)
                assert r.json()["duplicates"] == args.batch
                resend_rates.append(args.batch / (time.perf_counter() - t))
        rss = server_rss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait()
    lib_med, http_med = median(lib_rates), median(http_rates)
    goal = {"json": 1_000_000, "arrow": 3_000_000, "parquet": 3_000_000}[args.format]
    print_table(["path", "median readings/s", "ratio to library", "target"], [
        ["library: Twin.append (same parse)", f"{lib_med:,.0f}", "1.00", ""],
        [f"HTTP POST /api/v1/observations ({args.format})", f"{http_med:,.0f}", f"{http_med / lib_med:.2f}",
         f"≥ {goal:,} {verdict(http_med >= goal)}"],
        ["HTTP resend (all duplicates)", f"{median(resend_rates):,.0f}", f"{median(resend_rates) / lib_med:.2f}", ""],
    ])
    print(f"server peak RSS: {rss:.0f} MiB; client peak RSS: {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
