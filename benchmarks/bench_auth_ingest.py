"""HTTP batch ingest with an API key against the same ingest unauthenticated, in the same run (issue 12, Speed).

Target: ``POST /api/v1/observations`` with ``X-API-Key`` ≥ 0.9× the rate of an app without accounts.

    python benchmarks/bench_auth_ingest.py [--meters 1000] [--batch 50000] [--batches 12]

Two server processes run side by side over two DuckDB files seeded alike: one built by ``create_app`` without an
authenticator (every request is SYSTEM: today's unauthenticated path), one with the twin's accounts and an
integrator's key scoped to ``readings:write``. Batches are sent alternately to one and the other, so drift of a
shared machine falls on both; the ratio of medians is the figure. Bodies are pre-serialised with orjson.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_common import median, print_machine, print_table, verdict
from bench_http_ingest import bodies, meters
from lingang_twin.app import deployment_packs, load_pack_configs, open_accounts, open_twin, warm_up
from lingang_twin.settings import Settings


def settings_for(db: Path, port: int, batch: int) -> Settings:
    return Settings(db=db, port=port, max_body_bytes=64 * 1024 * 1024, max_batch_items=batch)


def serve_child(db: Path, port: int, mode: str, batch: int) -> None:
    """Run one server (in a child process): ``open`` without accounts, ``key`` with them."""
    import uvicorn

    from lingang_twin.api import create_app

    settings = settings_for(db, port, batch)
    twin = open_twin(db)
    installed = load_pack_configs(deployment_packs(settings), settings)
    accounts = open_accounts(twin, settings, list(installed.packs)) if mode == "key" else None
    app = create_app(twin, settings, installed, authenticator=accounts)
    app.state.parse_pool.start()
    warm_up()
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    finally:
        twin.close()


def seed(db: Path, n_meters: int, batch: int, with_key: bool) -> str | None:
    twin = open_twin(db)
    try:
        twin.upsert(meters(n_meters))
        if not with_key:
            return None
        accounts = open_accounts(twin, settings_for(db, 1, batch))
        accounts.add_user("gateway", "gateway password", ["integrator"])
        return str(accounts.create_key("gateway", "bench", permission_scope=["readings:write"]).secret)
    finally:
        twin.close()


def key_check_us(db: Path, key: str, batch: int, n: int = 100_000) -> float:
    """Microseconds per ``principal_for_key`` (what the authentication step runs for a key), warm cache."""
    twin = open_twin(db)
    try:
        accounts = open_accounts(twin, settings_for(db, 1, batch))
        accounts.principal_for_key(key)
        t = time.perf_counter()
        for _ in range(n):
            accounts.principal_for_key(key)
        return (time.perf_counter() - t) / n * 1e6
    finally:
        twin.close()


def wait(url: str) -> None:
    for _ in range(600):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--meters", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=50_000)
    ap.add_argument("--batches", type=int, default=12)
    ap.add_argument("--port", type=int, default=8771)
    ap.add_argument("--serve-child", nargs=2, metavar=("DB", "MODE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_child:
        serve_child(Path(args.serve_child[0]), args.port, args.serve_child[1], args.batch)
        return
    print_machine()
    work = Path(tempfile.mkdtemp(prefix="lingang-auth-"))
    payloads = [orjson.dumps(rows) for rows in bodies(args.meters, args.batch, args.batches)]
    print(f"{args.batches} batches × {args.batch} readings, body {len(payloads[0]) / 1e6:.1f} MB each")
    procs, urls, headers = {}, {}, {}
    try:
        for i, mode in enumerate(("open", "key")):
            db = work / f"{mode}.duckdb"
            key = seed(db, args.meters, args.batch, mode == "key")
            if key is not None:
                per_key_us = key_check_us(db, key, args.batch)
            port = args.port + i
            procs[mode] = subprocess.Popen([sys.executable, __file__, "--serve-child", str(db), mode, "--port",
                                            str(port), "--batch", str(args.batch)], env=dict(os.environ),
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            urls[mode] = f"http://127.0.0.1:{port}"
            headers[mode] = {"content-type": "application/json", **({"X-API-Key": key} if key else {})}
        for url in urls.values():
            wait(url)
        rates: dict[str, list[float]] = {"open": [], "key": []}
        with httpx.Client(timeout=300) as client:
            # A bad key is refused before the body is read: checked once, not timed.
            bad = client.post(f"{urls['key']}/api/v1/observations", content=b"[]",
                              headers={**headers["key"], "X-API-Key": "ltk_000000000000_wrong"})
            assert bad.status_code == 401, bad.text
            for i, body in enumerate(payloads):
                order = ("open", "key") if i % 2 == 0 else ("key", "open")
                for mode in order:
                    t = time.perf_counter()
                    r = client.post(f"{urls[mode]}/api/v1/observations", content=body, headers=headers[mode])
                    dt = time.perf_counter() - t
                    assert r.status_code == 200 and r.json()["inserted"] == args.batch, r.text[:500]
                    rates[mode].append(args.batch / dt)
    finally:
        for proc in procs.values():
            proc.terminate()
            proc.wait()
    def spread(xs: list[float]) -> str:
        return f"{min(xs):,.0f}–{max(xs):,.0f}"

    open_med, key_med = median(rates["open"]), median(rates["key"])
    ratio = key_med / open_med
    print_table(["path", "median readings/s", "spread", "ratio", "target"], [
        ["HTTP ingest, no accounts (today's path)", f"{open_med:,.0f}", spread(rates["open"]), "1.00", ""],
        ["HTTP ingest with X-API-Key", f"{key_med:,.0f}", spread(rates["key"]), f"{ratio:.2f}",
         f"≥ 0.90 {verdict(ratio >= 0.9)}"],
    ])
    per_request_ms = args.batch / key_med * 1e3
    print(f"key check in process: {per_key_us:.1f} µs per request (one SHA-256 and a cached look-up), "
          f"{per_key_us / 1e3 / per_request_ms:.5%} of a {args.batch}-reading request's {per_request_ms:.0f} ms")


if __name__ == "__main__":
    main()
