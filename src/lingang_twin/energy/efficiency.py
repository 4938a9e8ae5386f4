"""Efficiency indicators (能效指标): energy intensity per building, ranking within a use, MoM and YoY change.

:func:`intensity` — per building over ``[start, end)``, **annualised** (year-equivalent: the period's figures ×
365 / days in the period):

==================  ==========================================================================
column              meaning
==================  ==========================================================================
kwh_per_m2          electricity [kWh] per m² of ``floorArea`` per year
kgce_per_m2         comprehensive energy [kgce] (every carrier, GB/T 2589-2020) per m² per year
kgco2_per_m2        emissions [kg CO₂] (the named factor set) per m² per year
…_per_occupant      the same per ``occupants`` (NULL when the building gives none)
rank_in_use         1 = lowest ``kgce_per_m2`` among buildings of the same ``use``
==================  ==========================================================================

Only main meters count (as in :func:`.accounting.account`), and the readings of every building come from two
grouped store aggregates (interval registers ``sum``, cumulative registers ``delta``) — not one query per
building. A building without ``floorArea`` gets NULL intensities and no rank; a building without meters or
readings gets NULL too (``readings`` 0), never a zero that would rank it best.

:func:`change` — month-on-month (环比) and year-on-year (同比) change of a scope's account for a month. A
comparison whose earlier (or current) month has no readings is ``None`` with a ``reason``: no number is made up.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa

from lingang_twin.core.errors import ValidationError
from lingang_twin.core.meters import meter_consumption
from lingang_twin.core.model import Entity
from lingang_twin.core.twin import Twin
from lingang_twin.energy.accounting import Account, account, check_inputs, meters_in_scope, month_range
from lingang_twin.energy.carriers import to_canonical_scale
from lingang_twin.energy.factors import EnergyConfig, co2_factor, coal_coefficient

_DAY_S = 86_400.0



def _per_meter(twin: Twin, under: str | None, start: datetime, end: datetime,
               meters: list[Entity]) -> dict[str, tuple[float, int]]:
    """Meter id → (value in the meter's unit, readings) over the period (core.meters: interval ``sum``,
    cumulative ``delta``; two grouped aggregates over every meter below ``under``)."""
    got = meter_consumption(twin, meters, start, end, bucket="year", under=under)
    # Scaled after the total (not per bucket, as core.meters would), so a period over a new year adds the same.
    value, count = got.totals()
    return {m.id: (float(value[i]), int(count[i])) for i, m in enumerate(meters)}


def intensity(twin: Twin, start: datetime, end: datetime, *, under: str | None = None,
              factors: str = "shanghai-local-2022", electricity_basis: str = "equivalent",
              config: EnergyConfig | dict[str, Any] | None = None) -> pa.Table:
    """Annualised energy intensity of every building (below ``under``, if given) over ``[start, end)``.

    Columns: ``building``, ``name``, ``use``, ``floor_area_m2``, ``occupants``, ``kwh``, ``kgce``, ``kgco2``
    (period totals), ``readings``, ``kwh_per_m2``, ``kgce_per_m2``, ``kgco2_per_m2``, ``kwh_per_occupant``,
    ``kgce_per_occupant``, ``kgco2_per_occupant`` (per year), ``rank_in_use``. Schema metadata ``annualise``
    holds the factor 365 / days. Bad input raises ValidationError (field and rule) before readings are read.
    """
    cfg = check_inputs(start, end, factors, electricity_basis, config)
    annualise = 365.0 * _DAY_S / (end - start).total_seconds()

    buildings = twin.query_all(types=("Building",), under=under)
    mains: dict[str, list[Entity]] = {b.id: meters_in_scope(twin, b) for b in buildings}
    coal: dict[str, float] = {}
    co2: dict[str, float] = {}
    scale: dict[str, float] = {}
    for meters in mains.values():
        for m in meters:
            carrier = m.value("carrier")
            try:
                scale[m.id] = to_canonical_scale(carrier, m.value("unit"), cfg)
            except ValidationError as err:
                raise ValidationError(err.field, err.rule, f"meter {m.id}: {err.message}", value=err.value) from None
            if carrier not in coal:
                coal[carrier] = coal_coefficient(carrier, cfg, electricity_basis).value
                co2[carrier] = co2_factor(carrier, factors, cfg).value
    data = _per_meter(twin, under, start, end, [m for ms in mains.values() for m in ms]) if scale else {}

    rows: list[dict[str, Any]] = []
    for b in buildings:
        kwh = kgce = kgco2 = 0.0
        readings = 0
        for m in mains[b.id]:
            value, count = data.get(m.id, (0.0, 0))
            consumption = value * scale[m.id]
            carrier = m.value("carrier")
            kwh += consumption if carrier == "electricity" else 0.0
            kgce += consumption * coal[carrier]
            kgco2 += consumption * co2[carrier]
            readings += count
        area, people = b.value("floorArea"), b.value("occupants")
        row: dict[str, Any] = {"building": b.id, "name": b.value("name"), "use": b.value("use"),
                               "floor_area_m2": area, "occupants": people, "kwh": kwh, "kgce": kgce,
                               "kgco2": kgco2, "readings": readings}
        for label, divisor in (("m2", area), ("occupant", people)):
            usable = readings > 0 and isinstance(divisor, int | float) and divisor > 0
            for metric, total in (("kwh", kwh), ("kgce", kgce), ("kgco2", kgco2)):
                row[f"{metric}_per_{label}"] = total * annualise / divisor if usable else None
        rows.append(row)

    by_use: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        row["rank_in_use"] = None
        if row["kgce_per_m2"] is not None:
            by_use.setdefault(row["use"], []).append(row)
    for group in by_use.values():
        for rank, row in enumerate(sorted(group, key=lambda r: (r["kgce_per_m2"], r["building"])), start=1):
            row["rank_in_use"] = rank
    schema = pa.schema([("building", pa.string()), ("name", pa.string()), ("use", pa.string()),
                        ("floor_area_m2", pa.float64()), ("occupants", pa.int64()), ("kwh", pa.float64()),
                        ("kgce", pa.float64()), ("kgco2", pa.float64()), ("readings", pa.int64()),
                        *[(f"{m}_per_{d}", pa.float64()) for d in ("m2", "occupant") for m in ("kwh", "kgce", "kgco2")],
                        ("rank_in_use", pa.int64())], metadata={"annualise": str(annualise)})
    return pa.Table.from_pylist(rows, schema=schema)


# ------------------------------------------------------------------------------------------- MoM / YoY


def _figures(acc: Account) -> dict[str, Any]:
    return {"kgce": acc.total_kgce, "kgco2": acc.total_kgco2, "cost_cny": acc.total_cost_cny,
            "readings": sum(c.readings for c in acc.carriers.values()),
            "consumption": {c: {"value": a.consumption, "unit": a.unit} for c, a in acc.carriers.items()}}


def _compare(current: dict[str, Any], earlier: dict[str, Any], month: str) -> dict[str, Any]:
    if current["readings"] == 0:
        return {"available": False, "month": month, "reason": "no readings in the current month / 本月无数据"}
    if earlier["readings"] == 0:
        return {"available": False, "month": month, "reason": f"no readings in {month} / {month} 无数据"}
    out: dict[str, Any] = {"available": True, "month": month, "earlier": earlier}
    for key in ("kgce", "kgco2", "cost_cny"):
        before, now = earlier[key], current[key]
        out[key] = {"change": now - before, "ratio": (now - before) / before if before else None}
    out["consumption"] = {}
    for carrier, now in current["consumption"].items():
        before = earlier["consumption"].get(carrier)
        if before is None:
            out["consumption"][carrier] = None
            continue
        out["consumption"][carrier] = {"change": now["value"] - before["value"], "unit": now["unit"],
                                       "ratio": (now["value"] - before["value"]) / before["value"]
                                       if before["value"] else None}
    return out


def _shift(month: str, months: int) -> str:
    start, _ = month_range(month)
    index = start.year * 12 + start.month - 1 - months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def change(twin: Twin, scope_entity_id: str, month: str, **account_kwargs: Any) -> dict[str, Any]:
    """Month-on-month and year-on-year change of ``scope_entity_id``'s account for ``month`` (``YYYY-MM``,
    Asia/Shanghai). ``account_kwargs`` go to :func:`.accounting.account` (factors, tariff, basis, config).

    Returns ``{"scope", "month", "current": figures, "mom": comparison, "yoy": comparison}``; figures are
    ``kgce``, ``kgco2``, ``cost_cny``, ``readings`` and per-carrier ``consumption``; a comparison is
    ``{"available": True, "month", "earlier", "kgce": {"change", "ratio"}, …}`` or ``{"available": False,
    "month", "reason"}`` when either month has no readings. ``ratio`` is None when the earlier figure is 0.
    """
    start, end = month_range(month)
    current = _figures(account(twin, scope_entity_id, start, end, **account_kwargs))
    out: dict[str, Any] = {"scope": scope_entity_id, "month": month, "current": current}
    for key, back in (("mom", 1), ("yoy", 12)):
        earlier_month = _shift(month, back)
        e_start, e_end = month_range(earlier_month)
        earlier = _figures(account(twin, scope_entity_id, e_start, e_end, **account_kwargs))
        out[key] = _compare(current, earlier, earlier_month)
    return out


__all__ = ["change", "intensity"]
