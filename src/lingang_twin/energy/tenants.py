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

from datetime import datetime
from typing import Any

from lingang_twin.core.twin import Twin
from lingang_twin.energy.accounting import Account, account
from lingang_twin.energy.scopes import METHOD_LABELS, Allocation, TenantPlan, leases, tenant_plan


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


# The plan (METHOD_LABELS … tenant_plan) lives in .scopes, which the accounting reads; named here too.
__all__ = ["METHOD_LABELS", "Allocation", "TenantPlan", "leases", "tenant_accounts", "tenant_plan"]
