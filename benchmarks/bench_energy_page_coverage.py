"""What stating coverage costs the console's energy figures (issue 9, item 8 in the console).

Builds the demo twin with ``--days`` of history ending at 12:00 on the 16th of this month (or today if earlier),
then times, median of ``--runs``, with the page's own functions:

* the Energy page's period section for the default period (last 30 days) **before** — the Sankey's flows, the
  daily comparison with the previous period and the building ranking, what main computed — and the two coverages
  this branch adds (the period and the previous period, :func:`lingang_twin.energy.web.page.period_coverage`);
* the building energy panel of the demo's largest building: its figures (consumption grid) and the month's
  coverage the panel now adds.

Ratios are against the "before" of the same run (the machine is shared; only ratios inside one run mean anything).

    python benchmarks/bench_energy_page_coverage.py [--days 35] [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_common import PLACEHOLDER_CONFIG, median, peak_rss_mib, print_machine, print_table
from lingang_twin.app import open_twin
from lingang_twin.demo import DEMO_DISTRICT_ID, build_demo
from lingang_twin.energy.accounting import meters_in_scope
from lingang_twin.energy.consumption import consumption_grid
from lingang_twin.energy.coverage import coverage
from lingang_twin.energy.efficiency import intensity
from lingang_twin.energy.periods import period
from lingang_twin.energy.web.page import compare, flows, period_coverage

SH = ZoneInfo("Asia/Shanghai")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=35)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print_machine()
    work = Path(tempfile.mkdtemp(prefix="lingang-page-coverage-"))
    today = datetime.now(SH)
    now = today.replace(day=min(today.day, 16), hour=12, minute=0, second=0, microsecond=0)
    twin = open_twin(work / "energy.duckdb")
    t = time.perf_counter()
    build_demo(twin, days=args.days, end=now)
    print(f"demo twin: {args.days} days ending {now:%Y-%m-%d %H:%M}, built in {time.perf_counter() - t:.1f} s")
    from lingang_twin.energy.factors import EnergyConfig

    config = EnergyConfig.model_validate(PLACEHOLDER_CONFIG)
    p = period("last30", now)
    district = twin.get(DEMO_DISTRICT_ID)
    print(f"main meters of the district: {len(meters_in_scope(twin, district))}")
    buildings = twin.query_all(types=("Building",), under=DEMO_DISTRICT_ID)
    building = max(buildings, key=lambda b: len(meters_in_scope(twin, b)))
    b_meters = meters_in_scope(twin, building)
    first = now.replace(day=1, hour=0)
    next_month = (first + timedelta(days=32)).replace(day=1)
    timings: dict[str, list[float]] = {k: [] for k in ("page: flows + compare + ranking (before)",
                                                       "page: two coverages (added)",
                                                       "panel: month grid (before)", "panel: month coverage (added)")}
    for _ in range(args.runs):
        t = time.perf_counter()
        flows(twin, DEMO_DISTRICT_ID, p.start, p.end, config)
        compare(twin, DEMO_DISTRICT_ID, p, config)
        intensity(twin, p.start, min(p.end, now), under=DEMO_DISTRICT_ID, config=config)
        timings["page: flows + compare + ranking (before)"].append(time.perf_counter() - t)
        t = time.perf_counter()
        period_coverage(twin, DEMO_DISTRICT_ID, p, now)
        timings["page: two coverages (added)"].append(time.perf_counter() - t)
        t = time.perf_counter()
        consumption_grid(twin, building, first, now, "day", config=config)
        timings["panel: month grid (before)"].append(time.perf_counter() - t)
        t = time.perf_counter()
        coverage(twin, b_meters, first, next_month, now=now, reads=[building])
        timings["panel: month coverage (added)"].append(time.perf_counter() - t)
    page_base = median(timings["page: flows + compare + ranking (before)"])
    panel_base = median(timings["panel: month grid (before)"])
    rows = []
    for name, values in timings.items():
        base = page_base if name.startswith("page") else panel_base
        rows.append([name, f"{median(values) * 1e3:.0f}", f"{median(values) / base:.2f}"])
    print_table(["step", "median ms", "ratio to its 'before'"], rows)
    print(f"building {building.id}: {len(b_meters)} main meters; peak RSS {peak_rss_mib():.0f} MiB")
    twin.close()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
