"""Running the detectors (数据质量检查): :func:`check_meters` reads the grids once and runs every registered
detector (:mod:`.registry`, :mod:`.detectors`) over them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from lingang_twin.core.calendar import OFFSET_US, epoch_us
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.findings import Finding
from lingang_twin.core.meters import CUMULATIVE_Q, INTERVAL_Q
from lingang_twin.core.model import Entity
from lingang_twin.core.twin import Twin
from lingang_twin.energy.quality.detectors import SLOT_US, _grid, _thresholds
from lingang_twin.energy.quality.registry import DETECTORS, GridContext, ScopeContext
from lingang_twin.energy.scopes import meters_in_scope


def check_meters(twin: Twin, scope_entity_id: str, start: datetime, end: datetime, *,
                 thresholds: Mapping[str, float] | None = None) -> list[Finding]:
    """Data-quality findings of every meter at or below ``scope_entity_id`` over ``[start, end)``.

    Returns the findings ordered by start, kind and meter; an empty list means nothing was found. Raises
    NotFoundError for an unknown scope and ValidationError (naming the field) for naive instants, ``end`` not after
    ``start`` or a bad threshold.
    """
    for name, instant in (("start", start), ("end", end)):
        if not isinstance(instant, datetime) or instant.tzinfo is None or instant.utcoffset() is None:
            raise ValidationError(name, "timezone-required", f"{name} must be a timezone-aware datetime / 须带时区")
    if start >= end:
        raise ValidationError("end", "range-order", "end must be after start / 结束时间须晚于开始时间")
    th = _thresholds(thresholds)
    scope = twin.get(scope_entity_id)
    meters = meters_in_scope(twin, scope, main_only=False)  # a sub-meter can be faulty too
    start_us = (epoch_us(start) + OFFSET_US) // SLOT_US * SLOT_US - OFFSET_US  # bucket grid (aligned in UTC+8)
    n_slots = max(int(-(-(epoch_us(end) - start_us) // SLOT_US)), 1)
    findings: list[Finding] = []
    by_id = {m.id: m for m in meters}
    interval = [m.id for m in meters if m.value("register") != "cumulative"]
    cumulative = [m.id for m in meters if m.value("register") == "cumulative"]
    # ``!=`` needs the attribute present: a meter without ``register`` (an interval meter) must not drop out.
    q_interval = INTERVAL_Q
    reporting = _reporting_before(twin, scope, meters, start, th)
    grids = [
        (_grid(twin, scope, interval, "reading", "sum", q_interval, start_us, n_slots, start, end), False),
        (_grid(twin, scope, cumulative, "reading", "delta", CUMULATIVE_Q, start_us, n_slots, start,
               end), True),
    ]
    for grid, is_cum in grids:
        if not grid.ids:
            continue
        ctx = GridContext(twin, scope, grid, is_cum, by_id, start_us, th, reporting)
        for d in DETECTORS.values():
            if d.per == "grid" and ("cumulative" if is_cum else "interval") in d.registers:
                ctx.found.extend(d.run(ctx))
        findings += ctx.found
    whole = ScopeContext(twin, scope, start_us, n_slots, start, end, th)
    for d in DETECTORS.values():
        if d.per == "scope":
            findings += d.run(whole)
    return sorted(findings, key=lambda f: (f.start, f.kind, f.entity_id))


def district_quality(twin: Twin, config: object, start: datetime, end: datetime) -> list[Finding]:
    """The pack's check (``PACK.checks``, run by every face as ``meter_quality``): :func:`check_meters` over the
    twin's District — its first by id, the scope the energy pages show and where the twin keeps its energy
    settings — so every meter of the district, sub-meters included. A twin without a District has no meter in
    the pack's scope: no finding. ``config`` (the pack's validated ``EnergyConfig``) does not change the
    detectors' thresholds today: they are the documented defaults, as on the quality route."""
    page = twin.query(types=["District"], limit=1, order_by=["id"])
    if not page.entities:
        return []
    return check_meters(twin, page.entities[0].id, start, end)


def _reporting_before(twin: Twin, scope: Entity, meters: list[Entity], start: datetime,
                      th: dict[str, float]) -> set[str]:
    """The meters with a reading in the ``gap_lookback_days`` before ``start``: only their silence at the start of
    the window is a gap. A meter whose history begins inside the window (newly installed, or history not imported)
    was not metering before its first reading; one silent for longer than the look-back was reported by the
    windows that saw it go quiet. One grouped count over the look-back."""
    if not meters or th["gap_lookback_days"] <= 0:
        return set()
    lookback = start - timedelta(days=th["gap_lookback_days"])
    if scope.type == "Meter":
        table = twin.aggregate("reading", bucket="year", agg="count", entity_id=scope.id, start=lookback, end=start,
                               group_by="entity")
    else:
        table = twin.aggregate("reading", bucket="year", agg="count", under=scope.id, types=("Meter",),
                               start=lookback, end=start, group_by="entity")
    if table.num_rows == 0:
        return set()
    groups = table["group"].to_pylist() if "group" in table.column_names else [scope.id] * table.num_rows
    return {g for g, c in zip(groups, table["count"].to_pylist(), strict=True) if c}


__all__ = ["check_meters", "district_quality"]
