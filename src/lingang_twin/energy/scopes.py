"""Which meters count for a scope (核算范围): the main meters below an entity, and a tenant's plan of meters.

:func:`meters_in_scope` is the one rule that keeps energy from being counted twice (a sub-meter below a counted meter
is left out). :func:`tenant_plan` is an ``Enterprise``'s weights per meter (see :mod:`.tenants` for the methods):
both are read by :mod:`.accounting` before any reading, and neither prices anything, so the accounting builds on
this module and the tenants' statement builds on the accounting, with no cycle between them.
"""


from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from lingang_twin.core.errors import NotFoundError, ValidationError
from lingang_twin.core.model import Entity
from lingang_twin.core.twin import Twin

Method = Literal["submeter", "floor-area"]
METHOD_LABELS: dict[str, tuple[str, str]] = {
    "submeter": ("分表计量", "own sub-meters"),
    "floor-area": ("按面积分摊", "allocated by floor area"),
}
_OCCUPIES = "relationships.occupies"


def meters_in_scope(twin: Twin, scope: Entity, *, main_only: bool = True) -> list[Entity]:
    """The meters of ``scope``: the scope itself if it is a meter, else every meter below it — with ``main_only``,
    only those that are not a sub-meter of another meter below it (the one rule that keeps energy from being
    counted twice; every consumer of it in the pack calls this function)."""
    if scope.type == "Meter":
        return [scope]
    found = twin.query_all(types=("Meter",), under=scope.id)
    if not main_only:
        return found
    ids = {m.id for m in found}
    return [m for m in found if m.target("submeterOf") not in ids]


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


__all__ = ["METHOD_LABELS", "Allocation", "Method", "TenantPlan", "leases", "meters_in_scope", "tenant_plan"]
