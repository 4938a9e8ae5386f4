"""Evidence for M&V (issue item 5): our baselines and savings against opendsm run directly, on opendsm's own samples.

For each sample (opendsm ``load_sample``; the Illinois ones are simulated with a designed 10 % saving after a
blackout period; the UK sample-0 pair carries the same 1000 → 900 metadata) the readings and temperatures are put
into a real DuckDB twin, and :func:`lingang_twin.energy.mv.savings` runs the whole pipeline (store → daily grid →
°C → opendsm → Guideline 14 uncertainty). Beside it, opendsm is fed the sample directly (°F, its own index) with the
same baseline and reporting days. Baseline: the 365 days before the blackout; reporting: the 365 days after it
(or up to the end of the data).

Time zones: each sample is read in a fixed local offset (Illinois hourly: UTC−6, local standard time; daily
samples and UK: UTC) and its wall-clock times are stored as Shanghai wall-clock times, so that a Shanghai day in
the twin holds exactly the hours opendsm puts in the sample's day. Hourly samples are stored hourly and summed to
days by the twin; opendsm direct gets pandas' daily sums.

    python benchmarks/bench_mv_evidence.py [--methods caltrack-2.0-daily,opendsm-daily] [--samples a,b]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_common import print_machine, print_table
from lingang_twin.app import open_twin
from lingang_twin.core.observations import ObservationBatch
from lingang_twin.core.twin import Twin
from lingang_twin.energy import mv

SH = ZoneInfo("Asia/Shanghai")
SAMPLES: dict[str, int] = {  # sample → its local offset from UTC [h]
    "il-electricity-cdd-hdd-daily": 0, "il-electricity-cdd-only-daily": 0, "il-gas-hdd-only-daily": 0,
    "il-gas-intercept-only-daily": 0,
    "il-electricity-cdd-hdd-hourly": -6, "il-electricity-cdd-only-hourly": -6, "il-gas-hdd-only-hourly": -6,
    "il-gas-intercept-only-hourly": -6,
    "uk-electricity-hdd-only-hourly-sample-0": 0, "uk-gas-hdd-only-hourly-sample-0": 0,
}
DIRECT_METHOD = {"caltrack-2.0-daily": "legacy", "opendsm-daily": "current"}


def _wall(index: pd.DatetimeIndex, offset_h: int) -> pd.DatetimeIndex:
    """UTC instants → the same local wall-clock time, labelled Asia/Shanghai."""
    return (index.tz_convert("UTC") + pd.Timedelta(hours=offset_h)).tz_localize(None).tz_localize(SH)


def load(twin: Twin, sample: str, offset_h: int) -> dict[str, Any]:
    """Put a sample into ``twin``; return what opendsm direct needs (daily meter, hourly temperature, metadata)."""
    from opendsm import eemeter

    uk = sample.startswith("uk")
    meter, temp, meta = eemeter.load_sample(sample, tempF=not uk)
    temp_f = temp * 1.8 + 32.0 if uk else temp
    local = timezone(timedelta(hours=offset_h))
    slug = sample.replace("_", "-")
    bid, mid, sid = (f"urn:ngsi-ld:{t}:{slug}" for t in ("Building", "Meter", "WeatherStation"))
    district = f"urn:ngsi-ld:District:{slug}"
    carrier = "electricity" if meta["interpretation"] == "electricity" else "heat"
    unit = meta["unit"] if carrier == "electricity" else ("therm" if meta["unit"] == "therm" else "kWh")
    twin.upsert([
        {"id": district, "type": "District", "properties": {"name": sample}},
        {"id": bid, "type": "Building", "properties": {"name": sample}, "relationships": {"containedIn": district}},
        {"id": mid, "type": "Meter", "properties": {"carrier": carrier, "unit": unit, "register": "interval"},
         "relationships": {"containedIn": bid}},
        {"id": sid, "type": "WeatherStation", "properties": {"name": sample},
         "relationships": {"containedIn": district}},
    ])
    m = meter["value"].dropna()
    step = pd.Timedelta(days=1) if meta["freq"] == "daily" else pd.Timedelta(hours=1)
    stamps = _wall(m.index, offset_h) + step  # a reading closes the interval before its stamp
    twin.append(ObservationBatch.from_arrays(mid, "reading", list(stamps.to_pydatetime()), m.to_numpy(float)))
    t = temp_f.dropna()
    twin.append(ObservationBatch.from_arrays(sid, "temperature", list(_wall(t.index, offset_h).to_pydatetime()),
                                             (t.to_numpy(float) - 32.0) / 1.8))
    if meta["freq"] == "daily":
        daily = meter["value"].copy()
        daily.index = daily.index.tz_convert(local)
    else:
        daily = meter["value"].tz_convert(local).resample("D").sum(min_count=1)
    temp_local = temp_f.tz_convert(local)
    # The blackout dates are calendar dates: baseline ends the day the blackout starts, reporting starts the day
    # it ends (both local days).
    b1 = pd.Timestamp(meta["blackout_start_date"].date(), tz=local)
    r0 = pd.Timestamp(meta["blackout_end_date"].date(), tz=local)
    b0 = b1 - pd.Timedelta(days=365)
    first = daily.first_valid_index()
    b0 = max(b0, pd.Timestamp(first.date(), tz=local))
    last = daily.last_valid_index()
    r1 = min(r0 + pd.Timedelta(days=365), pd.Timestamp(last.date(), tz=local) + pd.Timedelta(days=1))
    return {"building": bid, "carrier": carrier, "daily": daily, "temp_f": temp_local, "meta": meta,
            "b0": b0, "b1": b1, "r0": r0, "r1": r1}


def direct(d: dict[str, Any], method: str) -> dict[str, Any]:
    """opendsm fed the sample directly, the way its documentation shows."""
    from opendsm import eemeter
    from opendsm.common.metrics import ReportingMetrics

    elec = d["carrier"] == "electricity"
    base = d["daily"].loc[d["b0"]:d["b1"] - pd.Timedelta(seconds=1)].to_frame("observed")
    rep = d["daily"].loc[d["r0"]:d["r1"] - pd.Timedelta(seconds=1)].to_frame("observed")
    with mv._quiet():
        t0 = time.perf_counter()
        bd = eemeter.DailyBaselineData.from_series(base, d["temp_f"], is_electricity_data=elec)
        model = eemeter.DailyModel(model=DIRECT_METHOD[method]).fit(bd, ignore_disqualification=True)
        seconds = time.perf_counter() - t0
        rd = eemeter.DailyReportingData.from_series(rep, d["temp_f"], is_electricity_data=elec)
        pred = model.predict(rd, ignore_disqualification=True)
        both = pred.dropna(subset=["observed", "predicted"])
        rm = ReportingMetrics(baseline_metrics=model.baseline_metrics, reporting_df=both, data_frequency="daily",
                              confidence_level=0.9)
        bm = model.baseline_metrics
        return {"cvrmse": 100 * bm.cvrmse_adj, "nmbe": 100 * bm.nmbe,
                "savings_pct": 100 * rm.savings / rm.predicted_sum,
                "u_pct": 100 * rm.total_savings_uncertainty / rm.predicted_sum, "seconds": seconds,
                "n": int(bm.n)}


def ours(twin: Twin, d: dict[str, Any], method: str) -> tuple[mv.Savings, float]:
    def sh(ts: pd.Timestamp) -> datetime:
        return datetime(ts.year, ts.month, ts.day, tzinfo=SH)

    t0 = time.perf_counter()
    s = mv.savings(twin, d["building"], baseline_start=sh(d["b0"]), retrofit_date=sh(d["b1"]),
                   reporting_start=sh(d["r0"]), reporting_end=sh(d["r1"]), carrier=d["carrier"], method=method)
    return s, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default="caltrack-2.0-daily,opendsm-daily")
    ap.add_argument("--samples", default=",".join(SAMPLES))
    args = ap.parse_args()
    logging.getLogger("eemeter").setLevel(logging.ERROR)
    print_machine()
    import opendsm  # noqa: F401  (import time is not fit time)

    work = Path(tempfile.mkdtemp(prefix="lingang-mv-"))
    twin = open_twin(work / "mv.duckdb")
    loaded = {}
    t = time.perf_counter()
    for name in args.samples.split(","):
        loaded[name] = load(twin, name, SAMPLES[name])
    print(f"loaded {len(loaded)} samples into a DuckDB twin in {time.perf_counter() - t:.1f} s")
    # Warm numba's JIT (opendsm compiles its optimiser on first use; cached on disk afterwards) out of the timings.
    first = next(iter(loaded.values()))
    ours(twin, first, "caltrack-2.0-daily")
    rows: list[list[str]] = []
    fits: list[float] = []
    for method in args.methods.split(","):
        for name, d in loaded.items():
            s, total = ours(twin, d, method)
            o = direct(d, method)
            b = s.baseline
            fits.append(b.fit_seconds)
            designed = 10.0
            inside = s.band_pct[0] <= designed <= s.band_pct[1]
            g14 = b.g14
            rows.append([
                name, method, b.model_kind, f"{b.n_days_used}/{o['n']}",
                f"{b.cvrmse_pct:.2f} / {o['cvrmse']:.2f}", f"{b.nmbe_pct:+.3f} / {o['nmbe']:+.3f}",
                f"{g14['cvrmsePct']:.1f}, {g14['nmbePct']:+.2f} → {g14['verdict']}" if g14.get("cvrmsePct")
                is not None else g14["verdict"],
                f"{s.savings_pct:.2f} ± {s.uncertainty_pct:.2f}", f"{o['savings_pct']:.2f} ± {o['u_pct']:.2f}",
                "yes" if inside else "no", "yes" if b.caltrack_compliant else "no",
                f"{b.fit_seconds:.2f} / {o['seconds']:.2f}", f"{total:.2f}",
            ])
    print_table(["sample", "method", "model", "days ours/opendsm", "daily CV(RMSE) % ours / opendsm",
                 "NMBE % ours / opendsm", "G14 monthly CV %, NMBE % → verdict", "savings % ours (90 %)",
                 "savings % opendsm direct", "10 % in band", "CalTRACK ok", "fit s ours / direct",
                 "savings() s"], rows)
    print(f"fit time per baseline (ours, warm): median {np.median(fits):.2f} s, max {max(fits):.2f} s")
    twin.close()


if __name__ == "__main__":
    main()
