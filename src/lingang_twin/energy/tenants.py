"""Tenants (租户能耗): what an enterprise in the district uses, by its own meters or by its share of floor area.

An ``Enterprise`` says where it works with the relationship ``occupies`` — Spaces it leases (each with
``floorArea``, inside a Building) or whole Buildings — and a meter that measures it alone points at it with
``tenant``. Per building and carrier, the tenant's consumption is:

* **submeter** (分表计量): the sum of its own meters of that carrier in that building (top-level ones only, so a
  meter below another of its own meters is not counted twice);
* **floor-area** (按面积分摊), where it has no meter of that carrier: the building's consumption of the carrier not
  on any tenant's own meter — its main meters minus the other tenants' own meters — times
  ``leased m² / building floorArea``. What the building's common areas and empty floors use stays with the
  building (the landlord), so allocations never add up to more than was measured.

Both are linear in the meters' consumption, so the plan is a weight per meter (+1 for an own meter, +share for a
building main, −share for another tenant's meter) and :func:`lingang_twin.energy.accounting.account` prices a
tenant exactly as it prices a building — standard coal, CO₂ and time-of-use cost included. The account's basis
lists every allocation with its method, so every number says how it was produced.

Bad data raises ValidationError naming the field and the rule, before anything is read: an enterprise that
occupies nothing and has no meter; a space or building without ``floorArea`` where an allocation needs it; a
space outside any building; leases larger than the building.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from lingang_twin.core.errors import NotFoundError, ValidationError
from lingang_twin.core.model import Entity
from lingang_twin.core.twin import Twin
from lingang_twin.energy.accounting import Account, account, meters_in_scope

Method = Literal["submeter", "floor-area"]
METHOD_LABELS: dict[str, tuple[str, str]] = {
    "submeter": ("分表计量", "own sub-meters"),
    "floor-area": ("按面积分摊", "allocated by floor area"),
}
_OCCUPIES = "relationships.occupies"


@dataclass(frozen=True)
class Allocation:
    """How one carrier of one building reaches the tenant. ``share`` = ``leased_m2 / floor_area_m2`` for the
    floor-area method; ``meters`` are the meters it draws on, ``deducted`` other tenants' meters taken off first."""

    building: str
    carrier: str
    method: Method
    meters: tuple[str, ...]
    deducted: tuple[str, ...] = ()
    share: float | None = None
    leased_m2: float | None = None
    floor_area_m2: float | None = None

    def to_dict(self) -> dict[str, Any]:
        zh, en = METHOD_LABELS[self.method]
        return {"building": self.building, "carrier": self.carrier, "method": self.method,
                "method_label": {"zh": zh, "en": en}, "share": self.share, "leased_m2": self.leased_m2,
                "floor_area_m2": self.floor_area_m2, "meters": list(self.meters), "deducted": list(self.deducted)}


@dataclass(frozen=True)
class TenantPlan:
    """The tenant's consumption as weights on meters: ``Σ weights[m] × consumption(m)``, per carrier."""

    enterprise: str
    allocations: list[Allocation]
    weights: dict[str, float]
    meters: list[Entity]
    buildings: list[Entity] = field(default_factory=list)
    leases: dict[str, float] = field(default_factory=dict)  # building id → leased m²


def _building_of(twin: Twin, entity: Entity) -> Entity | None:
    """The nearest Building at or above ``entity`` along ``containedIn``."""
    if entity.type == "Building":
        return entity
    for ancestor in twin.ancestors(entity.id, "containedIn"):
        try:
            node = twin.get(ancestor)
        except NotFoundError:
            return None
        if node.type == "Building":
            return node
    return None


def _area(entity: Entity, what: str) -> float:
    area = entity.value("floorArea")
    if area is None or float(area) <= 0:
        kind = "空间" if entity.type == "Space" else "建筑"
        raise ValidationError("floorArea", "required-for-allocation",
                              f"{what} {entity.id} has no floorArea; the floor-area allocation needs it / "
                              f"按面积分摊需要该{kind}的建筑面积", value=entity.id)
    return float(area)


def leases(twin: Twin, enterprise: Entity) -> dict[str, tuple[Entity, float]]:
    """Building id → (building, leased m²) from ``occupies``; a whole building counts its full floor area."""
    rel = enterprise.relationships.get("occupies")
    targets = [] if rel is None else rel.targets
    out: dict[str, tuple[Entity, float]] = {}
    for target in targets:
        try:
            place = twin.get(str(target))
        except NotFoundError:
            raise ValidationError(_OCCUPIES, "target-missing", f"{enterprise.id} occupies {target}, which is not in "
                                  "the twin / 租用的空间不存在", value=target) from None
        if place.type not in ("Space", "Building"):
            raise ValidationError(_OCCUPIES, "space-or-building", f"{target} is a {place.type}; an enterprise "
                                  "occupies Spaces or Buildings / 企业只能租用空间或建筑", value=target)
        building = _building_of(twin, place)
        if building is None:
            raise ValidationError(_OCCUPIES, "space-outside-building", f"space {target} is not inside a Building / "
                                  "该空间不属于任何建筑", value=target)
        area = _area(place, "space" if place.type == "Space" else "building")
        _, before = out.get(building.id, (building, 0.0))
        out[building.id] = (building, before + area)
    for building, leased in out.values():
        floor = building.value("floorArea")
        if floor is not None and leased > float(floor) * (1 + 1e-9):
            raise ValidationError(_OCCUPIES, "leased-area-exceeds-floor-area",
                                  f"{enterprise.id} leases {leased:g} m² of {building.id}, whose floorArea is "
                                  f"{float(floor):g} m² / 租用面积超过建筑面积", value=leased)
    return out


def tenant_plan(twin: Twin, enterprise: str | Entity) -> TenantPlan:
    """The allocation plan of ``enterprise``: per building and carrier, own sub-meters or a floor-area share."""
    ent = twin.get(enterprise) if isinstance(enterprise, str) else enterprise
    if ent.type != "Enterprise":
        raise ValidationError("scope", "not-enterprise", f"{ent.id} is a {ent.type}, not an Enterprise / 不是企业",
                              value=ent.id)
    leased = leases(twin, ent)
    own_all = twin.query_all(types=("Meter",), related=("tenant", ent.id))
    own_ids = {m.id for m in own_all}
    # Top-level own meters only: one of its meters below another of its own would count twice.
    own = [m for m in own_all if m.target("submeterOf") not in own_ids]
    buildings: dict[str, Entity] = {bid: b for bid, (b, _) in leased.items()}
    own_by_building: dict[str, list[Entity]] = {}
    for m in own:
        b = _building_of(twin, m)
        if b is None:
            raise ValidationError("relationships.tenant", "meter-outside-building", f"meter {m.id} of {ent.id} is "
                                  "not inside a Building / 租户表计不在任何建筑内", value=m.id)
        buildings.setdefault(b.id, b)
        own_by_building.setdefault(b.id, []).append(m)
    if not buildings:
        raise ValidationError(_OCCUPIES, "no-tenancy", f"{ent.id} occupies no space or building and has no meter "
                              "of its own (relationship tenant) / 企业既无租用空间也无自有表计", value=ent.id)

    allocations: list[Allocation] = []
    weights: dict[str, float] = {}
    used: dict[str, Entity] = {}
    for bid in sorted(buildings):
        building = buildings[bid]
        mains = meters_in_scope(twin, building)
        everyone = meters_in_scope(twin, building, main_only=False)
        everyone_ids = {m.id for m in everyone}
        mine = own_by_building.get(bid, [])
        carriers = sorted({m.value("carrier") for m in mains} | {m.value("carrier") for m in mine})
        for carrier in carriers:
            own_c = [m for m in mine if m.value("carrier") == carrier]
            if own_c:
                for m in own_c:
                    weights[m.id] = weights.get(m.id, 0.0) + 1.0
                    used[m.id] = m
                allocations.append(Allocation(bid, carrier, "submeter", tuple(sorted(m.id for m in own_c))))
                continue
            if bid not in leased:
                continue
            mains_c = [m for m in mains if m.value("carrier") == carrier]
            if not mains_c:
                continue
            # Other tenants' own meters, top-level among them (a tenant meter below another tenant meter would be
            # deducted twice).
            others = [m for m in everyone if m.value("carrier") == carrier and m.target("tenant")
                      and m.target("tenant") != ent.id and m.id not in {x.id for x in mains_c}]
            other_ids = {m.id for m in others}
            others = [m for m in others if m.target("submeterOf") not in other_ids
                      or m.target("submeterOf") not in everyone_ids]
            floor = _area(building, "building")
            share = leased[bid][1] / floor
            for m in mains_c:
                weights[m.id] = weights.get(m.id, 0.0) + share
                used[m.id] = m
            for m in others:
                weights[m.id] = weights.get(m.id, 0.0) - share
                used[m.id] = m
            allocations.append(Allocation(bid, carrier, "floor-area", tuple(sorted(m.id for m in mains_c)),
                                          tuple(sorted(m.id for m in others)), share, leased[bid][1], floor))
    return TenantPlan(ent.id, allocations, weights, [used[k] for k in sorted(used)],
                      [buildings[k] for k in sorted(buildings)], {k: v for k, (_, v) in leased.items()})


def tenant_accounts(twin: Twin, start: datetime, end: datetime, *, under: str | None = None,
                    **account_kwargs: Any) -> list[Account]:
    """The account of every Enterprise (below ``under``) that occupies something or has a meter, largest standard
    coal first: the property manager's monthly tenant statement. Enterprises with neither are left out (they are
    not tenants); any other bad data raises as :func:`tenant_plan` does."""
    scope: dict[str, Any] = {"under": under} if under else {}
    if under:
        twin.get(under)  # an unknown scope is NotFoundError, not an empty list
    out = []
    for e in twin.query_all(types=("Enterprise",), **scope):
        if "occupies" not in e.relationships and not twin.query(types=("Meter",), related=("tenant", e.id),
                                                                 limit=1).entities:
            continue
        out.append(account(twin, e.id, start, end, **account_kwargs))
    out.sort(key=lambda a: (-a.total_kgce, a.scope))
    return out


__all__ = ["METHOD_LABELS", "Allocation", "TenantPlan", "leases", "tenant_accounts", "tenant_plan"]
