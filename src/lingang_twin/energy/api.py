"""The energy pack's REST routes, handed to the API face through ``PACK.hooks["api"]``.

The pack imports no face: the factory builds a plain FastAPI router that finds the twin on ``request.app.state``
(where ``create_app`` puts it) and raises the core's exception tree, which the face turns into problem+json.
A deployment's overrides of the figures (:class:`~.factors.EnergyConfig`) are read from
``request.app.state.energy_config`` when the face sets it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from lingang_twin.energy.accounting import account, month_range
from lingang_twin.energy.factors import EnergyConfig


def router() -> APIRouter:
    """The router: ``GET /api/v1/energy/account``."""
    r = APIRouter(prefix="/api/v1/energy", tags=["energy"])

    @r.get("/account", summary="Energy account of an entity for a month / 月度能耗核算")
    def get_account(
        request: Request,
        scope: str = Query(description="entity id: meter, building, zone or district / 核算对象"),
        month: str = Query(description="YYYY-MM, Asia/Shanghai / 月份"),
        factors: str = Query("shanghai-local-2022", description="CO2 factor set / 排放因子集"),
        tariff: str = Query("shanghai-illustrative", description="tariff name / 价目"),
        electricity_basis: str = Query("equivalent", description="equivalent | equal-value / 电力折标方式"),
        lang: str = Query("en", description="zh | en"),
    ) -> dict[str, Any]:
        """Per-carrier consumption [canonical unit], standard coal [kgce], CO₂ [kg] and cost [CNY] of the main
        meters at or below ``scope`` in ``month``, with grand totals and the basis (figures with source and
        year). Bad input answers 422 problem+json naming the field and the rule; an unknown scope 404."""
        start, end = month_range(month)
        config: EnergyConfig | None = getattr(request.app.state, "energy_config", None)
        result = account(request.app.state.twin, scope, start, end, factors=factors, tariff=tariff,
                         electricity_basis=electricity_basis, config=config)
        return result.to_dict(lang)

    return r


__all__ = ["router"]
