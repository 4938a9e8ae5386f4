"""The data-quality detectors (质量检测器) and the kernel they share: the 15-minute grid of readings, runs, the
Chinese calendar's day types, night minima. Each detector is one small function registered by name
(:func:`.registry.detector`); :func:`.check.check_meters` reads the grids and runs them. The method, its
thresholds and its evidence are described in :mod:`lingang_twin.energy.quality`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lingang_twin.core.calendar import DAY_US, OFFSET_US, instant_at
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.findings import Finding
from lingang_twin.core.meters import CUMULATIVE_Q
from lingang_twin.core.model import Entity
from lingang_twin.core.twin import Twin
from lingang_twin.energy.carriers import INTERVAL_Q, to_canonical_scale
from lingang_twin.energy.factors import EnergyConfig
from lingang_twin.energy.quality.registry import GridContext, ScopeContext, detector

SLOT_US = 900_000_000
_SLOT = timedelta(minutes=15)
FINDING_KINDS = ("gap", "stuck", "spike", "negative", "night_baseload_creep", "water_leak", "hydrogen_loss",
                 "unmetered_loss")  # the last one from .virtual.LossReport.findings
KIND_LABELS: dict[str, tuple[str, str]] = {
    "gap": ("数据缺失", "gap"), "stuck": ("停滞", "stuck"), "spike": ("突增", "spike"),
    "negative": ("负读数", "negative"),
    "night_baseload_creep": ("夜间基荷上升", "night base-load creep"), "water_leak": ("疑似漏水", "water leak"),
    "hydrogen_loss": ("氢损耗", "hydrogen loss"), "unmetered_loss": ("未计量损耗", "unmetered loss"),
}
"""Finding kind → (中文, English) as people read it (the kind itself stays the machine's name)."""

THRESHOLDS: dict[str, float] = {
    "gap_min_hours": 1.0,
    "gap_factor": 2.0,
    "stuck_min_hours": 2.5,
    "stuck_min_distinct": 8,
    "stuck_min_level": 0.1,
    "stuck_min_steps": 20,
    "spike_k": 12.0,
    "spike_min_ratio": 4.0,
    "spike_min_spread": 0.1,
    "spike_near_slots": 2,
    "spike_min_over_p95": 1.5,
    "creep_min_nights": 5,
    "creep_min_rise": 0.3,
    "leak_min_flow_m3h": 0.2,
    "leak_min_excess": 0.2,
    "leak_min_nights": 2,
    "leak_baseline_days": 14,
    "leak_spread_k": 2.0,
    "leak_hours": 3,
    "h2_tolerance_kg": 0.5,
    "gap_lookback_days": 7.0,
}


def _thresholds(overrides: Mapping[str, float] | None) -> dict[str, float]:
    out = dict(THRESHOLDS)
    for name, value in (overrides or {}).items():
        if name not in THRESHOLDS:
            raise ValidationError(f"thresholds.{name}", "threshold-unknown",
                                  f"unknown threshold {name!r}; known: {', '.join(THRESHOLDS)} / 未知阈值",
                                  value=name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value) or value < 0:
            raise ValidationError(f"thresholds.{name}", "threshold-range",
                                  f"{name} must be a finite number ≥ 0 / 阈值须为非负有限数", value=value)
        out[name] = float(value)
    return out


@contextmanager
def _quiet() -> Iterator[None]:
    """NaN is "no reading" here: all-NaN medians and NaN comparisons are expected, not worth a warning."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield



@dataclass
class _Grid:
    """Dense 15-minute matrix of one register kind: ``ids`` × slots; ``value`` NaN where no reading."""

    ids: list[str]
    value: np.ndarray
    count: np.ndarray
    resets: np.ndarray | None


def _grid(twin: Twin, scope: Entity, ids: list[str], attribute: str, agg: str, q: str | None, start_us: int,
          n_slots: int, start: datetime, end: datetime, types: tuple[str, ...] = ("Meter",)) -> _Grid:
    value = np.full((len(ids), n_slots), np.nan)
    count = np.zeros((len(ids), n_slots), dtype=np.int64)
    resets = np.zeros((len(ids), n_slots), dtype=np.int64) if agg == "delta" else None
    if not ids:
        return _Grid(ids, value, count, resets)
    if scope.id in ids and len(ids) == 1:
        table = twin.aggregate(attribute, bucket="15min", agg=agg, entity_id=scope.id, start=start, end=end,
                               group_by="entity", ordered=False)
    else:
        table = twin.aggregate(attribute, bucket="15min", agg=agg, under=scope.id, types=types, q=q, start=start,
                               end=end, group_by="entity", ordered=False)  # scattered into the matrix below
    if table.num_rows == 0:
        return _Grid(ids, value, count, resets)
    groups = table["group"] if "group" in table.column_names else pa.array([ids[0]] * table.num_rows)
    row = pc.fill_null(pc.index_in(groups, value_set=pa.array(ids)), -1).to_numpy(zero_copy_only=False)
    bucket_us = pc.cast(table["bucket"], pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy()
    slot = (bucket_us - start_us) // SLOT_US
    keep = (row >= 0) & (slot >= 0) & (slot < n_slots)
    r, s = row[keep], slot[keep]
    value[r, s] = table["value"].to_numpy(zero_copy_only=False)[keep].astype(np.float64)
    count[r, s] = table["count"].to_numpy(zero_copy_only=False)[keep]
    if resets is not None:
        resets[r, s] = table["resets"].to_numpy(zero_copy_only=False)[keep]
    return _Grid(ids, value, count, resets)


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of True along axis 1 of a 2-D mask: (row, first slot, length)."""
    rows, cols = mask.shape
    padded = np.zeros((rows, cols + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    d = np.diff(padded, axis=1)
    r0, c0 = np.nonzero(d == 1)
    _, c1 = np.nonzero(d == -1)  # same row order: np.nonzero is row-major, one end per start
    return r0, c0, c1 - c0


def _span(start_us: int, first_slot: int, length: int) -> tuple[datetime, datetime]:
    """Reading stamps covered by buckets ``first_slot …`` (``length`` of them): ``[first + 15 min, …)``."""
    a = start_us + (int(first_slot) + 1) * SLOT_US
    return instant_at(a), instant_at(a + int(length) * SLOT_US)


def _gaps(grid: _Grid, start_us: int, th: dict[str, float], reporting: set[str]) -> list[Finding]:
    present = grid.count > 0
    out: list[Finding] = []
    has = np.asarray(present.any(axis=1), dtype=bool)
    # The meter's usual interval: median spacing of its non-empty buckets, in slots (≥ 1).
    usual = np.ones(len(grid.ids))
    for i in np.flatnonzero(has):  # one small np.diff per meter, over its bucket indices
        idx = np.flatnonzero(present[i])
        if len(idx) > 1:
            usual[i] = max(float(np.median(np.diff(idx))), 1.0)
    missing = ~present & has[:, None]
    rows, first, length = _runs(missing)
    min_slots = np.maximum(th["gap_min_hours"] * 4, th["gap_factor"] * usual[rows])
    # A run shorter than the usual spacing plus one is just the meter's own rhythm.
    ok = (length >= min_slots) & (length >= usual[rows])
    # Silence from the window's start counts only for a meter that was reporting before it.
    anchored = np.array([grid.ids[r] in reporting for r in rows], dtype=bool)
    ok &= (first > 0) | anchored
    for r, f, n in zip(rows[ok], first[ok], length[ok], strict=True):
        a, b = _span(start_us, f, n)
        hours = n / 4
        out.append(Finding("gap", grid.ids[r], a, b, "high" if hours >= 12 else "medium",
                           f"{hours:.2f} 小时无读数（通常每 {usual[r] * 15:.0f} 分钟一个读数）",
                           f"no readings for {hours:.2f} h (usually one every {usual[r] * 15:.0f} min)",
                           {"missing_hours": hours, "usual_interval_min": float(usual[r] * 15)}))
    return out


def _stuck(grid: _Grid, start_us: int, th: dict[str, float], is_cum: bool) -> list[Finding]:
    v = grid.value
    n_min = int(np.ceil(th["stuck_min_hours"] * 4))
    if is_cum:
        # A stuck register repeats its reading: the steps are zero.
        same = v == 0.0
        run_extra = 0
    else:
        same = np.zeros_like(v, dtype=bool)
        same[:, 1:] = (v[:, 1:] == v[:, :-1]) & (v[:, 1:] != 0.0)
        run_extra = 1  # a run of k equal steps is k + 1 equal readings
    if not is_cum:
        with _quiet():
            level = np.nanmedian(np.where(np.isnan(v).all(axis=1)[:, None], 0.0, v), axis=1)
        same &= v >= th["stuck_min_level"] * level[:, None]
    uniques = [np.unique(row[~np.isnan(row)]) for row in v]  # one np.unique per meter
    distinct = np.array([len(u) for u in uniques])
    if not is_cum:
        step = np.array([float(np.diff(u).min()) if len(u) > 1 else np.inf for u in uniques])
        same &= v >= th["stuck_min_steps"] * step[:, None]
    rows, first, length = _runs(same)
    ok = (length + run_extra >= n_min) & (distinct[rows] >= th["stuck_min_distinct"])
    out: list[Finding] = []
    for r, f, n in zip(rows[ok], first[ok], length[ok], strict=True):
        f0, n0 = int(f) - run_extra, int(n) + run_extra
        if is_cum:
            f0, n0 = int(f) - 1, int(n) + 1  # the reading before the first zero step repeats too
        a, b = _span(start_us, f0, n0)
        hours = n0 / 4
        value = float(v[r, f0]) if not is_cum else None
        out.append(Finding("stuck", grid.ids[r], a, b, "medium",
                           f"计量表卡滞：{hours:.2f} 小时读数不变",
                           f"stuck meter: the same reading for {hours:.2f} h",
                           {"hours": hours, "value": value, "register": "cumulative" if is_cum else "interval",
                            "distinct_values": int(distinct[r])}))
    return out


def _negative(grid: _Grid, start_us: int, is_cum: bool) -> list[Finding]:
    out: list[Finding] = []
    if is_cum:
        assert grid.resets is not None
        rows, slots = np.nonzero(grid.resets > 0)
        for r, s in zip(rows, slots, strict=True):
            a, b = _span(start_us, int(s), 1)
            out.append(Finding("negative", grid.ids[r], a, b, "high",
                               "累计表读数回退（无翻转标志）：该读数被当作复位后的用量",
                               "cumulative register went backwards without a rollover: treated as a reset",
                               {"resets": int(grid.resets[r, s]), "register": "cumulative"}))
    else:
        rows, slots = np.nonzero(grid.value < 0)
        for r, s in zip(rows, slots, strict=True):
            a, b = _span(start_us, int(s), 1)
            out.append(Finding("negative", grid.ids[r], a, b, "high", f"区间读数为负：{grid.value[r, s]:g}",
                               f"negative interval reading: {grid.value[r, s]:g}",
                               {"value": float(grid.value[r, s]), "register": "interval"}))
    return out


_DAY_US = DAY_US
_BREAK_LOOKBACK_DAYS = 14  # the longest holiday break (Spring Festival, National Day) lasts 8–9 days


@lru_cache(maxsize=32)
def _china_days(year: int) -> tuple[frozenset[int], frozenset[int]]:
    """Epoch days (Asia/Shanghai) of ``year``'s public holidays (incl. weekdays swapped off) and make-up working
    days (调休上班), from ``holidays.China`` — the calendar :mod:`lingang_twin.demo.calendar` uses too."""
    cn = holidays.China(years=year)
    epoch = date(1970, 1, 1)
    off = frozenset((d - epoch).days for d in cn if d.year == year)
    work = frozenset((d - epoch).days for d in cn.weekend_workdays if d.year == year)
    return off, work


def _rest_days(epoch_days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each epoch day: is it a rest day (weekend or public holiday, but not a make-up working day), and is it
    a public holiday (incl. weekdays swapped off)?"""
    epoch_days = np.asarray(epoch_days, dtype=np.int64)
    first, last = (date(1970, 1, 1) + timedelta(days=int(d)) for d in (epoch_days.min(), epoch_days.max()))
    off: set[int] = set()
    work: set[int] = set()
    for y in range(first.year, last.year + 1):
        o, w = _china_days(y)
        off |= o
        work |= w
    weekend = (epoch_days + 3) % 7 >= 5  # 1970-01-01 was a Thursday: (d + 3) % 7 is 0 on Mondays
    holiday = np.isin(epoch_days, np.fromiter(off, dtype=np.int64, count=len(off)))
    make_up = np.isin(epoch_days, np.fromiter(work, dtype=np.int64, count=len(work)))
    return (weekend | holiday) & ~make_up, holiday


def _holiday_nights(nights: np.ndarray) -> np.ndarray:
    """True for each night (epoch day of its 01:00–04:00) inside or just after a holiday break — a run of rest days
    holding a public holiday, weekends inside it included: the night of the break's days and of the day after."""
    nights = np.asarray(nights, dtype=np.int64)
    if len(nights) == 0:
        return np.zeros(0, dtype=bool)
    days = np.arange(nights.min() - 1, nights.max() + 1)
    rest, holiday = _rest_days(days)
    run = np.cumsum(~rest)  # rest days of one run share a number
    has_holiday = np.bincount(run[rest], weights=holiday[rest], minlength=int(run.max()) + 1) > 0
    brk = rest & has_holiday[run]
    pos = nights - days[0]
    return brk[pos] | brk[pos - 1]


def _nanquantile_last(a: np.ndarray, q: float) -> np.ndarray:
    """Quantile ``q`` along the last axis ignoring NaN (NaN where all are): one sort, ~10× faster than
    ``np.nanmedian`` on the short rows used here. ``q = 0.5`` is the median (mean of the two middle values),
    any other ``q`` the nearest rank."""
    s = np.sort(a, axis=-1)  # NaN sorts last
    n = (~np.isnan(s)).sum(axis=-1)
    if q == 0.5:
        lo, hi = np.maximum((n - 1) // 2, 0), np.maximum(n // 2, 0)
    else:
        lo = hi = np.maximum(np.ceil(q * n).astype(np.int64) - 1, 0)
    out = (np.take_along_axis(s, lo[..., None], -1)[..., 0] + np.take_along_axis(s, hi[..., None], -1)[..., 0]) / 2
    return np.where(n > 0, out, np.nan)


def _profile(v: np.ndarray, start_us: int, half: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each meter's robust level and spread for every slot, and its typical and high level on that slot's day
    type.

    ``level[i, s]`` is the median of meter ``i``'s readings at the same slot of day (± ``half`` slots) over the
    days of the window of the same day type (working vs rest day), ``spread[i, s]`` 1.4826 × their median absolute
    deviation from it (how much that time of day varies from day to day: weather, occupancy), ``typical[i, s]``
    the mean of the level over the day and ``high[i, s]`` the 95th percentile of the meter's readings on days of
    that type. A few sorts over meters × 96 × (days · (2·half + 1)) blocks per day type; no loop over readings.
    """
    m, n_slots = v.shape
    local = start_us + OFFSET_US + np.arange(n_slots, dtype=np.int64) * SLOT_US
    day = local // _DAY_US
    tod = (local % _DAY_US) // SLOT_US
    di = day - day[0]
    n_days = int(di[-1]) + 1
    cube = np.full((m, n_days, 96), np.nan)
    cube[:, di, tod] = v
    rest, _ = _rest_days(day[0] + np.arange(n_days))
    kind = rest[di].astype(np.int64)
    prof = np.full((m, 2, 96), np.nan)
    spread = np.full((m, 2, 96), np.nan)
    high = np.full((m, 2), np.nan)
    for t in (0, 1):  # working days, rest days
        sub = cube[:, rest == bool(t), :]
        sub = sub[:, ~np.isnan(sub).all(axis=(0, 2)), :]  # days without any reading (before/after the data)
        if sub.shape[1] == 0:
            continue
        near = np.stack([np.roll(sub, j, axis=2) for j in range(-half, half + 1)], axis=-1)  # m × d × 96 × w
        near = near.transpose(0, 2, 1, 3).reshape(m, 96, -1)
        prof[:, t, :] = _nanquantile_last(near, 0.5)
        spread[:, t, :] = 1.4826 * _nanquantile_last(np.abs(near - prof[:, t, :, None]), 0.5)
        high[:, t] = _nanquantile_last(sub.reshape(m, -1), 0.95)
    typical = np.nanmean(prof, axis=2)  # m × 2
    return prof[:, kind, tod], spread[:, kind, tod], typical[:, kind], high[:, kind]


def _around(v: np.ndarray, half: int) -> np.ndarray:
    """Median of the ``half`` readings before and after each reading (itself excluded; NaN-ignoring)."""
    m, n = v.shape
    padded = np.full((m, n + 2 * half), np.nan)
    padded[:, half:half + n] = v
    near = [padded[:, half + j:half + j + n] for j in range(-half, half + 1) if j]
    return _nanquantile_last(np.stack(near, axis=-1), 0.5) if near else np.full_like(v, np.nan)


def _day_type_p95(v: np.ndarray, start_us: int) -> np.ndarray:
    """Each reading's meter's 95th percentile on that reading's day type (working or rest day): what
    :func:`_profile` calls ``high``, alone (one sort per day type)."""
    m, n_slots = v.shape
    day = (start_us + OFFSET_US + np.arange(n_slots, dtype=np.int64) * SLOT_US) // _DAY_US
    kind, _ = _rest_days(day)
    high = np.full((m, 2), np.nan)
    for t in (0, 1):
        cols = kind == bool(t)
        if cols.any():
            high[:, t] = _nanquantile_last(v[:, cols], 0.95)
    return high[:, kind.astype(np.int64)]


def _spikes(grid: _Grid, start_us: int, th: dict[str, float]) -> list[Finding]:
    v_all = grid.value
    with _quiet():
        med_all = _nanquantile_last(v_all, 0.5)
        # A spike must exceed spike_min_over_p95 × the meter's 95th percentile on that day type (the last test
        # below): that is cheap to compute, so the costly profiles are built only for meters that pass it. Same
        # findings; a month of the demo district: 0.8 s → 0.15 s.
        cand = np.flatnonzero(((v_all > th["spike_min_over_p95"] * _day_type_p95(v_all, start_us)).any(axis=1))
                              & (med_all > 0))
    if cand.size == 0:
        return []
    v, med, ids = v_all[cand], med_all[cand], [grid.ids[i] for i in cand]
    with _quiet():
        level, spread, typical, high = _profile(v, start_us, int(th["spike_near_slots"]))
        mad = 1.4826 * _nanquantile_last(np.abs(v - level), 0.5)  # the meter's noise over the whole window
        scale = np.maximum(np.maximum(np.maximum(mad[:, None], spread), th["spike_min_spread"] * typical), 1e-6)
        # A spike also stands out from the readings around it: a load that switches on and stays on (the first
        # hot day for a cooling tower, a school kitchen on the first day of term) is a new level, not a spike.
        base = np.fmax(level, _around(v, int(th["spike_near_slots"])))
        limit = np.maximum(np.maximum(base + th["spike_k"] * scale,
                                      th["spike_min_ratio"] * np.maximum(base, typical)),
                           th["spike_min_over_p95"] * high)
        hit = (v > limit) & (med > 0)[:, None]
    out: list[Finding] = []
    for r, s in zip(*np.nonzero(hit), strict=True):
        a, b = _span(start_us, s, 1)
        lv = float(level[r, s])
        out.append(Finding("spike", ids[r], a, b, "medium",
                           f"尖峰：读数 {v[r, s]:g}，远超该表同类日同一时段的正常水平（{lv:g}）",
                           f"spike: reading {v[r, s]:g} far above the meter's usual level at that time of day on "
                           f"that kind of day ({lv:g})",
                           {"value": float(v[r, s]), "level": lv, "base": float(base[r, s]),
                            "typical": float(typical[r, s]), "p95": float(high[r, s]), "mad": float(mad[r]),
                            "spread": float(spread[r, s]), "limit": float(limit[r, s]),
                            "ratio_to_level": float(v[r, s] / lv) if lv > 0 else None}))
    return out


def _nights(start_us: int, n_slots: int) -> tuple[np.ndarray, np.ndarray]:
    """Local night of every slot (epoch day, or -1 outside 01:00-04:00) and the nights fully in the window."""
    local = start_us + OFFSET_US + np.arange(n_slots, dtype=np.int64) * SLOT_US
    tod = (local % 86_400_000_000) // SLOT_US  # slot of the local day
    day = local // 86_400_000_000
    night = np.where((tod >= 4) & (tod < 16), day, -1)
    days, counts = np.unique(night[night >= 0], return_counts=True)
    return night, days[counts == 12]


def _night_min(grid: _Grid, start_us: int, blocks: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Minimum 15-minute value of each meter on each full night (NaN if a reading is missing): meters × nights; with
    ``blocks`` ≥ 1, the minimum of each of that many equal parts of the night (01:00–04:00 in 3: each hour):
    meters × nights × blocks."""
    night, days = _nights(start_us, grid.value.shape[1])
    parts = min(max(blocks, 1), 12)
    starts = (np.arange(parts) * 12) // parts
    out = np.full((len(grid.ids), len(days), parts), np.nan)
    for j, d in enumerate(days):  # a handful of nights
        block = grid.value[:, night == d]
        full = ~np.isnan(block).any(axis=1)
        out[full, j] = np.minimum.reduceat(block[full], starts, axis=1)
    return days, (out if blocks else out[:, :, 0] if parts == 1 else out.min(axis=2))


def _water_leaks(twin: Twin, scope: Entity, grid: _Grid, by_id: dict[str, Entity], start_us: int,
                 th: dict[str, float], agg: str, q: str | None) -> list[Finding]:
    water_ids = [i for i in grid.ids if by_id[i].value("carrier") == "water"]
    if not water_ids:
        return []
    pos = np.array([grid.ids.index(i) for i in water_ids])
    hours = min(max(int(th["leak_hours"]), 1), 12)
    days, parts = _night_min(_Grid(water_ids, grid.value[pos], grid.count[pos], None), start_us, hours)
    mins = parts.min(axis=2)
    if len(days) == 0:
        return []
    # Baseline: the meter's median night minimum over the last ``leak_baseline_days`` nights before the window
    # that are not in (or just after) a holiday break — homes empty over the Spring Festival would make any later
    # night look like a leak. One more grouped query, reaching back far enough to step over the longest break.
    base_days = int(th["leak_baseline_days"])
    if base_days < 1:
        return []
    look = base_days + _BREAK_LOOKBACK_DAYS
    base_start_us = start_us - look * _DAY_US
    water_q = f'{q};carrier=="water"' if q else 'carrier=="water"'
    base = _grid(twin, scope, water_ids, "reading", agg, water_q, base_start_us, look * 96, instant_at(base_start_us),
                 instant_at(start_us))
    base_nights, base_parts = _night_min(base, base_start_us, hours)
    keep = np.flatnonzero(~_holiday_nights(base_nights))[-base_days:]
    base_nights, base_parts = base_nights[keep], base_parts[:, keep, :]
    base_mins = base_parts.min(axis=2)
    # Each night of the window is compared with the baseline nights of its own day type (working / rest day);
    # a day type without baseline nights falls back to all of them.
    base_rest, _ = _rest_days(base_nights) if len(base_nights) else (np.zeros(0, dtype=bool), None)
    night_rest, _ = _rest_days(days)
    m = len(water_ids)
    with _quiet():
        baseline = np.full((m, 2), np.nan)
        spread = np.full((m, 2), np.nan)
        part_base = np.full((m, 2, hours), np.nan)
        for t in (0, 1):
            sel = base_rest == bool(t)
            if not sel.any():
                sel = np.ones(len(base_nights), dtype=bool)
            if sel.any():
                cols = base_mins[:, sel]
                baseline[:, t] = _nanquantile_last(cols, 0.5)
                spread[:, t] = 1.4826 * _nanquantile_last(np.abs(cols - baseline[:, t, None]), 0.5)
                part_base[:, t, :] = _nanquantile_last(base_parts[:, sel, :].transpose(0, 2, 1), 0.5)
        kind = night_rest.astype(np.int64)
        scale = np.array([_scale(by_id[i], "water") for i in water_ids]) * 4  # m³ per quarter-hour → m³/h
        flow = mins * scale[:, None]
        base_flow = baseline[:, kind] * scale[:, None]  # meters × nights of the window
        base_spread = spread[:, kind] * scale[:, None]
        excess = flow - base_flow
        wet = ((excess > th["leak_min_flow_m3h"]) & (excess > th["leak_min_excess"] * base_flow)
               & (excess > th["leak_spread_k"] * base_spread))
        # A leak flows all night: every part of the night (each hour) is above that part's baseline by the same
        # floors, not only the night's minimum (a noisy night or a moved quiet hour lifts the minimum, not every hour).
        part_base_flow = part_base[:, kind, :] * scale[:, None, None]
        part_excess = parts * scale[:, None, None] - part_base_flow
        wet &= ((part_excess > th["leak_min_flow_m3h"])
                & (part_excess > th["leak_min_excess"] * part_base_flow)).all(axis=2)
    rows, first, length = _runs(wet)  # NaN baseline (no history) never compares true
    ok = length >= th["leak_min_nights"]
    out: list[Finding] = []
    for r, f, n in zip(rows[ok], first[ok], length[ok], strict=True):
        d0, d1 = int(days[f]), int(days[f + n - 1])
        a = instant_at(d0 * 86_400_000_000 - OFFSET_US + 3_600_000_000)
        b = instant_at(d1 * 86_400_000_000 - OFFSET_US + 4 * 3_600_000_000)
        night_flow = [round(float(x), 4) for x in flow[r, f:f + n]]
        extra = float(np.mean(excess[r, f:f + n]))
        out.append(Finding("water_leak", water_ids[r], a, b, "high",
                           f"疑似漏水：连续 {n} 晚 01:00–04:00 最小流量比平时高约 {extra:.2f} 立方米/小时",
                           f"suspected water leak: night (01:00-04:00) minimum flow about {extra:.2f} m³/h above "
                           f"the usual on {n} nights in a row",
                           {"nights": int(n), "night_min_flow_m3h": night_flow,
                            "baseline_m3h": round(float(np.mean(base_flow[r, f:f + n])), 4),
                            "baseline_by_night_m3h": [round(float(x), 4) for x in base_flow[r, f:f + n]],
                            "excess_m3h": round(extra, 4),
                            "baseline_spread_m3h": round(float(np.mean(base_spread[r, f:f + n])), 4)}))
    return out


def _creep(grid: _Grid, by_id: dict[str, Entity], start_us: int, th: dict[str, float]) -> list[Finding]:
    days, mins = _night_min(grid, start_us)
    if len(days) < th["creep_min_nights"]:
        return []
    with _quiet():
        complete = ~np.isnan(mins).any(axis=1)
        rising = (np.diff(mins, axis=1) > 0).all(axis=1)
        first, last = mins[:, 0], mins[:, -1]
        rise = (last - first) / np.where(first > 0, first, np.nan)
        hit = complete & rising & (first > 0) & (rise >= th["creep_min_rise"])
    out: list[Finding] = []
    a = instant_at(int(days[0]) * 86_400_000_000 - OFFSET_US + 3_600_000_000)
    b = instant_at(int(days[-1]) * 86_400_000_000 - OFFSET_US + 4 * 3_600_000_000)
    for r in np.flatnonzero(hit):
        pct = float(rise[r]) * 100
        out.append(Finding("night_baseload_creep", grid.ids[r], a, b, "low",
                           f"夜间基础负荷逐晚上升：{len(days)} 晚内上升 {pct:.0f}%",
                           f"night base load rising every night: up {pct:.0f}% over {len(days)} nights",
                           {"night_min": [float(x) for x in mins[r]], "rise": float(rise[r]),
                            "unit": by_id[grid.ids[r]].value("unit")}))
    return out


def _scale(meter: Entity, carrier: str) -> float:
    try:
        return to_canonical_scale(carrier, meter.value("unit"), EnergyConfig())
    except ValidationError:
        return 1.0


def _hydrogen(twin: Twin, scope: Entity, start_us: int, n_slots: int, start: datetime, end: datetime,
              th: dict[str, float]) -> list[Finding]:
    """Stock drops that the dispensed kilograms do not explain, per hydrogen station (skipped without series)."""
    if "HydrogenStation" not in twin.types:
        return []
    if scope.type == "HydrogenStation":
        stations = [scope.id]
    else:
        page = twin.query(types=("HydrogenStation",), under=scope.id, limit=10_000)
        stations = [e.id for e in page.entities]
    if not stations:
        return []
    level = _grid(twin, scope, stations, "storageLevel", "last", None, start_us, n_slots, start, end,
                  ("HydrogenStation",))
    given = _grid(twin, scope, stations, "dispensed", "sum", None, start_us, n_slots, start, end,
                  ("HydrogenStation",))
    out: list[Finding] = []
    for r, sid in enumerate(stations):  # a station or two; numpy inside
        have = np.flatnonzero(~np.isnan(level.value[r]))
        if len(have) < 2:
            continue
        cum = np.concatenate([[0.0], np.cumsum(np.nan_to_num(given.value[r]))])
        drop = level.value[r, have[:-1]] - level.value[r, have[1:]]  # between consecutive stock readings
        sold = cum[have[1:] + 1] - cum[have[:-1] + 1]  # dispensed in the slots after one reading up to the next
        lost = drop - sold
        for k in np.flatnonzero(lost > th["h2_tolerance_kg"]):
            a, b = _span(start_us, int(have[k]) + 1, int(have[k + 1] - have[k]))
            out.append(Finding("hydrogen_loss", sid, a, b, "critical" if lost[k] > 10 else "high",
                               f"氢气库存下降 {drop[k]:.1f} 千克，加注仅 {sold[k]:.2f} 千克："
                               f"{lost[k]:.1f} 千克去向不明",
                               f"hydrogen stock fell {drop[k]:.1f} kg but only {sold[k]:.2f} kg was dispensed: "
                               f"{lost[k]:.1f} kg unaccounted for",
                               {"stock_drop_kg": float(drop[k]), "dispensed_kg": float(sold[k]),
                                "lost_kg": float(lost[k])}))
    return out


# -- the registry: each detector one small unit, registered by name (run in this order) -------------------------------
@detector("gap", kinds=("gap",))
def gap(ctx: GridContext) -> list[Finding]:
    """Runs of missing readings longer than ``gap_min_hours`` and ``gap_factor`` usual intervals."""
    return _gaps(ctx.grid, ctx.start_us, ctx.th, ctx.reporting)


@detector("stuck", kinds=("stuck",))
def stuck(ctx: GridContext) -> list[Finding]:
    """The same reading repeated for ``stuck_min_hours`` on a meter that otherwise varies."""
    return _stuck(ctx.grid, ctx.start_us, ctx.th, ctx.cumulative)


@detector("negative", kinds=("negative",))
def negative(ctx: GridContext) -> list[Finding]:
    """A negative interval reading, or a register that went back without rolling over."""
    return _negative(ctx.grid, ctx.start_us, ctx.cumulative)


@detector("spike", kinds=("spike",), registers=("interval",))
def spike(ctx: GridContext) -> list[Finding]:
    """A reading far above the meter's level at that slot of a day of that type (interval meters only)."""
    return _spikes(ctx.grid, ctx.start_us, ctx.th)


@detector("water_leak", kinds=("water_leak",))
def water_leak(ctx: GridContext) -> list[Finding]:
    """Water flowing every hour of consecutive nights above the meter's own baseline nights."""
    return _water_leaks(ctx.twin, ctx.scope, ctx.grid, ctx.by_id, ctx.start_us, ctx.th,
                        "delta" if ctx.cumulative else "sum", CUMULATIVE_Q if ctx.cumulative else INTERVAL_Q)


@detector("night_baseload_creep", kinds=("night_baseload_creep",))
def night_baseload_creep(ctx: GridContext) -> list[Finding]:
    """Night minimum rising every night; a meter already found leaking is not reported twice."""
    leaking = {f.entity_id for f in ctx.found if f.kind == "water_leak"}
    return [f for f in _creep(ctx.grid, ctx.by_id, ctx.start_us, ctx.th) if f.entity_id not in leaking]


@detector("hydrogen_loss", kinds=("hydrogen_loss",), per="scope")
def hydrogen_loss(ctx: ScopeContext) -> list[Finding]:
    """Hydrogen stock drops the dispensed kilograms do not explain, per station."""
    return _hydrogen(ctx.twin, ctx.scope, ctx.start_us, ctx.n_slots, ctx.start, ctx.end, ctx.th)


__all__ = ["FINDING_KINDS", "KIND_LABELS", "SLOT_US", "THRESHOLDS", "gap", "hydrogen_loss", "negative",
           "night_baseload_creep", "spike", "stuck", "water_leak"]
