"""The energy pack (能源): water, electricity, oil, gas and hydrogen (水电油气氢) across the district.

Entry point: ``PACK`` (:class:`~lingang_twin.core.packs.Pack`). Its ``setup(twin)`` registers the pack's entity
types (see :mod:`.types`); meters of every carrier are the core ``Meter`` type. Its configuration is
:class:`~.factors.EnergyConfig`, validated once at start-up and handed to its routes, pages and commands alike
(``None``: the settings stored in the twin, :func:`.settings.config_in_force`). Modules: :mod:`.factors` (GB/T 2589
coefficients, CO₂ factor sets), :mod:`.carriers` (canonical units), :mod:`.tariffs`, :mod:`.consumption` (meters ×
buckets, the one read path), :mod:`.accounting` (``account``), :mod:`.tenants` (enterprises by own meters or
floor-area share), :mod:`.virtual` (virtual meters, unmetered loss), :mod:`.efficiency` (intensity, ranking,
month-on-month / year-on-year), :mod:`.mv` (CalTRACK baselines, savings, weather-normalised comparison),
:mod:`.forecast` (day-ahead / week-ahead with intervals), :mod:`.quality` (data quality and anomaly findings),
:mod:`.gapfill` (gaps as marked estimates) and :mod:`.alerts` (findings as Alert entities), :mod:`.reports`
(monthly reports: HTML, XLSX, PDF); the faces' parts: :mod:`.api` (routes), :mod:`.page` and :mod:`.panel` (the
console's 能源 / Energy pages and the entity-page section), :mod:`.faces` (tiles, layers, metric, words),
:mod:`.cli` (``lingang-twin energy …``); :mod:`.demo` its part of the demo district.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from lingang_twin.core.packs import (
    LAST_FULL_DAY,
    Check,
    ConsolePageSpec,
    DemoBuilding,
    DemoCarPark,
    DemoLayout,
    DemoPlan,
    Pack,
    PageContext,
)
from lingang_twin.energy.faces import LAYERS, METRICS, TILES, words
from lingang_twin.energy.factors import EnergyConfig
from lingang_twin.energy.types import register_energy_types

if TYPE_CHECKING:
    from datetime import datetime

    import typer
    from fastapi import APIRouter

    from lingang_twin.core.findings import Finding
    from lingang_twin.core.model import Entity
    from lingang_twin.core.packs import CliContext
    from lingang_twin.core.twin import Twin


def setup(twin: Twin) -> None:
    """Register the energy types on ``twin`` (idempotent), virtual meters included."""
    from lingang_twin.energy.virtual import register_virtual_meter_type

    register_energy_types(twin)
    register_virtual_meter_type(twin)


def api_router(config: Any) -> APIRouter:
    """The pack's FastAPI router with the deployment's validated settings (imported on call, so that loading the
    pack does not load FastAPI)."""
    from lingang_twin.energy.web.routes import router

    return router(config)


def _energy_page(ctx: PageContext) -> Awaitable[None]:
    from lingang_twin.energy.web.page import build_page

    return build_page(ctx)  # a coroutine: its figures are computed off the event loop, the console awaits it


def _tenant_page(ctx: PageContext) -> None:
    from lingang_twin.energy.web.tenant_page import build_tenant_page

    build_tenant_page(ctx)


def entity_panel(page: PageContext, entity: Entity) -> Awaitable[None]:
    """The energy section of an entity's console page (consumption per carrier today and this month, kgce, CO₂
    where factors exist); draws nothing for an entity with no meter. Returns the coroutine the console awaits
    (the figures are computed off the event loop)."""
    from lingang_twin.energy.web.panel import entity_panel as draw

    return draw(page, entity)


def _cli(ctx: CliContext) -> typer.Typer:
    from lingang_twin.energy.cli import commands

    return commands(ctx)


def _meter_quality(twin: Twin, config: Any, start: datetime, end: datetime) -> list[Finding]:
    # Imported on call: the detectors load numpy's and the holiday calendar's modules, which the CLI's start need not.
    from lingang_twin.energy.quality.check import district_quality

    return district_quality(twin, config, start, end)


# The last full day: a scheduled rerun within the day sees the same window, so its alerts (keyed on kind, meter and
# start) are the same ones, and a day holds every quarter-hour slot the spike detector compares.
CHECKS = (Check("meter_quality", ("计量数据质量", "Meter data quality"), _meter_quality, window=LAST_FULL_DAY),)


# The pack's part of the demo district (:mod:`.demo`), imported on call: loading the pack does not load the demo's
# tables of assumptions.
def _demo_meters(building: DemoBuilding, rng: Any) -> list[dict[str, Any]]:
    from lingang_twin.energy.demo import meter_entities

    return meter_entities(building, rng)


def _demo_chargers(park: DemoCarPark, geo: Callable[[Any], dict[str, Any]]) -> list[dict[str, Any]]:
    from lingang_twin.energy.demo import charger_entities

    return charger_entities(park, geo)


def _demo_district(plan: DemoPlan) -> list[dict[str, Any]]:
    from lingang_twin.energy.demo import district_entities

    return district_entities(plan)


def _demo_settings(twin: Twin, seed: int) -> None:
    from lingang_twin.energy.demo import demo

    demo(twin, seed)


PERMISSIONS = {
    "energy:read": ("查看能耗核算、报告与分析", "read energy accounts, reports and analyses"),
    "energy:write": ("将能耗检查结果生成告警", "raise energy findings as alerts"),
}
"""The energy pack's permissions. A tenant's ``energy:read`` shows its own account and report only: the twin
narrows every read to what it may see (``Twin.as_caller``)."""
GRANTS = {
    "operator": ("energy:read", "energy:write"),
    "energy_manager": ("energy:read", "energy:write"),
    "property_manager": ("energy:read",),
    "planner": ("energy:read",),
    "enterprise_tenant": ("energy:read",),
}
"""Which roles hold them (the auditor reads no readings, so no energy figures either)."""

PACK = Pack(
    "energy", ("能源", "Energy"), setup,
    config_model=EnergyConfig,
    api=api_router,
    pages=(ConsolePageSpec("/energy", ("能源", "Energy"), _energy_page, icon="bolt", permission="energy:read"),
           ConsolePageSpec("/energy/tenants", ("租户", "Tenants"), _tenant_page, icon="apartment",
                           permission="energy:read")),
    cli=_cli, tiles=TILES, layers=LAYERS, metrics=METRICS, panels=(entity_panel,), words=words, checks=CHECKS,
    demo=_demo_settings,
    demo_layout=DemoLayout(building=_demo_meters, car_park=_demo_chargers, district=_demo_district),
    permissions=PERMISSIONS, grants=GRANTS)

__all__ = ["PACK", "setup"]
