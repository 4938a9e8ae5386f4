"""What meters consumed (计量表用量): one register-aware, unit-converting read of many meters' consumption.

A meter's ``reading`` is either the consumption of the interval it closes (``register`` ``interval``, the default)
or the value of a cumulative register (``cumulative``), whose consumption is the step from the reading before —
rollovers at ``registerMax`` and resets handled by the store, which also flags them (DESIGN.md's meter convention).
:func:`meter_consumption` asks the store for both kinds in at most two grouped aggregates (``sum`` over interval
meters, ``delta`` over cumulative registers) and returns one row per meter and bucket, multiplied by each meter's
scale (a pack's conversion of the meter's unit to its carrier's unit; the core does not know carriers).

Why two aggregates and not the core's ``agg="consumption"``: that one takes every series through the windowed step
query a register needs, which costs interval meters (most of them) a ``lag`` over all their readings; the numbers
are the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lingang_twin.core.model import Entity
from lingang_twin.core.twin import Twin

INTERVAL_Q = '(!register|register!="cumulative")'
"""q of the interval meters (a meter without ``register`` is one: ``!=`` alone would need the attribute present)."""
CUMULATIVE_Q = 'register=="cumulative"'
"""q of the cumulative registers."""


def is_cumulative(meter: Entity) -> bool:
    """Whether ``meter``'s readings are a cumulative register (else each reading is its interval's consumption)."""
    return meter.value("register") == "cumulative"


@dataclass(frozen=True)
class MeterConsumption:
    """Rows of (meter, bucket): ``meter`` indexes :attr:`meters`, ``bucket_us`` is the bucket's start in epoch
    microseconds, ``value`` the consumption in it (times the meter's scale; NaN where the store had none),
    ``count`` the readings (steps) behind it, ``resets`` the register resets the store flagged in it (0 for
    interval meters). Rows come in no particular order."""

    meters: list[Entity]
    meter: np.ndarray
    bucket_us: np.ndarray
    value: np.ndarray
    count: np.ndarray
    resets: np.ndarray

    def matrix(self, start_us: int, size_us: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(values, counts)`` as ``meters × n`` matrices of buckets ``start_us + k × size_us``: values NaN where
        a bucket holds no reading; rows outside the grid are dropped."""
        values = np.full((len(self.meters), n), np.nan)
        counts = np.zeros((len(self.meters), n), dtype=np.int64)
        cols = (self.bucket_us - start_us) // size_us
        inside = (cols >= 0) & (cols < n)
        rows, cols, v = self.meter[inside], cols[inside], self.value[inside]
        ok = ~np.isnan(v)
        values[rows[ok], cols[ok]] = v[ok]
        counts[rows, cols] = self.count[inside]
        return values, counts

    def totals(self) -> tuple[np.ndarray, np.ndarray]:
        """``(value, count)`` per meter over every bucket (NaN buckets count as nothing)."""
        value = np.zeros(len(self.meters))
        count = np.zeros(len(self.meters), dtype=np.int64)
        ok = ~np.isnan(self.value)
        np.add.at(value, self.meter[ok], self.value[ok])
        np.add.at(count, self.meter, self.count)
        return value, count


def meter_consumption(twin: Twin, meters: Sequence[Entity], start: datetime, end: datetime, *, bucket: str,
                      under: str | None = None, q: str | None = None,
                      scales: Mapping[str, float] | None = None, ordered: bool = True) -> MeterConsumption:
    """Consumption of ``meters`` per ``bucket`` over ``[start, end)`` (period-closing readings: ``(start, end]``).

    The store is asked for every ``Meter`` below ``under`` (the whole twin when ``None``) that also matches ``q``
    (e.g. a carrier), grouped by meter, and the rows of other meters are dropped, so pass the narrowest ``under``
    that holds them all; a single meter that is ``under`` itself is read by id. ``scales`` (meter id → factor,
    default 1) converts each meter's unit. Interval meters are summed, cumulative registers differenced. The rows
    of interval meters come first; ``ordered=False`` lets the store skip sorting within each part (faster; the
    order of floating-point sums over the rows then varies in the last digit)."""
    meters = list(meters)
    index = {m.id: i for i, m in enumerate(meters)}
    scale = np.array([(scales or {}).get(m.id, 1.0) for m in meters], dtype=np.float64)
    cumulative = np.array([is_cumulative(m) for m in meters], dtype=bool)
    parts: list[tuple[np.ndarray, ...]] = []
    for agg, register_q, wanted in (("sum", INTERVAL_Q, ~cumulative), ("delta", CUMULATIVE_Q, cumulative)):
        if not wanted.any():
            continue
        ids = [m.id for m, w in zip(meters, wanted, strict=True) if w]
        if under is not None and len(meters) == 1 and meters[0].id == under:
            table = twin.aggregate("reading", bucket=bucket, agg=agg, entity_id=under, start=start, end=end,
                                   group_by="entity", ordered=ordered)
        else:
            table = twin.aggregate("reading", bucket=bucket, agg=agg, types=("Meter",), under=under,
                                   q=register_q if q is None else f"{q};{register_q}", start=start, end=end,
                                   group_by="entity", ordered=ordered)
        if table.num_rows == 0:
            continue
        groups = table["group"] if "group" in table.column_names else pa.array([ids[0]] * table.num_rows)
        pos = pc.fill_null(pc.index_in(groups, value_set=pa.array(ids)), -1).to_numpy(zero_copy_only=False)
        keep = pos >= 0
        rows = np.array([index[i] for i in ids], dtype=np.int64)[pos[keep]]
        bucket_us = pc.cast(table["bucket"], pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy()[keep]
        value = table["value"].to_numpy(zero_copy_only=False)[keep].astype(np.float64) * scale[rows]
        count = table["count"].to_numpy(zero_copy_only=False)[keep].astype(np.int64)
        resets = (table["resets"].to_numpy(zero_copy_only=False)[keep].astype(np.int64) if agg == "delta"
                  else np.zeros(len(rows), dtype=np.int64))
        parts.append((rows, bucket_us, value, count, resets))
    if not parts:
        empty_i = np.zeros(0, dtype=np.int64)
        return MeterConsumption(meters, empty_i, empty_i, np.zeros(0), empty_i, empty_i)
    cols = [np.concatenate([p[k] for p in parts]) for k in range(5)]
    return MeterConsumption(meters, *cols)


__all__ = ["CUMULATIVE_Q", "INTERVAL_Q", "MeterConsumption", "is_cumulative", "meter_consumption"]
