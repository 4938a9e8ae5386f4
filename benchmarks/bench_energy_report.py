"""The district's monthly energy report (issue "Integrated energy management"): target ≤ 2 s.

Builds the demo twin with 50 days of history ending on the 16th of this month, or today if that is earlier (so
the previous month is whole and no reading lies in the future), then times, median of ``--runs``: the account's
figures alone (the baseline: what the report cannot avoid), the coverage of its meters (expected and present
readings, which every account now states), the whole report (account with coverage, month-on-month, year-on-year,
daily trend, ranking, anomalies, charts' data), and each renderer (HTML, XLSX, PDF, with charts).

    python benchmarks/bench_energy_report.py [--days 50] [--runs 5]

The water and hydrogen CO₂ factors are deployment settings (REFERENCE.md gives none); the values below are
placeholders so that the report can be computed, not figures to quote.
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
from _bench_common import PLACEHOLDER_CONFIG, median, peak_rss_mib, print_machine, print_table, verdict
from lingang_twin.app import open_twin
from lingang_twin.demo import DEMO_DISTRICT_ID, build_demo
from lingang_twin.energy.accounting import account, meters_in_scope, month_range
from lingang_twin.energy.coverage import coverage
from lingang_twin.energy.reports import monthly_report, render

SH = ZoneInfo("Asia/Shanghai")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=50)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print_machine()
    work = Path(tempfile.mkdtemp(prefix="lingang-energy-"))
    now = datetime.now(SH)
    end = now.replace(day=min(now.day, 16), hour=0, minute=0, second=0, microsecond=0)
    prev = (end.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")  # the last whole month
    twin = open_twin(work / "energy.duckdb")
    t = time.perf_counter()
    build_demo(twin, days=args.days, end=end)
    print(f"demo twin: {args.days} days ending {end:%Y-%m-%d}, built in {time.perf_counter() - t:.1f} s; month {prev}")
    start, stop = month_range(prev)
    timings: dict[str, list[float]] = {k: [] for k in ("account (baseline)", "coverage", "report", "html", "xlsx",
                                                       "pdf")}
    district = twin.get(DEMO_DISTRICT_ID)
    mains = meters_in_scope(twin, district)
    for _ in range(args.runs):
        t = time.perf_counter()
        account(twin, DEMO_DISTRICT_ID, start, stop, config=PLACEHOLDER_CONFIG, with_coverage=False)
        timings["account (baseline)"].append(time.perf_counter() - t)
        t = time.perf_counter()
        coverage(twin, mains, start, stop, reads=[district])
        timings["coverage"].append(time.perf_counter() - t)
        t = time.perf_counter()
        report = monthly_report(twin, DEMO_DISTRICT_ID, prev, config=PLACEHOLDER_CONFIG)
        timings["report"].append(time.perf_counter() - t)
        for fmt in ("html", "xlsx", "pdf"):
            t = time.perf_counter()
            render(report, fmt, work / f"report.{fmt}")
            timings[fmt].append(time.perf_counter() - t)
    base = median(timings["account (baseline)"])
    rows = [[name, f"{median(v) * 1e3:.0f}", f"{median(v) / base:.2f}"] for name, v in timings.items()]
    totals = {fmt: median(timings["report"]) + median(timings[fmt]) for fmt in ("html", "xlsx", "pdf")}
    rows += [[f"report + {fmt}", f"{v * 1e3:.0f}", f"{v / base:.2f}"] for fmt, v in totals.items()]
    print_table(["step (district, one month, 15-min data)", "median ms", "ratio to account"], rows)
    worst = max(totals.values())
    print(f"district monthly report, slowest format: {worst:.2f} s vs target 2 s: {verdict(worst <= 2.0)}; "
          f"peak RSS {peak_rss_mib():.0f} MiB")
    twin.close()
    shutil.rmtree(work, ignore_errors=True)  # the twin and the rendered reports: ~50 MB a run


if __name__ == "__main__":
    main()
