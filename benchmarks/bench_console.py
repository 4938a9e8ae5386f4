"""Console speed in a real browser (Debian's Chromium via Playwright): not a test, a measurement.

1. First load of the overview against the demo twin (90 days of history), from navigation start to the energy
   tile's numbers on screen, in a fresh browser context each run (cold cache, no cookies); baseline in the same
   run: ``/health`` and the API docs ``/docs``.
2. The map with 10,000 located entities: time from navigation to all features drawn, and the frame time while
   panning (60 pans of 8 px, one per animation frame, canvas redrawn each time).

Run: ``.venv/bin/python benchmarks/bench_console.py [--days 90] [--runs 7]``. Prints medians.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(db: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    log = db.with_suffix(".log")  # the first start prints the administrator's password (see _signed_in)
    with log.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "lingang_twin.cli", "serve", "--db", str(db), "--port",
                                 str(port)], stdout=sink, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def _signed_in(db: Path, url: str) -> dict[str, str]:
    """Headers of the administrator the server's first start printed: ``/docs`` is for signed-in callers only."""
    found = re.search(r"user admin, password (\S+)", db.with_suffix(".log").read_text(errors="replace"))
    if found is None:
        raise RuntimeError("the server printed no administrator password")
    r = httpx.post(f"{url}/api/v1/auth/token", data={"username": "admin", "password": found.group(1)}, timeout=30)
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=20)


def _load(browser: object, url: str, ready: str | None, headers: dict[str, str] | None = None) -> float:
    """ms from navigation start to ``ready`` (a JS condition) or to the load event, in a fresh context (sending
    ``headers`` with every request)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900},  # type: ignore[attr-defined]
                                  extra_http_headers=headers or {})
    page = context.new_page()
    page.goto(url, wait_until="load")
    if ready is None:
        ms = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    else:
        page.wait_for_function(ready, timeout=60_000)
        ms = page.evaluate("performance.now()")
    context.close()
    return float(ms)


PAN = """async () => {
  const {map} = window.twinMap;
  const frames = [];
  let last = performance.now();
  for (let i = 0; i < 60; i++) {
    map.panBy([i % 2 ? 8 : -8, 8], {animate: false});
    await new Promise(r => requestAnimationFrame(r));
    const now = performance.now(); frames.push(now - last); last = now;
  }
  return frames;
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=float, default=90)
    parser.add_argument("--runs", type=int, default=7)
    opts = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from lingang_twin.app import open_twin
    from lingang_twin.demo import build_demo

    work = Path(tempfile.mkdtemp(prefix="bench-console-"))
    demo_db = work / "demo.duckdb"
    t0 = time.perf_counter()
    twin = open_twin(demo_db)
    build_demo(twin, days=opts.days)
    twin.close()
    print(f"demo twin: {opts.days:g} days built in {time.perf_counter() - t0:.1f} s")

    big_db = work / "map10k.duckdb"
    twin = open_twin(big_db)
    twin.upsert([{"id": f"urn:ngsi-ld:ParkingSpot:bench-{i:05d}", "type": "ParkingSpot",
                  "geo": {"location": {"type": "Point",
                                       "coordinates": [121.88 + (i % 100) * 0.0008, 30.88 + (i // 100) * 0.0006]}},
                  "phase": ("operation", "construction", "planned")[i % 3]} for i in range(10_000)])
    twin.close()

    ready_overview = "document.querySelector('[data-testid=tile-energy] .font-mono') !== null"
    ready_map = "document.querySelector('[data-testid=map]')?.dataset.features > 0"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        proc, url = _serve(demo_db)
        try:
            auth = _signed_in(demo_db, url)
            _load(browser, url + "/console/", ready_overview)  # the server's first page (imports, caches)
            results: dict[str, list[float]] = {"/health": [], "/docs": [], "/console/ (overview)": []}
            for _ in range(opts.runs):
                results["/health"].append(_load(browser, url + "/health", None))
                results["/docs"].append(_load(browser, url + "/docs", None, auth))  # the page, not a 401
                results["/console/ (overview)"].append(_load(browser, url + "/console/", ready_overview))
        finally:
            _stop(proc)
        print(f"\nfirst load in a fresh browser context, median of {opts.runs} [ms]:")
        for name, values in results.items():
            print(f"  {name:24s} {statistics.median(values):8.0f}   (min {min(values):.0f}, max {max(values):.0f})")

        proc, url = _serve(big_db)
        try:
            draws: list[float] = []
            frames: list[float] = []
            for _ in range(max(3, opts.runs // 2)):
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                page = context.new_page()
                page.goto(url + "/console/map", wait_until="load")
                page.wait_for_function(ready_map + " && window.twinMap", timeout=60_000)
                draws.append(float(page.evaluate("performance.now()")))
                n = page.evaluate("document.querySelector('[data-testid=map]').dataset.features")
                frames.extend(page.evaluate(PAN)[5:])  # the first frames include the first full canvas draw
                context.close()
        finally:
            _stop(proc)
        frames.sort()
        print(f"\nmap with {n} entities (canvas renderer):")
        print(f"  navigation → all features drawn  median {statistics.median(draws):8.0f} ms")
        print(f"  pan frame time                    median {statistics.median(frames):8.1f} ms, "
              f"p95 {frames[int(len(frames) * 0.95)]:.1f} ms ({len(frames)} frames)")
        browser.close()


if __name__ == "__main__":
    main()
