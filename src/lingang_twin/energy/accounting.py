"""Energy accounting (能耗核算): consumption, standard coal, CO₂ and cost of any entity over a period.

For a scope (a meter, building, zone, district …) :func:`account` takes the *main* meters — every meter at or
below the scope that is not ``submeterOf`` another meter in the scope, so nothing is counted twice — and, per
carrier, adds interval registers (``sum``) and cumulative registers (``delta``, rollovers handled by the store),
turns the meter's unit into the carrier's canonical unit (:mod:`.carriers`), and prices it:

    standard_coal_kgce = consumption × coefficient (GB/T 2589-2020)
    kgco2              = consumption × emission factor (the named factor set)
    cost_cny           = consumption × price, or Σ_hours consumption_h × price(hour) for time-of-use electricity

An ``Enterprise`` scope is a tenant: its own meters, else its floor-area share of the buildings it occupies
(:mod:`.tenants`); the basis then lists every allocation and its method.

The readings are aggregated in the store: at most four grouped aggregate queries (electricity by the hour for
time-of-use, every other carrier by the year), never a Python loop over readings.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from pydantic import ValidationError as PydanticValidationError

from lingang_twin.core.calendar import HOUR_US, OFFSET_US, SHANGHAI, month_range
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.meters import meter_consumption
from lingang_twin.core.model import Entity
from lingang_twin.core.twin import Twin
from lingang_twin.energy.carriers import CARRIER_LABELS, canonical_unit, to_canonical_scale
from lingang_twin.energy.coverage import Coverage, check_now, coverage
from lingang_twin.energy.factors import (
    ELECTRICITY_BASES,
    EnergyConfig,
    co2_factor,
    co2_factor_set,
    coal_coefficient,
)
from lingang_twin.energy.scopes import meters_in_scope, tenant_plan
from lingang_twin.energy.tariffs import Tariff, tariff_from

_OFFSET_H = OFFSET_US // HOUR_US  # Asia/Shanghai has kept UTC+8 without daylight saving since 1992


@dataclass
class CarrierAccount:
    """One carrier of an account: ``consumption`` [``unit``, the canonical unit], ``kgce`` [kgce], ``kgco2``
    [kg CO₂], ``cost_cny`` [CNY], the main ``meters`` counted and the ``readings`` (steps) behind the figures."""

    carrier: str
    unit: str
    consumption: float = 0.0
    kgce: float = 0.0
    kgco2: float = 0.0
    cost_cny: float = 0.0
    meters: list[str] = field(default_factory=list)
    readings: int = 0
    register_resets: int = 0

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        """JSON-able, with the carrier's label in ``lang`` (``zh`` or ``en``)."""
        zh, en = CARRIER_LABELS[self.carrier]
        return {"carrier": self.carrier, "label": zh if lang == "zh" else en, "consumption": self.consumption,
                "unit": self.unit, "kgce": self.kgce, "kgco2": self.kgco2, "cost_cny": self.cost_cny,
                "meters": self.meters, "readings": self.readings, "register_resets": self.register_resets}


@dataclass
class Account:
    """The energy account of ``scope`` over ``[start, end)``: per-carrier figures, grand totals [kgce, kg CO₂,
    CNY], the ``basis`` (coefficient set, factor set, tariff and every figure used, with source and year), the
    ``coverage`` of its meters (expected and present readings, :mod:`.coverage`) and the ``issues`` a reader must
    see (declared register resets; an empty, partial or still running period)."""

    scope: str
    start: datetime
    end: datetime
    carriers: dict[str, CarrierAccount]
    basis: dict[str, Any]
    issues: list[dict[str, Any]] = field(default_factory=list)
    coverage: Coverage | None = None

    @property
    def total_kgce(self) -> float:
        """Comprehensive energy consumption [kgce]."""
        return sum(c.kgce for c in self.carriers.values())

    @property
    def total_kgco2(self) -> float:
        """Emissions [kg CO₂]."""
        return sum(c.kgco2 for c in self.carriers.values())

    @property
    def total_cost_cny(self) -> float:
        """Cost [CNY]."""
        return sum(c.cost_cny for c in self.carriers.values())

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        """JSON-able account; labels in ``lang`` (``zh`` or ``en``)."""
        if lang not in ("zh", "en"):
            raise ValidationError("lang", "lang-unknown",
                                  f"unknown language {lang!r}; valid: zh, en / 语言须为 zh 或 en", value=lang)
        return {"scope": self.scope, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "carriers": {k: v.to_dict(lang) for k, v in self.carriers.items()},
                "totals": {"kgce": self.total_kgce, "kgco2": self.total_kgco2, "cost_cny": self.total_cost_cny},
                "basis": self.basis, "issues": self.issues,
                "coverage": None if self.coverage is None else self.coverage.to_dict()}


def check_config(config: EnergyConfig | dict[str, Any] | None) -> EnergyConfig:
    if config is None or isinstance(config, EnergyConfig):
        return config or EnergyConfig()
    try:
        return EnergyConfig.model_validate(config)
    except PydanticValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValidationError(f"config.{where}" if where else "config", "config-invalid", str(first["msg"]),
                              value=config) from None


def check_inputs(start: datetime, end: datetime, factors: str, electricity_basis: str,
                 config: EnergyConfig | dict[str, Any] | None) -> EnergyConfig:
    """Check a period and the figure choices before any reading is read; returns the checked config."""
    for name, instant in (("start", start), ("end", end)):
        if not isinstance(instant, datetime) or instant.tzinfo is None:
            raise ValidationError(name, "timezone-required", f"{name} must be a timezone-aware datetime / 须带时区")
    if start >= end:
        raise ValidationError("end", "range-order", "end must be after start / 结束时间须晚于开始时间")
    if electricity_basis not in ELECTRICITY_BASES:
        coal_coefficient("electricity", None, electricity_basis)  # raises the named error
    cfg = check_config(config)
    co2_factor_set(factors)
    return cfg


def account(twin: Twin, scope_entity_id: str, start: datetime, end: datetime, *,
            factors: str = "shanghai-local-2022", tariff: str | Tariff | dict[str, Any] = "shanghai-illustrative",
            electricity_basis: str = "equivalent", config: EnergyConfig | dict[str, Any] | None = None,
            now: datetime | None = None, with_coverage: bool = True) -> Account:
    """The energy account of ``scope_entity_id`` over ``[start, end)`` (timezone-aware instants).

    The account states its coverage as known at ``now`` (default: the clock; a month still running is expected
    only up to it) and lists an empty or partial period in ``issues`` (``coverage-empty``, ``coverage-partial``,
    ``coverage-running``); ``with_coverage=False`` skips it (the report's comparison months).

    Every figure is resolved before the store is asked for readings, so a bad input (unknown factor set, tariff
    or basis; a carrier in use without a coefficient, factor or price; a meter unit that does not convert) raises
    ValidationError naming the field and the rule and nothing is half-computed. An unknown scope raises
    NotFoundError.
    """
    cfg = check_inputs(start, end, factors, electricity_basis, config)
    now = check_now(now)
    priced = tariff_from(tariff)
    scope = twin.get(scope_entity_id)  # the caller may see the scope (a tenant: its own Enterprise), or NotFound
    reach = twin.visible_ids()
    if scope.type == "Enterprise" and reach is not None:
        # A tenant's bill allocates its buildings' main meters and deducts other tenants' meters, which it may not
        # read raw: computed by the SYSTEM twin (audited), and the ids it may not see are taken out of the answer.
        twin = twin.elevated(f"energy account of tenant {scope.id} / 租户能耗核算")
    # A meter counts once (weight 1) for the entities it lies in; a tenant's plan weighs its own meters 1 and the
    # buildings' meters by its floor-area share (.tenants), so one pricing path serves both.
    weights: dict[str, float] = {}
    reads: list[Entity] = [scope]
    tenant: dict[str, Any] | None = None
    if scope.type == "Enterprise":
        plan = tenant_plan(twin, scope)
        meters, weights, reads = plan.meters, plan.weights, plan.buildings
        tenant = {"enterprise": scope.id, "leases_m2": plan.leases,
                  "allocations": [a.to_dict() for a in plan.allocations]}
    else:
        meters = meters_in_scope(twin, scope)

    # Resolve every figure first (nothing half-computed).
    scale: dict[str, float] = {}
    carrier_of: dict[str, str] = {}
    cumulative: set[str] = set()
    for m in meters:
        carrier, unit = m.value("carrier"), m.value("unit")
        try:
            scale[m.id] = to_canonical_scale(carrier, unit, cfg)
        except ValidationError as err:
            raise ValidationError(err.field, err.rule, f"meter {m.id}: {err.message}", value=err.value) from None
        carrier_of[m.id] = carrier
        if m.value("register") == "cumulative":
            cumulative.add(m.id)
    in_use = sorted(set(carrier_of.values()))
    coal = {c: coal_coefficient(c, cfg, electricity_basis) for c in in_use}
    co2 = {c: co2_factor(c, factors, cfg) for c in in_use}
    hourly_prices = priced.hourly_prices()
    price = {c: priced.price(c) for c in in_use if not (c == "electricity" and hourly_prices is not None)}

    carriers = {c: CarrierAccount(c, canonical_unit(c)) for c in in_use}
    for m in meters:
        carriers[carrier_of[m.id]].meters.append(m.id)
    issues: list[dict[str, Any]] = []
    ids = list(scale)
    index_of = {m: k for k, m in enumerate(ids)}
    scale_arr = np.array([scale[i] * weights.get(i, 1.0) for i in ids], dtype=np.float64)
    carrier_idx = {c: k for k, c in enumerate(in_use)}
    carrier_arr = np.array([carrier_idx[carrier_of[i]] for i in ids], dtype=np.int64)
    hour_price = np.array(hourly_prices or [0.0] * 24, dtype=np.float64)
    consumption = np.zeros(len(in_use))
    tou_cost = 0.0
    reset_meters: set[str] = set()
    readings = np.zeros(len(in_use), dtype=np.int64)

    by_id = {m.id: m for m in meters}
    scales = {i: float(scale_arr[k]) for k, i in enumerate(ids)}
    for hourly in (True, False):
        wanted = [by_id[i] for i in ids if (carrier_of[i] == "electricity") == hourly]
        if not wanted:
            continue
        # Electricity by the hour (time of use), every other carrier by the year (buckets only split the range).
        q = 'carrier=="electricity"' if hourly else 'carrier!="electricity"'
        got = [meter_consumption(twin, wanted, start, end, bucket="hour" if hourly else "year", under=r.id, q=q,
                                 scales=scales) for r in reads]
        wanted_pos = np.array([index_of[m.id] for m in wanted], dtype=np.int64)
        wanted_cum = np.array([i in cumulative for i in (m.id for m in wanted)], dtype=bool)
        # Interval rows of every read, then register rows: the order (and so the float sums) of one query each.
        for cum in (False, True):
            sel = [g.meter[wanted_cum[g.meter] == cum] for g in got]
            picks = [wanted_cum[g.meter] == cum for g in got]
            if not any(len(x) for x in sel):
                continue
            meter_pos = wanted_pos[np.concatenate(sel)]
            values = np.concatenate([g.value[p] for g, p in zip(got, picks, strict=True)])
            counts = np.concatenate([g.count[p] for g, p in zip(got, picks, strict=True)])
            cidx = carrier_arr[meter_pos]
            np.add.at(consumption, cidx, values)
            np.add.at(readings, cidx, counts)
            if hourly and hourly_prices is not None:
                bucket_us = np.concatenate([g.bucket_us[p] for g, p in zip(got, picks, strict=True)])
                hours = (bucket_us // HOUR_US + _OFFSET_H) % 24
                tou_cost += float(np.sum(values * hour_price[hours]))
            if cum:
                resets = np.concatenate([g.resets[p] for g, p in zip(got, picks, strict=True)])
                reset_meters.update(ids[meter_pos[k]] for k in np.flatnonzero(resets))

    # A register that went back is counted from zero only where a reset was declared (registerResets); anywhere
    # else it is bad data and the account refuses, naming the meter and the reading.
    for meter_id in sorted(reset_meters):
        for step in backward_steps(twin, by_id[meter_id], start, end):
            if step["declared"] is None:
                raise ValidationError(
                    "reading", "register-backwards",
                    f"meter {meter_id}: the cumulative register went from {step['previous']:g} to {step['value']:g} "
                    f"at {step['observed_at']} without a declared reset (registerResets) or rollover / "
                    "累计表读数倒退，且未登记清零或换表", value=step["value"])
            carriers[carrier_of[meter_id]].register_resets += 1
            issues.append({"meter": meter_id, "rule": "register-reset", "observed_at": step["observed_at"],
                           "declared": step["declared"], "message": "declared register reset: the reading after it "
                           "counts from zero / 已登记的累计表清零，其后读数从零计"})

    for c, ci in carrier_idx.items():
        acc = carriers[c]
        acc.consumption = float(consumption[ci])
        acc.readings = int(readings[ci])
        acc.kgce = acc.consumption * coal[c].value
        acc.kgco2 = acc.consumption * co2[c].value
        acc.cost_cny = tou_cost if c == "electricity" and hourly_prices is not None else acc.consumption * price[c]

    basis: dict[str, Any] = {
        "standard_coal": {"standard": "GB/T 2589-2020", "electricity_basis": electricity_basis,
                          "natural_gas_source": cfg.natural_gas_source,
                          "coefficients": {c: f.to_dict() for c, f in coal.items()}},
        "co2": {"factor_set": factors, "factors": {c: f.to_dict() for c, f in co2.items()}},
        "tariff": {"name": priced.name, "illustrative": priced.illustrative, "source": priced.source,
                   "time_of_use": hourly_prices is not None},
        "main_meters_only": True,
    }
    if tenant is not None:
        basis["tenant"] = tenant
    covered = None
    if with_coverage:
        # Counted under the same entities as the figures (a tenant: its buildings), kept to the meters counted.
        covered = coverage(twin, meters, start, end, now=now, reads=reads)
        issues.extend(covered.issues())
    out = Account(scope_entity_id, start, end, carriers, basis, issues, covered)
    if reach is not None:
        out = redact_account(out, {m.id for m in meters} - reach)
    return out


HIDDEN_METER = "urn:ngsi-ld:Meter:(hidden)"
"""What stands for a meter the caller may not see in an account computed for it (a tenant's bill)."""


def scrub(value: Any, hidden: set[str] | frozenset[str]) -> Any:
    """``value`` (JSON-able data) without the ids in ``hidden``: list items that are one are dropped, text that
    names one names :data:`HIDDEN_METER` instead."""
    if not hidden:
        return value
    if isinstance(value, str):
        for h in hidden:
            if h in value:
                value = value.replace(h, HIDDEN_METER)
        return value
    if isinstance(value, list):
        return [scrub(v, hidden) for v in value if not (isinstance(v, str) and v in hidden)]
    if isinstance(value, dict):
        return {k: scrub(v, hidden) for k, v in value.items()}
    return value


def redact_account(acc: Account, hidden: set[str] | frozenset[str]) -> Account:
    """``acc`` without the meters in ``hidden`` (other tenants' meters, the building's main meters) for a caller
    that may see the figures but not those meters: their ids leave the carriers' meter lists, the allocations
    (which say how many were hidden) and the issues; coverage keeps its counts, its per-meter rows say
    :data:`HIDDEN_METER`. The figures are unchanged."""
    if not hidden:
        return acc
    from dataclasses import replace

    for c in acc.carriers.values():
        c.meters = [m for m in c.meters if m not in hidden]
    tenant = acc.basis.get("tenant")
    if tenant is not None:
        for a in tenant.get("allocations", []):
            a["hidden_meters"] = sum(m in hidden for m in (*a["meters"], *a["deducted"]))
        acc.basis = {**acc.basis, "tenant": scrub(tenant, hidden)}
    acc.issues = scrub(acc.issues, hidden)
    if acc.coverage is not None:
        carriers = {k: replace(c, meters=[replace(m, meter=HIDDEN_METER) if m.meter in hidden else m
                                          for m in c.meters]) for k, c in acc.coverage.carriers.items()}
        acc.coverage = replace(acc.coverage, carriers=carriers)
    return acc


def backward_steps(twin: Twin, meter: Entity, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The steps of a cumulative register in ``(start, end]`` where it went back without rolling over (the store's
    rule: a drop of more than half ``registerMax`` is a rollover), each with the declared reset that explains it
    (a ``registerResets`` instant after the previous reading and at or before this one) or ``None``."""
    rmax = meter.value("registerMax")
    # Only meters whose aggregate flagged a reset come here (rare), so reading their whole history up to ``end``
    # is cheap, and it finds the anchor however old it is, as the store's delta does.
    raw = twin.read(meter.id, "reading", None, end + timedelta(microseconds=1))
    ts_all = raw["observed_at"].to_pylist()
    first = max(0, bisect_right(ts_all, start) - 1)  # the anchor: the last reading at or before start
    ts = ts_all[first:]
    values = raw["value"].to_pylist()[first:]
    declared = [datetime.fromisoformat(r) for r in (meter.value("registerResets") or [])]
    out = []
    for k in range(1, len(values)):
        prev, value = values[k - 1], values[k]
        if value >= prev or (rmax is not None and prev - value > rmax / 2):
            continue
        hit = next((r for r in declared if ts[k - 1] < r <= ts[k]), None)
        out.append({"observed_at": ts[k].astimezone(SHANGHAI).isoformat(), "previous": prev, "value": value,
                    "declared": hit.isoformat() if hit else None})
    return out


__all__ = ["HIDDEN_METER", "Account", "CarrierAccount", "account", "meters_in_scope", "month_range",
           "redact_account", "scrub"]
