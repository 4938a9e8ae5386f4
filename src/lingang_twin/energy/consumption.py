"""Consumption on a calendar grid (能耗时序矩阵): every meter of a scope × fixed Shanghai-time buckets.

Forecasts, baselines, gap filling and the console all want the same thing: the consumption of many meters per
15 minutes, hour or day, in each carrier's canonical unit (:mod:`.carriers`), with "no reading" kept apart from
"zero". :func:`consumption_grid` asks the store for it in at most two grouped aggregates (``sum`` over interval
registers, ``delta`` over cumulative ones — rollovers and resets handled by the store) and scatters the answer into
a dense ``meters × buckets`` numpy matrix, NaN where a bucket holds no reading.

Buckets are fixed-length (Shanghai keeps UTC+8 all year, so a day is always 24 h) and aligned to Shanghai
midnight; ``start`` is floored to its bucket and ``end`` ceiled, so the grid always covers whole buckets. A
reading closes the interval it is stamped at (DESIGN.md), so the bucket starting at ``b`` holds the readings
stamped in ``(b, b + size]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from lingang_twin.core.calendar import BUCKET_US, OFFSET_US, SHANGHAI, align, epoch_us, instant_at
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.meters import meter_consumption
from lingang_twin.core.model import Entity
from lingang_twin.core.twin import Twin
from lingang_twin.energy.accounting import meters_in_scope
from lingang_twin.energy.carriers import canonical_unit, to_canonical_scale
from lingang_twin.energy.factors import EnergyConfig


@dataclass(frozen=True)
class ConsumptionGrid:
    """``values[i, k]``: consumption of ``meters[i]`` in bucket ``k`` [canonical unit of its carrier], NaN where
    the bucket holds no reading; ``counts[i, k]`` the readings behind it. Bucket ``k`` starts at
    ``start + k × size`` (``starts``)."""

    meters: list[Entity]
    bucket: str
    start: datetime
    values: np.ndarray
    counts: np.ndarray

    @property
    def size(self) -> timedelta:
        return timedelta(microseconds=BUCKET_US[self.bucket])

    @property
    def n_buckets(self) -> int:
        return int(self.values.shape[1])

    @property
    def end(self) -> datetime:
        return self.start + self.n_buckets * self.size

    @property
    def ids(self) -> list[str]:
        return [m.id for m in self.meters]

    def starts(self) -> list[datetime]:
        """The buckets' start instants, in Shanghai time."""
        return [self.start + k * self.size for k in range(self.n_buckets)]

    def row(self, meter_id: str) -> np.ndarray:
        """One meter's series."""
        return self.values[self.ids.index(meter_id)]

    def carriers(self) -> list[str]:
        return sorted({m.value("carrier") for m in self.meters})

    def unit(self, carrier: str) -> str:
        return canonical_unit(carrier)

    def total(self, carrier: str) -> np.ndarray:
        """The carrier's total per bucket: NaN only where none of its meters has a reading."""
        rows = [i for i, m in enumerate(self.meters) if m.value("carrier") == carrier]
        if not rows:
            raise ValidationError("carrier", "not-in-scope", f"no {carrier} meter in this scope / 范围内无该能源表计",
                                  value=carrier)
        block = self.values[rows]
        out = np.nansum(block, axis=0)
        out[np.all(np.isnan(block), axis=0)] = np.nan
        return out


def consumption_grid(twin: Twin, scope: str | Entity | Sequence[Entity], start: datetime, end: datetime,
                     bucket: str = "hour", *, main_only: bool = True,
                     config: EnergyConfig | None = None) -> ConsumptionGrid:
    """Consumption of the meters of ``scope`` per bucket over ``[start, end)`` (widened to whole buckets).

    ``scope`` is an entity id or entity (its meters by :func:`.accounting.meters_in_scope`, main meters only unless
    ``main_only=False``) or an explicit list of Meter entities (they are read under their common district). A meter
    unit that does not convert raises ValidationError naming the meter; nothing is read before every meter passed.
    """
    start, end = align(start, end, bucket)
    meters, under = _meters(twin, scope, main_only)
    scale = np.empty(len(meters))
    for i, m in enumerate(meters):
        try:
            scale[i] = to_canonical_scale(m.value("carrier"), m.value("unit"), config)
        except ValidationError as err:
            raise ValidationError(err.field, err.rule, f"meter {m.id}: {err.message}", value=err.value) from None
    size = BUCKET_US[bucket]
    n = (epoch_us(end) - epoch_us(start)) // size
    if not meters:
        return ConsumptionGrid(meters, bucket, start.astimezone(SHANGHAI), np.full((0, n), np.nan),
                               np.zeros((0, n), dtype=np.int64))
    # The rows are scattered into the matrix: their order does not matter.
    got = meter_consumption(twin, meters, start, end, bucket=bucket, under=under, ordered=False,
                            scales={m.id: float(scale[i]) for i, m in enumerate(meters)})
    values, counts = got.matrix(epoch_us(start), size, n)
    return ConsumptionGrid(meters, bucket, start.astimezone(SHANGHAI), values, counts)


def _meters(twin: Twin, scope: str | Entity | Sequence[Entity], main_only: bool) -> tuple[list[Entity], str | None]:
    if isinstance(scope, str):
        scope = twin.get(scope)
    if isinstance(scope, Entity):
        return meters_in_scope(twin, scope, main_only=main_only), scope.id
    meters = list(scope)
    for k, m in enumerate(meters):
        if not isinstance(m, Entity) or m.type != "Meter":
            raise ValidationError(f"meters[{k}]", "type", "every item must be a Meter entity / 须为表计实体")
    # A list of meters is read in one grouped query over the whole store (under=None) and filtered here.
    return meters, (meters[0].id if len(meters) == 1 else None)


# BUCKET_US … instant_at live in core.calendar; named here too for the modules and tests that import them from here.
__all__ = ["BUCKET_US", "OFFSET_US", "SHANGHAI", "ConsumptionGrid", "align", "consumption_grid", "epoch_us",
           "instant_at"]
