"""``lingang-twin demo`` as a newcomer runs it: one command, a server with the district and live data."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx

from lingang_twin.demo import DEMO_DISTRICT_ID


def test_demo_builds_serves_and_streams_live_data(server_factory: Callable, tmp_path: Path) -> None:
    # How fast the first start is, is a benchmark's question (benchmarks/bench_demo.py); here only that it starts:
    # CI is a busy 2-core machine, so the wait is generous.
    server = server_factory(tmp_path / "demo.duckdb", ("demo", "--days", "2", "--speed", "120")).start(timeout=300)
    assert "http://127.0.0.1" in server.output() and "/docs" in server.output()
    # The demo prints its administrator's password; a newcomer signs in with it (nothing is open to anonymous).
    assert httpx.get(f"{server.url}/api/v1/entities", timeout=30).status_code == 401
    with httpx.Client(base_url=server.url, timeout=30, headers=server.auth()) as http:
        assert http.get("/docs").status_code == 200
        buildings = http.get("/api/v1/entities", params={"type": "Building", "limit": 1}).json()
        assert buildings["count"] >= 150
        meters = http.get("/api/v1/entities", params={"type": "Meter", "under": DEMO_DISTRICT_ID, "limit": 1})
        assert meters.json()["count"] > 500

        def newest() -> str:
            body = http.get("/api/v1/observations", params={
                "type": "WeatherStation", "attribute": "temperature", "bucket": "15min", "agg": "last"}).json()
            return str(body["data"][-1]["bucket"])

        before = newest()
        deadline = time.monotonic() + 120
        while newest() == before and time.monotonic() < deadline:
            time.sleep(1)
        assert newest() > before, "live telemetry did not advance"
        carriers = http.get("/api/v1/observations", params={
            "under": DEMO_DISTRICT_ID, "type": "Meter", "attribute": "reading", "bucket": "day",
            "agg": "consumption", "groupBy": "carrier"}).json()  # sum would add cumulative registers: refused
        assert {"electricity", "water", "natural_gas"} <= {row["group"] for row in carriers["data"]}
