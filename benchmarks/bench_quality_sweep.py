"""Sweep of ``check_meters`` over many demo windows: water-leak and gap precision/recall, the current rule beside
the previous leak rule (the baseline, by thresholds) in the same run.

A 120-day demo ending 2026-05-12 is built once (~10 s); each window of 3, 7 and 14 days ending 2026-02-17, 02-20,
…, 05-12 (29 ends: the Spring Festival, the end of the school winter break, Qingming, May Day, the first cooling
days) is checked over the whole district with each threshold set:

    python benchmarks/bench_quality_sweep.py [--db PATH] [--windows 3,7,14]

Scoring as in ``bench_quality_evidence.py``: a leak counts as truth when ≥ 2 full nights (01:00–04:00) of it lie in
the window; a finding is right when it overlaps an injected fault of its kind on its meter (any leak active in the
window). Gaps are scored against every injected gap in the window. ``check s`` is the median over the windows of
that length.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_common import print_machine, print_table
from bench_quality_evidence import leak_nights
from lingang_twin.app import open_twin
from lingang_twin.demo import DEMO_DISTRICT_ID, Fault, build_demo
from lingang_twin.energy.quality import Finding, check_meters

SH = ZoneInfo("Asia/Shanghai")
DEMO_END = datetime(2026, 5, 12, tzinfo=SH)
ENDS = [datetime(2026, 2, 17, tzinfo=SH) + timedelta(days=3 * k) for k in range(29)]
# The leak rule before the sweep: night minimum only, 7 baseline nights, 30 % over baseline, no spread test.
RULES: dict[str, dict[str, float] | None] = {
    "baseline (old leak rule)": {"leak_baseline_days": 7, "leak_min_excess": 0.3, "leak_spread_k": 0.0,
                                 "leak_hours": 1},
    "current (default)": None,
}


def _hit(f: Finding, g: Fault) -> bool:
    return f.entity_id == g.entity_id and f.start < g.end and g.start < f.end


def score(findings: list[Finding], faults: list[Fault], start: datetime, end: datetime, theirs: str,
          ours: str) -> tuple[int, int, int, int]:
    """(findings, right findings, truth events, found events) of one window."""
    active = [g for g in faults if g.kind == theirs and g.end > start and g.start <= end]
    truth = [g for g in active if theirs != "leak" or leak_nights(g, start, end) >= 2]
    mine = [f for f in findings if f.kind == ours]
    return (len(mine), sum(any(_hit(f, g) for g in active) for f in mine), len(truth),
            sum(any(_hit(f, g) for f in mine) for g in truth))


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.2f}" if b else "—"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="demo twin to reuse (built there if missing)")
    ap.add_argument("--windows", default="3,7,14", help="window lengths in days, comma-separated")
    args = ap.parse_args()
    print_machine()
    path = Path(args.db) if args.db else Path(tempfile.mkdtemp(prefix="lingang-sweep-")) / "demo.duckdb"
    twin = open_twin(path)
    rows: list[list[Any]] = []
    try:
        t0 = time.perf_counter()
        faults = list(build_demo(twin, days=120, end=DEMO_END).faults)
        print(f"demo: 120 days to {DEMO_END:%Y-%m-%d}, {time.perf_counter() - t0:.1f} s")
        for w in (int(x) for x in args.windows.split(",")):
            for name, th in RULES.items():
                totals = {"leak": [0, 0, 0, 0], "gap": [0, 0, 0, 0]}
                seconds = []
                for end in ENDS:
                    start = end - timedelta(days=w)
                    t0 = time.perf_counter()
                    found = check_meters(twin, DEMO_DISTRICT_ID, start, end, thresholds=th)
                    seconds.append(time.perf_counter() - t0)
                    for theirs, ours in (("leak", "water_leak"), ("gap", "gap")):
                        s = score(found, faults, start, end, theirs, ours)
                        totals[theirs] = [a + b for a, b in zip(totals[theirs], s, strict=True)]
                lf, lr, lt, lh = totals["leak"]
                gf, gr, gt, gh = totals["gap"]
                rows.append([f"{w} days × {len(ENDS)}", name, lt, lf, _ratio(lr, lf), _ratio(lh, lt), gt, gf,
                             gf - gr, _ratio(gr, gf), _ratio(gh, gt), f"{statistics.median(seconds):.2f}"])
    finally:
        twin.close()
    print_table(["windows", "leak rule", "leaks (≥ 2 nights)", "leak findings", "leak P", "leak R", "gaps",
                 "gap findings", "false gaps", "gap P", "gap R", "check s (median)"], rows)


if __name__ == "__main__":
    main()
