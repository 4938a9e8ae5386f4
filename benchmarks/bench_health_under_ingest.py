"""``/health`` latency while a large ingest runs, against ``/health`` idle, in one real server process.

Target (issue 10, item 7): ``/health`` p99 ≤ 50 ms while a large ingest runs. The ingest was ``async def`` doing
synchronous DuckDB work on the event loop, so one 31 MB CSV blocked every other request for 653 ms. Then the work
moved to a worker thread, but a JSON body's parse holds the GIL (orjson), so JSON still stalled the loop; large
JSON bodies are now read in child processes (``api/parse_pool.py``, decision 44). Compare with the previous code by
running this script with ``PYTHONPATH`` pointing at it.

    python benchmarks/bench_health_under_ingest.py [--rows 480000] [--batches 6] [--format csv|json]

One ``lingang-twin serve`` process on a free port over a fresh file with ``--meters`` meters. First ``/health`` is
probed idle (``--probes`` requests, one every ``--every`` ms); then ``curl`` posts ``--batches`` batches of
``--rows`` new readings one after another (CSV ≈ 31 MB each at the default size, written to files before timing)
while this process keeps probing ``/health`` at the same pace until the ingest ends. The figures are the latency
percentiles of both phases and their ratio. The machine has 2 cores that the clients and the server share:
quoted as measured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_common import print_machine, print_table, verdict
from lingang_twin.app import open_twin

CST = timezone(timedelta(hours=8))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def meters(n: int) -> list[dict]:
    out: list[dict] = [{"id": "urn:ngsi-ld:District:bench", "type": "District"}]
    out += [{"id": f"urn:ngsi-ld:Meter:m{i:05d}", "type": "Meter",
             "relationships": {"containedIn": {"object": "urn:ngsi-ld:District:bench"}},
             "properties": {"carrier": {"value": "electricity"}, "unit": {"value": "kWh"}}} for i in range(n)]
    return out


def payloads(n_meters: int, rows: int, batches: int, fmt: str) -> list[bytes]:
    """``batches`` bodies of ``rows`` new readings each: successive 15-minute slices across all meters."""
    start = datetime(2025, 1, 1, tzinfo=CST)
    out, step = [], 0
    for _ in range(batches):
        body: list[tuple[str, str, float]] = []
        while len(body) < rows:
            ts = (start + timedelta(minutes=15 * step)).isoformat()
            body.extend((f"urn:ngsi-ld:Meter:m{i:05d}", ts, float(i % 97) + step * 0.01) for i in range(n_meters))
            step += 1
        body = body[:rows]
        if fmt == "csv":
            text = "entity_id,attribute,observed_at,value\n" + "".join(f"{e},reading,{t},{v}\n" for e, t, v in body)
            out.append(text.encode())
        else:
            out.append(orjson.dumps([{"entity_id": e, "attribute": "reading", "observed_at": t, "value": v}
                                     for e, t, v in body]))
    return out


def probe(client: httpx.Client, stop: threading.Event | None, count: int, every: float) -> list[float]:
    """``/health`` latencies [s], one request every ``every`` s, ``count`` of them or until ``stop`` is set."""
    out: list[float] = []
    while (stop is None and len(out) < count) or (stop is not None and not stop.is_set()):
        t = time.perf_counter()
        r = client.get("/health")
        out.append(time.perf_counter() - t)
        assert r.status_code == 200, r.text
        time.sleep(max(0.0, every - (time.perf_counter() - t)))
    return out


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--meters", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=480_000, help="readings per batch (≈ 31 MB of CSV at 480,000)")
    ap.add_argument("--batches", type=int, default=6)
    ap.add_argument("--format", choices=("csv", "json"), default="csv")
    ap.add_argument("--probes", type=int, default=300, help="idle /health requests")
    ap.add_argument("--every", type=float, default=20.0, help="pause between /health requests [ms]")
    args = ap.parse_args()
    print_machine()
    work = Path(tempfile.mkdtemp(prefix="lingang-health-"))
    bodies = payloads(args.meters, args.rows, args.batches, args.format)
    print(f"{args.batches} {args.format} batches × {args.rows:,} readings, {len(bodies[0]) / 1e6:.1f} MB each "
          "(sent by curl)")
    files = []
    for k, body in enumerate(bodies):
        files.append(work / f"batch{k}.{args.format}")
        files[-1].write_bytes(body)
    del bodies
    db = work / "health.duckdb"
    seed = open_twin(db)
    seed.upsert(meters(args.meters))
    seed.close()
    port = free_port()
    env = {**os.environ, "LINGANG_MAX_BODY_BYTES": str(256 * 1024 * 1024), "LINGANG_MAX_BATCH_ITEMS": str(args.rows)}
    proc = subprocess.Popen([sys.executable, "-m", "lingang_twin.cli", "serve", "--db", str(db), "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    every = args.every / 1e3
    media = "text/csv" if args.format == "csv" else "application/json"
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        with httpx.Client(base_url=url, timeout=60) as client:
            probe(client, None, 20, every)  # warm-up: worker threads and their read cursors exist
            idle = probe(client, None, args.probes, every)
            done = threading.Event()
            ingest_s: list[float] = []
            failures: list[str] = []

            def ingest() -> None:
                # curl sends, so the big uploads never compete with the probes for this process's GIL.
                try:
                    for k, path in enumerate(files):
                        out = work / f"answer{k}.json"
                        t = time.perf_counter()
                        code = subprocess.run(
                            ["curl", "-s", "-o", str(out), "-w", "%{http_code}", "-H", f"content-type: {media}",
                             "--data-binary", f"@{path}", f"{url}/api/v1/observations"],
                            capture_output=True, text=True, timeout=600).stdout
                        ingest_s.append(time.perf_counter() - t)
                        answer = out.read_text()
                        if code != "200" or orjson.loads(answer)["inserted"] != args.rows:
                            failures.append(f"{code}: {answer[:300]}")
                finally:
                    done.set()

            writer = threading.Thread(target=ingest)
            writer.start()
            busy = probe(client, done, 0, every)
            writer.join()
        assert not failures, failures[0]
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)  # ≈ 100–130 MB of bodies and a DuckDB file per run
    rate = args.rows * args.batches / sum(ingest_s)
    print(f"ingest: {args.batches} batches in {sum(ingest_s):.1f} s ({rate:,.0f} readings/s), "
          f"{len(busy)} /health probes during it")
    p99_idle, p99_busy = pct(idle, 99), pct(busy, 99)
    print_table(["/health", "requests", "p50 ms", "p99 ms", "max ms", "p99 ratio to idle", "target"], [
        ["idle", len(idle), f"{pct(idle, 50):.1f}", f"{p99_idle:.1f}", f"{max(idle) * 1e3:.1f}", "1.00", ""],
        ["during ingest", len(busy), f"{pct(busy, 50):.1f}", f"{p99_busy:.1f}", f"{max(busy) * 1e3:.1f}",
         f"{p99_busy / p99_idle:.1f}", f"p99 ≤ 50 ms {verdict(p99_busy <= 50)}"],
    ])


if __name__ == "__main__":
    main()
