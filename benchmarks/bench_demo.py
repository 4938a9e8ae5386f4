"""The demo twin at full size: ``lingang-twin demo build --days 365`` (time, file size), then the server's latency
and peak RSS under a mixed load of console-like reads and telemetry writes.

    python benchmarks/bench_demo.py [--days 365] [--seconds 60] [--clients 4]

Baseline in the same run: each read is also timed in-process on the library (``Twin``) over the same file before
the server starts, so the HTTP overhead shows as a ratio.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_common import file_size_mib, median, print_machine, print_table
from lingang_twin.app import open_twin
from lingang_twin.demo import DEMO_DISTRICT_ID

SH = ZoneInfo("Asia/Shanghai")


def reads(today: datetime) -> dict[str, dict[str, str]]:
    """The questions a console asks, as API query parameters."""
    return {
        "buildings page": {"path": "/api/v1/entities", "type": "Building", "limit": "50"},
        "meters under a zone (count)": {"path": "/api/v1/entities", "type": "Meter", "limit": "0",
                                        "under": "urn:ngsi-ld:Zone:top-scientists-community"},
        "energy today by carrier, hourly": {"path": "/api/v1/observations", "type": "Meter", "attribute": "reading",
                                            "bucket": "hour", "agg": "sum", "groupBy": "carrier",
                                            "start": today.isoformat()},
        "one meter, 30 days, hourly": {"path": "/api/v1/observations", "attribute": "reading", "bucket": "hour",
                                       "entity_id": "urn:ngsi-ld:Meter:lingang-center-elec-main",
                                       "start": (today - timedelta(days=30)).isoformat()},
        "district, daily by carrier, all history": {"path": "/api/v1/observations", "type": "Meter",
                                                    "attribute": "reading", "bucket": "day", "agg": "sum",
                                                    "groupBy": "carrier", "under": DEMO_DISTRICT_ID},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--port", type=int, default=8777)
    args = ap.parse_args()
    print_machine()
    db = Path(tempfile.mkdtemp(prefix="lingang-demo-")) / "demo.duckdb"
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lingang_twin.cli", "demo", "build", "--db", str(db), "--days",
                    str(args.days)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    build_s = time.perf_counter() - t
    print(f"demo build --days {args.days}: {build_s:.1f} s, file {file_size_mib(db):.0f} MiB")

    today = datetime.now(SH).replace(hour=0, minute=0, second=0, microsecond=0)
    queries = reads(today)
    lib_ms: dict[str, float] = {}
    with open_twin(db) as twin:  # the library baseline, same file, same questions
        from fastapi.testclient import TestClient

        from lingang_twin.api import create_app

        client = TestClient(create_app(twin), base_url="http://127.0.0.1")  # a name the API answers
        for name, q in queries.items():
            params = {k: v for k, v in q.items() if k != "path"}
            samples = []
            for _ in range(7):
                t = time.perf_counter()
                assert client.get(q["path"], params=params).status_code == 200
                samples.append(time.perf_counter() - t)
            lib_ms[name] = median(samples) * 1e3

    proc = subprocess.Popen([sys.executable, "-m", "lingang_twin.cli", "demo", "--db", str(db), "--days",
                             str(args.days), "--port", str(args.port), "--speed", "60"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    url = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        latencies: dict[str, list[float]] = {name: [] for name in queries}
        errors = 0
        stop = time.monotonic() + args.seconds

        def worker(k: int) -> None:
            nonlocal errors
            names = list(queries)
            i = k
            with httpx.Client(base_url=url, timeout=60) as http:
                while time.monotonic() < stop:
                    name = names[i % len(names)]
                    i += 1
                    q = queries[name]
                    t0 = time.perf_counter()
                    r = http.get(q["path"], params={k: v for k, v in q.items() if k != "path"})
                    if r.status_code != 200:
                        errors += 1
                    latencies[name].append(time.perf_counter() - t0)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(args.clients)]
        for th in threads:
            th.start()
        rss_samples = []
        while any(th.is_alive() for th in threads):
            with open(f"/proc/{proc.pid}/status") as f:
                rss_samples += [int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS:")]
            time.sleep(0.5)
        with open(f"/proc/{proc.pid}/status") as f:
            hwm = next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:"))
    finally:
        proc.terminate()
        proc.wait()
    rows = [[name, len(v), f"{median(v) * 1e3:.1f}", f"{sorted(v)[int(len(v) * 0.95)] * 1e3:.1f}",
             f"{lib_ms[name]:.1f}", f"{median(v) * 1e3 / lib_ms[name]:.2f}"] for name, v in latencies.items() if v]
    print_table(["read (under load, live telemetry at 60×)", "n", "median ms", "p95 ms", "in-process ms", "ratio"],
                rows)
    print(f"{args.clients} clients for {args.seconds:.0f} s, errors {errors}; server RSS median "
          f"{median(rss_samples):.0f} MiB, peak {hwm:.0f} MiB")


if __name__ == "__main__":
    main()
