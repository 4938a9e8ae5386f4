"""Gap filling as marked estimates (缺测补全，标记为估算值): one meter's consumption per bucket with its missing
buckets estimated, every estimate flagged and named by method.

The rule (issue item 6): gaps are filled *only as marked estimates*. :func:`fill_gaps` returns a new series; it
never writes anything into the store, so the meter's ``reading`` series keeps exactly what the meter sent and an
estimate can never be mistaken for a measurement later (``twin.read(meter, "reading")`` is unchanged).

Methods (:data:`METHODS`, chosen per gap, in this order):

==============  =====================================================================================================
method          when and how
==============  =====================================================================================================
redistributed   cumulative register (电表底数): the first reading after a gap already carries the gap's whole
                consumption, so the store's ``delta`` puts it all in one catch-up bucket. That total is *measured*;
                it is spread over the gap buckets and the catch-up bucket — evenly for a gap up to
                ``max_interpolate`` (a straight line between the two register readings), in proportion to the
                meter's typical profile for a longer one. The sum over the gap is conserved exactly.
interpolated    interval register, gap up to ``max_interpolate``: a straight line between the buckets either side.
profile         interval register, longer gap: the meter's own typical value for the same time of week (median of
                the ``profile_weeks`` preceding weeks; failing that, the same time of day on the 7 preceding
                days), scaled by how the meter ran around the gap compared with that profile (the ratio of sums
                over up to one day of measured buckets on each side, clipped to [0.25, 4]).
==============  =====================================================================================================

Never filled (value NaN, ``estimated`` false, counted in :attr:`FilledSeries.unfilled`): buckets before the
meter's first reading or after its last one before ``end`` (nothing says what happened there — a gap closed only
by a reading after ``end`` stays open), a long interval gap without any profile history, a catch-up bucket whose
register went backwards (a reset: the total is unknown). A coarse bucket that is only partly known is NaN, never
a smaller sum.

Not judged: a bucket of the meter's own grid holding *fewer* readings than usual (a 30-minute interval meter that
lost one of the two readings of an hour) is taken as measured; only buckets without any reading are gaps.

Grid: the meter is read on a 15-minute grid (:func:`.consumption.consumption_grid`, values in the carrier's
canonical unit) over the window plus ``profile_weeks`` weeks of history, rolled up to the meter's own reading
interval (15 min, hour or day, from the median spacing of its readings), filled there, then rolled up to the
requested bucket. A bucket of the answer is an estimate if any part of it is; its method is the most invented one
inside it (profile > interpolated > redistributed). Asking for buckets finer than the meter reads is refused:
the hourly total of an hourly meter cannot be split into quarter-hours by measurement.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from lingang_twin.core.errors import ValidationError
from lingang_twin.core.model import Entity
from lingang_twin.core.twin import Twin
from lingang_twin.energy.carriers import canonical_unit
from lingang_twin.energy.consumption import BUCKET_US, SHANGHAI, align, consumption_grid
from lingang_twin.energy.factors import EnergyConfig

METHODS: dict[str, str] = {
    "redistributed": "cumulative register: the measured catch-up total spread over the gap (sum conserved) / "
                     "累计表补读总量按时段分摊（总量守恒）",
    "interpolated": "interval register, short gap: straight line between the neighbouring buckets / "
                    "区间表短缺测：相邻时段线性插值",
    "profile": "interval register, long gap: the meter's typical value for the same time of week, scaled / "
               "区间表长缺测：按该表同周时段典型值（缩放）估算",
}
# A bucket that mixes methods reports the most invented one (profile guesses level and shape, interpolation the
# shape, redistribution neither the total nor, for short gaps, much of the shape).
_RANK = {"redistributed": 1, "interpolated": 2, "profile": 3}
_BY_RANK = {v: k for k, v in _RANK.items()}
MAX_WINDOW = timedelta(days=400)  # 38,400 quarter-hours: the internal grid is always 15-minute
_SLOT_US = BUCKET_US["15min"]
_SCALE_CLIP = (0.25, 4.0)  # a profile scaled beyond this says more about a broken neighbour than about the gap


@dataclass(frozen=True)
class FilledSeries:
    """One meter's consumption per bucket over ``[start, end)`` with its gaps filled as marked estimates.

    ``table`` columns: ``bucket`` (start of the bucket, Asia/Shanghai), ``value`` [``unit``, the carrier's
    canonical unit; NaN where nothing is known], ``estimated`` (bool), ``method`` (null for a measured or unfilled
    bucket, else a key of :data:`METHODS`)."""

    meter_id: str
    bucket: str
    unit: str
    register: str
    start: datetime
    end: datetime
    table: pa.Table
    by_method: dict[str, int]
    unfilled: int
    description: str
    notes: list[str] = field(default_factory=list)

    @property
    def n_buckets(self) -> int:
        return self.table.num_rows

    @property
    def n_estimated(self) -> int:
        return int(sum(self.by_method.values()))

    @property
    def share_estimated(self) -> float:
        """Estimated buckets / all buckets [0–1]."""
        return self.n_estimated / self.n_buckets if self.n_buckets else 0.0

    def values(self) -> np.ndarray:
        return self.table["value"].to_numpy(zero_copy_only=False)

    def estimated(self) -> np.ndarray:
        return self.table["estimated"].to_numpy(zero_copy_only=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (without the rows)."""
        return {"meter_id": self.meter_id, "bucket": self.bucket, "unit": self.unit, "register": self.register,
                "start": self.start.isoformat(), "end": self.end.isoformat(), "buckets": self.n_buckets,
                "estimated": self.n_estimated, "share_estimated": self.share_estimated,
                "by_method": dict(self.by_method), "unfilled": self.unfilled, "description": self.description,
                "notes": list(self.notes)}


def fill_gaps(twin: Twin, meter_id: str, start: datetime, end: datetime, *, bucket: str = "hour",
              max_interpolate: timedelta = timedelta(hours=2), profile_weeks: int = 4,
              config: EnergyConfig | None = None) -> FilledSeries:
    """Consumption of meter ``meter_id`` per ``bucket`` over ``[start, end)`` (widened to whole Shanghai buckets),
    its gaps filled as marked estimates (see the module docstring for the methods).

    The estimates live only in the returned :class:`FilledSeries`: nothing is written to the store, and the
    meter's ``reading`` series is never touched ("gap filling only as marked estimates").

    ``max_interpolate``: the longest gap filled by a straight line / even spread; longer ones follow the profile.
    ``profile_weeks``: weeks of history before ``start`` read for the typical profile [1–12].

    Raises NotFoundError for an unknown id and ValidationError (bilingual, naming the field) for an entity that is
    not a Meter (``meter``), naive instants (``start``/``end``), ``end`` not after ``start`` (``end``), a window
    longer than :data:`MAX_WINDOW` (``end``, rule ``too-long``), an unknown bucket or one finer than the meter's
    reading interval (``bucket``), a bad ``max_interpolate`` or ``profile_weeks``.
    """
    meter = _check(twin, meter_id, start, end, bucket, max_interpolate, profile_weeks)
    start, end = align(start, end, bucket)
    history = timedelta(days=7 * profile_weeks)
    grid = consumption_grid(twin, [meter], start - history, end, "15min", config=config)
    raw = grid.values[0]
    cumulative = meter.value("register") == "cumulative"
    native = _native_bucket(raw)
    if BUCKET_US[bucket] < BUCKET_US[native]:
        raise ValidationError("bucket", "finer-than-meter",
                              f"meter {meter.id} reads about once per {native}; ask for {native} buckets or coarser "
                              f"/ 该表约每 {native} 一个读数，时间粒度不能更细", value=bucket)
    f = BUCKET_US[native] // _SLOT_US
    v = _gather(raw, f)
    method = np.zeros(v.shape, dtype=np.int8)
    notes: list[str] = []
    per_week = 7 * 86_400_000_000 // BUCKET_US[native]
    per_day = 86_400_000_000 // BUCKET_US[native]
    n_interp = int(max_interpolate / timedelta(microseconds=BUCKET_US[native]))
    v, method = _fill(v, cumulative, n_interp, profile_weeks, per_week, per_day, notes)
    g = BUCKET_US[bucket] // BUCKET_US[native]
    v, method = _roll(v, g), _roll_method(method, g)
    skip = len(v) - int((end - start) / timedelta(microseconds=BUCKET_US[bucket]))
    v, method = v[skip:], method[skip:]
    starts = [start + k * timedelta(microseconds=BUCKET_US[bucket]) for k in range(len(v))]
    names = [_BY_RANK.get(int(m)) for m in method]
    table = pa.table({"bucket": pa.array(starts, pa.timestamp("us", tz="Asia/Shanghai")),
                      "value": pa.array(v, pa.float64()),
                      "estimated": pa.array(method > 0, pa.bool_()),
                      "method": pa.array(names, pa.string())})
    by_method = {name: int((method == rank).sum()) for name, rank in _RANK.items() if (method == rank).any()}
    unfilled = int(np.isnan(v).sum())
    if unfilled:
        notes.append(f"{unfilled} bucket(s) left empty: before the first or after the last reading, or no basis for "
                     f"an estimate / {unfilled} 个时段无法估算（首个读数之前、最后读数之后或无依据），保持为空")
    used = [f"{k}: {METHODS[k]}" for k in by_method]
    description = ("; ".join(used) if used else "no gap to fill / 无需补全") + \
        f" (filled on the meter's {native} grid, reported per {bucket}; estimates are not stored / 估算值不入库)"
    return FilledSeries(meter.id, bucket, canonical_unit(meter.value("carrier")),
                        "cumulative" if cumulative else "interval", start.astimezone(SHANGHAI),
                        end.astimezone(SHANGHAI), table, by_method, unfilled, description, notes)


def _check(twin: Twin, meter_id: str, start: datetime, end: datetime, bucket: str, max_interpolate: timedelta,
           profile_weeks: int) -> Entity:
    """Every argument checked before anything is read; the entity looked up last (NotFoundError)."""
    if not isinstance(meter_id, str) or not meter_id:
        raise ValidationError("meter", "type", "meter must be a Meter entity id / 须为表计实体 id", value=meter_id)
    for name, instant in (("start", start), ("end", end)):
        if not isinstance(instant, datetime) or instant.tzinfo is None or instant.utcoffset() is None:
            raise ValidationError(name, "timezone-required",
                                  f"{name} must be a timezone-aware datetime / 须为带时区的时间", value=instant)
    if start >= end:
        raise ValidationError("end", "range-order", "end must be after start / 结束时间须晚于开始时间", value=end)
    if end - start > MAX_WINDOW:
        raise ValidationError("end", "too-long", f"the window may span at most {MAX_WINDOW.days} days / "
                              f"时间窗口最长 {MAX_WINDOW.days} 天", value=end)
    if bucket not in BUCKET_US:
        raise ValidationError("bucket", "one-of", f"bucket must be one of {sorted(BUCKET_US)} / 不支持的时间粒度",
                              value=bucket)
    if not isinstance(max_interpolate, timedelta) or max_interpolate < timedelta(0):
        raise ValidationError("max_interpolate", "type",
                              "max_interpolate must be a timedelta ≥ 0 / 须为非负时长", value=max_interpolate)
    if isinstance(profile_weeks, bool) or not isinstance(profile_weeks, int) or not 1 <= profile_weeks <= 12:
        raise ValidationError("profile_weeks", "range", "profile_weeks must be an integer from 1 to 12 / "
                              "典型曲线周数须为 1–12 的整数", value=profile_weeks)
    entity = twin.get(meter_id)  # NotFoundError
    if entity.type != "Meter":
        raise ValidationError("meter", "type", f"{meter_id} is a {entity.type}, not a Meter / 该实体不是表计",
                              value=meter_id)
    return entity


def _native_bucket(raw: np.ndarray) -> str:
    """The standard bucket closest above the meter's reading interval (median spacing of its 15-minute slots)."""
    have = np.flatnonzero(~np.isnan(raw))
    spacing = float(np.median(np.diff(have))) if len(have) > 1 else 1.0
    for name in ("15min", "hour", "day"):
        if spacing <= BUCKET_US[name] // _SLOT_US:
            return name
    return "day"


def _gather(raw: np.ndarray, g: int) -> np.ndarray:
    """15-minute slots onto the meter's own grid: a meter that reads once per hour (or day) fills one slot of each
    of its buckets (the one its reading closes), so a bucket is the sum of its slots' readings, NaN only when none
    has one."""
    if g == 1:
        return raw
    block = raw.reshape(-1, g)
    out = np.nansum(block, axis=1)
    out[np.all(np.isnan(block), axis=1)] = np.nan
    return out


def _roll(v: np.ndarray, g: int) -> np.ndarray:
    """Sum of groups of ``g`` buckets; NaN if any part is NaN (a partly unknown bucket is unknown, not smaller)."""
    if g == 1:
        return v
    return v.reshape(-1, g).sum(axis=1)


def _roll_method(m: np.ndarray, g: int) -> np.ndarray:
    return m if g == 1 else m.reshape(-1, g).max(axis=1)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[a, b)`` of every run of True."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def _profile(obs: np.ndarray, weeks: int, per_week: int, per_day: int) -> np.ndarray:
    """Typical value of every bucket: median of the same time of week over the preceding ``weeks`` weeks, else of
    the same time of day over the preceding 7 days; NaN where neither has a measured value."""
    n = len(obs)

    def lagged(step: int, count: int) -> np.ndarray:
        out = np.full((count, n), np.nan)
        for j in range(1, count + 1):  # a handful of lags; numpy inside
            if j * step < n:
                out[j - 1, j * step:] = obs[:n - j * step]
        return out

    with np.errstate(all="ignore"), _no_warnings():
        weekly = np.nanmedian(lagged(per_week, weeks), axis=0)
        daily = np.nanmedian(lagged(per_day, 7), axis=0)
    return np.where(np.isnan(weekly), daily, weekly)


def _fill(v: np.ndarray, cumulative: bool, n_interp: int, weeks: int, per_week: int, per_day: int,
          notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Fill the inner gaps of one meter's series on its own grid; returns values and method ranks (0: measured)."""
    v = v.copy()
    method = np.zeros(len(v), dtype=np.int8)
    have = np.flatnonzero(~np.isnan(v))
    if len(have) == 0:
        return v, method
    first, last = int(have[0]), int(have[-1])
    missing = np.isnan(v)
    missing[:first] = missing[last + 1:] = False  # outside the readings: nothing to go on, left empty
    gaps = _runs(missing)
    obs = v.copy()
    if cumulative:
        obs[[b for _, b in gaps]] = np.nan  # catch-up buckets hold a whole gap: not typical of anything
    profile = _profile(obs, weeks, per_week, per_day) if gaps else obs
    resets = 0
    for a, b in gaps:  # one small numpy step per gap
        n = b - a
        if cumulative:
            total = v[b]
            if total < 0:  # register went backwards: the gap's total is unknown
                resets += 1
                continue
            shape = profile[a:b + 1]
            usable = n > n_interp and not np.isnan(shape).any() and shape.sum() > 0 and (shape >= 0).all()
            w = shape if usable else np.ones(n + 1)
            v[a:b + 1] = total * w / w.sum()
            method[a:b + 1] = _RANK["redistributed"]
        elif n <= n_interp:
            left, right = v[a - 1], v[b]
            v[a:b] = left + (right - left) * np.arange(1, n + 1) / (n + 1)
            method[a:b] = _RANK["interpolated"]
        else:
            shape = profile[a:b]
            if np.isnan(shape).all():
                continue
            lo, hi = max(first, a - per_day), min(last + 1, b + per_day)
            ctx = np.r_[lo:a, b:hi]
            ctx = ctx[~np.isnan(obs[ctx]) & ~np.isnan(profile[ctx])]
            typical = profile[ctx].sum()
            scale = float(np.clip(obs[ctx].sum() / typical, *_SCALE_CLIP)) if typical > 0 else 1.0
            filled = shape * scale
            # Buckets without any profile value inside a long gap: a straight line over the filled ones.
            if np.isnan(filled).any():
                k = np.arange(a - 1, b + 1)
                known = np.r_[v[a - 1], filled, v[b]]
                ok = ~np.isnan(known)
                filled = np.interp(k, k[ok], known[ok])[1:-1]
            v[a:b] = filled
            method[a:b] = _RANK["profile"]
    if resets:
        notes.append(f"{resets} gap(s) end on a register reset: not filled / {resets} 处缺测后读数回退，未补全")
    return v, method


@contextmanager
def _no_warnings() -> Iterator[None]:
    """All-NaN medians are expected here ("no history"), not worth a RuntimeWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


__all__ = ["MAX_WINDOW", "METHODS", "FilledSeries", "fill_gaps"]
