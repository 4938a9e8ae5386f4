"""Meter data quality and anomalies (数据质量与异常): gaps, stuck meters, spikes, negative steps, night base-load
creep, water leaks and hydrogen losses.

The package: :mod:`.registry` (detectors registered by name), :mod:`.detectors` (each detector and the kernel they
share), :mod:`.check` (:func:`check_meters` reads the grids and runs the registry).

:func:`check_meters` returns the problems it finds as :class:`Finding` objects — data, not exceptions (STYLE 8) —
so that operations can turn them into alerts (:func:`lingang_twin.core.findings.raise_alerts`). Only bad *input*
raises: an unknown scope (NotFoundError), a naive instant or ``end`` before ``start`` (ValidationError naming the
field), an unknown threshold name.

The store does the heavy lifting: two grouped 15-minute aggregates over every meter at or below the scope
(interval registers ``sum``, cumulative registers ``delta`` with reset/rollover flags), one or two more for the
water meters' baseline nights, and two for the hydrogen stations. Each comes back as Arrow, is scattered into a
dense ``meters × slots`` numpy matrix (NaN where no reading), and every check is a vectorised pass over that
matrix; Python loops run over meters (one small numpy call each), day types and findings, never over readings.
The 3-day demo district (943 meters, ~270 k readings) takes about 0.8 s, 14 days about 1.4 s.

Spikes are judged like with like. Each reading is compared with the meter's robust level at the same slot of day
(± ``spike_near_slots`` quarter-hours) on the window's days of the same day type — working day or rest day, by the
Chinese calendar of the ``holidays`` package: weekends and public holidays (incl. swapped days off) rest,
make-up working days (调休上班) work — and with the readings around it; the robust spread is floored at a
fraction of the meter's typical level, so near-zero stretches cannot make huge z-scores. Measured on the demo
(ending 2026-03-05) and pvanalytics' labelled files (``benchmarks/bench_quality_evidence.py``,
``docs/evidence-quality.md``), before → after this design (previously one median and MAD per meter over the whole
window):

* demo, 14 days over the end of the Spring Festival (02-19 – 03-05): 2,437 spikes for 19 injected (precision
  0.01, recall 1.00) → 19 (1.00, 1.00); 3 and 7 days: 1.00 / 1.00 before and after;
* demo, 29 windows ending every 3 days from 2026-02-17 to 05-12 (holidays, the end of the school break, the
  first cooling days): precision 0.00 / 0.01 / 0.00 at 3 / 7 / 14 days → 1.00 / 1.00 / 1.00, recall 1.00 →
  1.00 / 1.00 / 540 of 541;
* pvanalytics ``inv2173-interpolated`` (nights filled with tiny values, no outlier labelled): 1,030 spikes → 0;
  outliers ``inv7539``: recall 0.33, precision 1.00 before and after (the two negative outliers);
* ``check_meters`` on the demo, 3 / 14 days: 0.48 / 1.72 s → 0.79 / 1.40 s
  (the leak baseline then read 21 days; since the leak sweep 28).

Not judged: spikes on cumulative registers (the catch-up step after a gap or a stuck spell would look like one),
spikes on meters whose median reading is 0 (intermittent: diesel, hydrogen — no robust range), meters silent for
the whole window (no rhythm to compare with), leaks on meters without baseline nights.

Times follow the readings: a finding covers the readings with ``start <= observed_at < end`` (the convention of
:mod:`lingang_twin.demo.faults`). A reading closes the quarter-hour before its stamp, so the 15-minute bucket
starting at ``b`` holds the reading stamped ``b + 15 min``.

Thresholds (:data:`THRESHOLDS`, overridable per call with ``thresholds={name: value}``):

=========================  ======  ===============================================================================
name                       value   why
=========================  ======  ===============================================================================
gap_min_hours              1.0     shorter outages are routine retries; the demo's gaps last 2–6 h
gap_factor                 2.0     a gap must also exceed this many of the meter's usual reading intervals
gap_lookback_days          7.0     silence from the window's start is a gap only if the meter read in these days
                                   before it (else its history starts later: new, or not imported)
stuck_min_hours            2.5     identical readings this long on a meter that otherwise varies (faults: 3–10 h;
                                   a cumulative register shows one reading fewer as zero steps)
stuck_min_distinct         8       the meter "normally varies": at least this many distinct values in the window
stuck_min_level            0.1     an interval meter's repeated value must be ≥ this × its median …
stuck_min_steps            20      … and ≥ this many of its resolution steps (smallest difference between its
                                   values): tiny night values repeat by quantisation (0.004 m³ to 0.001 m³)
spike_k                    12.0    robust z: reading > base + k · scale; base = the larger of the meter's median at
                                   that slot of day on days of that type and the median of the readings around it
                                   (a load that switches on and stays on is a new level, not a spike); scale = the
                                   largest of 1.4826 · MAD of the meter's deviations from its level over the window,
                                   1.4826 · MAD at that slot and day type (weather, occupancy) and the floor below
spike_min_ratio            4.0     … and > this × max(base, typical level) (daily peaks reach ~2.5 × the typical
                                   level; the demo's spikes are 8–15 ×); meters whose median is 0 are not judged
spike_min_spread           0.1     floor of the scale as a fraction of the meter's typical level (mean of its
                                   median day of that type): near-zero nights of PV cannot make huge z-scores
spike_near_slots           2       half-width in quarter-hours of the slot-of-day neighbourhood (a day type seen
                                   on one day still has 5 values per slot) and of the readings around (± 30 min)
spike_min_over_p95         1.5     … and > this × the meter's 95th percentile on days of that type: a reading
                                   inside the meter's own range (PV on the one sunny day) is not a spike
creep_min_nights           5       nights needed to call a trend (3 nights of noise rise ≥ 30 % too often)
creep_min_rise             0.3     night minimum rises every night and by ≥ 30 % of the first night's in all
leak_min_flow_m3h          0.2     water: the night (01:00–04:00) minimum flow exceeds the meter's own baseline
                                   by this much [m³/h] (the smallest leak worth a visit) …
leak_min_excess            0.2     … and by this fraction of the baseline (0.3 before the sweep of
                                   ``benchmarks/bench_quality_sweep.py``: the spread and every-hour tests below
                                   now reject the noise it was there for, and 0.3 missed 0.4 m³/h leaks on
                                   1.5 m³/h offices) …
leak_spread_k              2.0     … and by this many robust spreads (1.4826 · MAD) of the baseline nights of that
                                   day type: a meter whose nights swing ±20 % needs a larger excess than a steady
                                   one (3 loses leaks on a demo with only 5 clean nights of history) …
leak_hours                 3       … and the same floors hold for the minimum of each of this many parts of the
                                   night (each hour) against that part's baseline: a leak flows all night, a
                                   moved quiet hour or a noisy night lifts the night minimum but not every hour
                                   (1: the night minimum only, the old rule); the sweep's largest gain
leak_min_nights            2       … on at least this many consecutive nights
leak_baseline_days         14      baseline = median night minimum of the last this many nights *before* ``start``
                                   that are not in or just after a holiday break (run of rest days holding a public
                                   holiday: homes are empty; looked for up to 14 days further back) and of the
                                   night's own day type (all of them if none is); two weeks give each day type
                                   several nights (7 before: 2 rest nights); a meter without history is not judged
h2_tolerance_kg            0.5     hydrogen: stock drop minus dispensed kg above this per interval is a loss
                                   (storage is reported to 0.1 kg, dispensed to 0.01 kg)
=========================  ======  ===============================================================================
"""

from lingang_twin.core.findings import SEVERITIES, SEVERITY_LABELS, Finding
from lingang_twin.energy.quality.check import check_meters
from lingang_twin.energy.quality.detectors import FINDING_KINDS, KIND_LABELS, THRESHOLDS
from lingang_twin.energy.quality.detectors import _holiday_nights as _holiday_nights  # for their tests
from lingang_twin.energy.quality.detectors import _rest_days as _rest_days
from lingang_twin.energy.quality.registry import DETECTORS, Detector, detector

__all__ = ["DETECTORS", "FINDING_KINDS", "KIND_LABELS", "SEVERITIES", "SEVERITY_LABELS", "THRESHOLDS", "Detector",
           "Finding", "check_meters", "detector"]
