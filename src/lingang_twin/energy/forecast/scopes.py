"""Forecasts of the twin's meters and aggregates (预测对象): what :mod:`.models` predicts, read from the twin.

One store read per call (:func:`..consumption.consumption_grid`: whole buckets ending at or before ``issued_at``,
each carrier in its canonical unit), the history prepared and handed to :func:`.models.predict`, the answer as
:class:`Forecast` objects with their instants in Shanghai time. See :mod:`.models` for the method and its evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from lingang_twin.core.calendar import SHANGHAI
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.model import Entity
from lingang_twin.core.twin import Twin
from lingang_twin.energy.accounting import check_config, meters_in_scope
from lingang_twin.energy.carriers import canonical_unit
from lingang_twin.energy.consumption import ConsumptionGrid, consumption_grid
from lingang_twin.energy.factors import EnergyConfig
from lingang_twin.energy.forecast.models import (
    DEFAULT_MODEL,
    MAX_FILLED_FRACTION,
    Horizon,
    HorizonSpec,
    Prediction,
    _check_levels,
    _insufficient,
    _model,
    _prepare,
    _spec,
    fill_gaps,
    predict,
)


# -- the twin-facing API --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Forecast:
    """A forecast of one meter's, or one aggregate's one carrier's, consumption.

    ``starts``: the buckets' start instants (Shanghai time); ``mean``, ``lower[level]``, ``upper[level]``: per bucket
    [``unit``]; ``history_start``/``history_buckets``: the history the model saw (ending at ``history_end``,
    ``filled_buckets`` of it gap-filled)."""

    scope: str
    carrier: str
    unit: str
    horizon: str
    bucket: str
    issued_at: datetime
    model: str
    starts: tuple[datetime, ...]
    mean: tuple[float, ...]
    lower: dict[int, tuple[float, ...]]
    upper: dict[int, tuple[float, ...]]
    history_start: datetime
    history_end: datetime
    history_buckets: int
    filled_buckets: int
    meters: tuple[str, ...] = field(default=())

    @property
    def levels(self) -> tuple[int, ...]:
        return tuple(sorted(self.lower))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: instants as ISO 8601 with offset, levels as string keys."""
        return {
            "scope": self.scope, "carrier": self.carrier, "unit": self.unit, "horizon": self.horizon,
            "bucket": self.bucket, "issuedAt": self.issued_at.isoformat(), "model": self.model,
            "starts": [s.isoformat() for s in self.starts], "mean": list(self.mean),
            "lower": {str(k): list(v) for k, v in self.lower.items()},
            "upper": {str(k): list(v) for k, v in self.upper.items()},
            "history": {"start": self.history_start.isoformat(), "end": self.history_end.isoformat(),
                        "buckets": self.history_buckets, "filled": self.filled_buckets},
            "meters": list(self.meters),
        }


@dataclass(frozen=True)
class _Window:
    spec: HorizonSpec
    horizon: str
    issued_at: datetime
    history_start: datetime
    history_end: datetime
    target_start: datetime
    gap: int

    def starts(self) -> tuple[datetime, ...]:
        size = timedelta(hours=1) if self.spec.bucket == "hour" else timedelta(days=1)
        return tuple(self.target_start + k * size for k in range(self.spec.steps))


def forecast_meters(twin: Twin, meters: Sequence[str | Entity], *, horizon: Horizon, issued_at: datetime,
                    history_days: int | None = None, levels: Sequence[int] = (80, 95), model: str = DEFAULT_MODEL,
                    config: EnergyConfig | dict[str, Any] | None = None, skip_insufficient: bool = False,
                    n_jobs: int = 1) -> list[Forecast]:
    """Forecasts of many meters: one store read (:func:`.consumption.consumption_grid` over the list) and one
    batched model fit over every series (``n_jobs`` processes for MFLES; 1 = in this process).

    A meter with too little history raises ``insufficient-history`` naming it — or, with ``skip_insufficient``, is
    left out of the answer (compare the answer's scopes with the meters asked for). Unknown ids raise NotFoundError.
    """
    win = _window(horizon, issued_at, history_days)
    _check_levels(levels)
    _model(model)
    entities = [twin.get(m) if isinstance(m, str) else m for m in meters]
    for k, m in enumerate(entities):
        if m.type != "Meter":
            raise ValidationError(f"meters[{k}]", "type", f"{m.id} is not a Meter / 不是表计实体", value=m.id)
    if not entities:
        return []
    grid = consumption_grid(twin, entities, win.history_start, win.history_end, win.spec.bucket,
                            config=_config(config))
    series, kept, problems = [], [], []
    for i, m in enumerate(entities):
        try:
            y, first, filled = _prepare(grid.values[i], win.spec)
        except ValidationError as refused:
            problems.append((m.id, refused))
            continue
        series.append((y, first, filled))
        kept.append(m)
    if problems and not skip_insufficient:
        mid, first_err = problems[0]
        more = f" (and {len(problems) - 1} more meters)" if len(problems) > 1 else ""
        raise ValidationError("history", "insufficient-history", f"meter {mid}{more}: {first_err.message}",
                              value={"meters": [p[0] for p in problems], **(first_err.value or {})})
    pred = predict([s[0] for s in series], day=win.spec.day, week=win.spec.week, gap=win.gap, steps=win.spec.steps,
                   levels=levels, model=model, calibration=win.spec.calibration, n_jobs=n_jobs,
                   cheap_calibration=win.spec.cheap_calibration)
    return [_make(win, m.id, m.value("carrier"), model, pred, k, grid, first, len(y), filled, (m.id,))
            for k, (m, (y, first, filled)) in enumerate(zip(kept, series, strict=True))]


def forecast_scope(twin: Twin, scope_id: str, *, horizon: Horizon, issued_at: datetime,
                   carriers: Sequence[str] | None = None, history_days: int | None = None,
                   levels: Sequence[int] = (80, 95), model: str = DEFAULT_MODEL,
                   config: EnergyConfig | dict[str, Any] | None = None, n_jobs: int = 1) -> list[Forecast]:
    """Forecasts of an aggregate (building, zone, district, …): per carrier (all of the scope's, or ``carriers``),
    the total of its main meters (sub-meters are never added twice). One store read, one batched fit.

    Each meter's history is gap-filled first and then added, so a meter missing a reading never makes the total
    dip (``grid.total`` would add the others and treat the missing one as zero). A meter without any reading in the
    history (a building not yet in operation) is left out and not listed in :attr:`Forecast.meters`; before a
    meter's first reading it adds nothing (it was not metering then), which is what the metered total was. The
    history is refused if more than 20 % of the meter-buckets after each meter's first reading had to be filled.
    """
    win = _window(horizon, issued_at, history_days)
    _check_levels(levels)
    _model(model)
    scope = twin.get(scope_id)
    meters = meters_in_scope(twin, scope, main_only=True)
    present = sorted({m.value("carrier") for m in meters})
    wanted = list(present if carriers is None else carriers)
    for c in wanted:
        canonical_unit(c)  # unknown carrier → ValidationError(field="carrier", rule="carrier-unknown")
        if c not in present:
            raise ValidationError("carrier", "not-in-scope", f"no {c} meter in {scope_id}; it has: "
                                  f"{', '.join(present) or 'none'} / 该范围内无此能源品种的表计", value=c)
    if not wanted:
        raise ValidationError("carrier", "not-in-scope", f"{scope_id} has no meters / 该范围内没有表计",
                              value=None)
    grid = consumption_grid(twin, scope, win.history_start, win.history_end, win.spec.bucket,
                            config=_config(config))
    series, info = [], []
    for c in wanted:
        total, first, active, missing, ids = _aggregate(grid, c, win.spec)
        n = grid.n_buckets - first if first >= 0 else 0
        if n < win.spec.min_history_days * win.spec.day or missing > MAX_FILLED_FRACTION * max(active, 1):
            raise _insufficient(n, missing, win.spec, f"{c} total of {scope_id}")
        series.append(total[first:])
        info.append((c, first, n, missing, ids))
    pred = predict(series, day=win.spec.day, week=win.spec.week, gap=win.gap, steps=win.spec.steps, levels=levels,
                   model=model, calibration=win.spec.calibration, n_jobs=n_jobs,
                   cheap_calibration=win.spec.cheap_calibration)
    return [_make(win, scope_id, c, model, pred, k, grid, first, n, filled, ids)
            for k, (c, first, n, filled, ids) in enumerate(info)]


def forecast(twin: Twin, scope_id: str, *, horizon: Horizon, issued_at: datetime, carrier: str | None = None,
             history_days: int | None = None, levels: Sequence[int] = (80, 95), model: str = DEFAULT_MODEL,
             config: EnergyConfig | dict[str, Any] | None = None) -> Forecast:
    """The forecast of one meter, or of one carrier of an aggregate (``carrier`` may be left out when the scope
    meters a single carrier; otherwise it is required and the error lists the scope's carriers).

    ``horizon``: ``"day-ahead"`` (the 24 hours of the Shanghai day after the day of ``issued_at``) or
    ``"week-ahead"`` (the 7 daily totals of the 7 days after it). Only buckets ending at or before ``issued_at``
    are read. ``history_days`` [days] defaults to 35 (day-ahead) / 91 (week-ahead); less is used if the meters
    started later, down to 14 / 35 days, below which ``insufficient-history`` is raised.
    """
    _window(horizon, issued_at, history_days)  # check the arguments before touching the store
    entity = twin.get(scope_id)
    if carrier is not None:
        canonical_unit(carrier)
    if entity.type == "Meter":
        own = entity.value("carrier")
        if carrier is not None and carrier != own:
            raise ValidationError("carrier", "not-in-scope", f"{scope_id} meters {own}, not {carrier} / "
                                  "该表计不计量此能源品种", value=carrier)
        return forecast_meters(twin, [entity], horizon=horizon, issued_at=issued_at, history_days=history_days,
                               levels=levels, model=model, config=config)[0]
    if carrier is None:
        present = sorted({m.value("carrier") for m in meters_in_scope(twin, entity)})
        if len(present) != 1:
            raise ValidationError("carrier", "required", f"{scope_id} meters {', '.join(present) or 'nothing'}; "
                                  "name one carrier / 请指定能源品种", value=present)
        carrier = present[0]
    return forecast_scope(twin, scope_id, horizon=horizon, issued_at=issued_at, carriers=[carrier],
                          history_days=history_days, levels=levels, model=model, config=config)[0]



# -- helpers --------------------------------------------------------------------------------------------------------
def _config(config: EnergyConfig | dict[str, Any] | None) -> EnergyConfig | None:
    if config is None or isinstance(config, EnergyConfig):
        return config
    return check_config(config)


def _window(horizon: str, issued_at: datetime, history_days: int | None) -> _Window:
    spec = _spec(horizon)
    if not isinstance(issued_at, datetime) or issued_at.tzinfo is None or issued_at.utcoffset() is None:
        raise ValidationError("issued_at", "timezone-required",
                              "issued_at must be a timezone-aware datetime / issued_at 须带时区", value=str(issued_at))
    days = spec.default_history_days if history_days is None else history_days
    if isinstance(days, bool) or not isinstance(days, int) or not spec.min_history_days <= days <= 3660:
        raise ValidationError("history_days", "range", f"history_days must be an integer in "
                              f"[{spec.min_history_days}, 3660] for {horizon} / 历史天数超出范围", value=history_days)
    local = issued_at.astimezone(SHANGHAI)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    target = midnight + timedelta(days=1)
    # Shanghai has no DST, so fixed-length arithmetic on the local time is exact.
    end = local.replace(minute=0, second=0, microsecond=0) if spec.bucket == "hour" else midnight
    size = timedelta(hours=1) if spec.bucket == "hour" else timedelta(days=1)
    gap = int((target - end) / size)
    return _Window(spec, horizon, local, end - timedelta(days=days), end, target, gap)


def _aggregate(grid: ConsumptionGrid, carrier: str, spec: HorizonSpec
               ) -> tuple[np.ndarray, int, int, int, tuple[str, ...]]:
    """The carrier's total over the grid from the first reading of any of its meters: (total, index of that first
    bucket or -1, meter-buckets after each meter's first reading, how many of those were filled, meters used)."""
    total = np.zeros(grid.n_buckets)
    first, active, missing, ids = grid.n_buckets, 0, 0, []
    for i, m in enumerate(grid.meters):
        if m.value("carrier") != carrier:
            continue
        row = grid.values[i]
        seen = np.flatnonzero(~np.isnan(row))
        if seen.size == 0:
            continue
        start = int(seen[0])
        filled, n = fill_gaps(row[start:], week=spec.week, max_interpolate=spec.max_interpolate)
        total[start:] += filled
        first, active, missing = min(first, start), active + row.size - start, missing + n
        ids.append(m.id)
    return total, (first if ids else -1), active, missing, tuple(ids)


def _make(win: _Window, scope: str, carrier: str, model: str, pred: Prediction, k: int, grid: ConsumptionGrid,
          first: int, n: int, filled: int, meters: tuple[str, ...]) -> Forecast:
    size = grid.size
    return Forecast(
        scope=scope, carrier=carrier, unit=canonical_unit(carrier), horizon=win.horizon, bucket=win.spec.bucket,
        issued_at=win.issued_at, model=model, starts=win.starts(),
        mean=tuple(float(v) for v in pred.mean[k]),
        lower={lvl: tuple(float(v) for v in a[k]) for lvl, a in pred.lower.items()},
        upper={lvl: tuple(float(v) for v in a[k]) for lvl, a in pred.upper.items()},
        history_start=grid.start + first * size, history_end=grid.end, history_buckets=n, filled_buckets=filled,
        meters=meters)


__all__ = ["Forecast", "forecast", "forecast_meters", "forecast_scope"]
