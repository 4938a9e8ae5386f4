"""The energy pack (能源): water, electricity, oil, gas and hydrogen (水电油气氢) across the district.

Entry point: ``PACK``. Its ``setup(twin)`` registers the pack's entity types (see :mod:`.types`); meters of every
carrier are the core ``Meter`` type. Modules: :mod:`.factors` (GB/T 2589 coefficients, CO₂ factor sets),
:mod:`.carriers` (canonical units), :mod:`.tariffs`, :mod:`.consumption` (meters × buckets, the one read
path), :mod:`.accounting` (``account``), :mod:`.tenants` (enterprises by own meters or floor-area share),
:mod:`.virtual` (virtual meters, unmetered loss), :mod:`.efficiency` (intensity, ranking, month-on-month /
year-on-year), :mod:`.mv` (CalTRACK baselines, savings, weather-normalised comparison), :mod:`.forecast`
(day-ahead / week-ahead with intervals), :mod:`.quality` (data quality and anomaly findings),
:mod:`.gapfill` (gaps as marked estimates) and :mod:`.alerts` (findings as Alert entities), :mod:`.reports`
(monthly reports: HTML, XLSX, PDF), :mod:`.api` (routes, via ``hooks["api"]``), :mod:`.page` (the console's
能源 / Energy page, via ``hooks["console"]``).
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lingang_twin.core.packs import Pack
from lingang_twin.energy.types import register_energy_types

if TYPE_CHECKING:
    from lingang_twin.core.twin import Twin


def setup(twin: Twin) -> None:
    """Register the energy types on ``twin`` (idempotent), virtual meters included."""
    from lingang_twin.energy.virtual import register_virtual_meter_type

    register_energy_types(twin)
    register_virtual_meter_type(twin)


def api_router() -> Any:
    """The pack's FastAPI router (imported on call, so that loading the pack does not load FastAPI)."""
    from lingang_twin.energy.web.routes import router

    return router()


def console_pages(register_page: Any) -> None:
    """The ``console`` hook: register the energy page (the module is imported on call)."""
    from lingang_twin.energy.web import console_pages as register

    register(register_page)


def carbon_today(twin: Twin, config: Any = None, now: datetime | None = None) -> float | None:
    """The ``carbon_today`` hook: kg CO₂ of the district today (the console's overview tile)."""
    from lingang_twin.energy.web.page import carbon_today as compute

    return compute(twin, _config(twin, config), now)


def energy_today(twin: Twin, config: Any = None, now: datetime | None = None) -> list[tuple[str, float, str]] | None:
    """The ``energy_today`` hook: ``(carrier, value, unit)`` of every main meter today, in the pack's one unit per
    carrier (the console's overview tile)."""
    from lingang_twin.energy.web.page import energy_today as compute

    return compute(twin, _config(twin, config), now)


def entity_panel(page: Any, entity: Any) -> Awaitable[None]:
    """The ``entity_panel`` hook: the energy section of an entity's console page (consumption per carrier today
    and this month, kgce, CO₂ where factors exist); draws nothing for an entity with no meter. Returns the
    coroutine the console awaits (the figures are computed off the event loop)."""
    from lingang_twin.energy.web.panel import entity_panel as draw

    return draw(page, entity)


def labels() -> dict[str, tuple[str, str]]:
    """The ``labels`` hook: the pack's property names (``prop.<name>``) and enumerated values
    (``value.<property>.<value>``) in Chinese and English, for the console's pages."""
    from lingang_twin.energy.types import PROPERTY_LABELS, VALUE_LABELS

    return {**{f"prop.{name}": pair for name, pair in PROPERTY_LABELS.items()},
            **{f"value.{name}.{value}": pair for name, values in VALUE_LABELS.items()
               for value, pair in values.items()}}


def _config(twin: Twin, config: Any) -> Any:
    """The settings in force as an EnergyConfig: the deployment's (a face may hand over the parsed JSON), else
    those stored in the twin (:func:`.settings.config_in_force`; the demo's illustrative ones)."""
    from lingang_twin.energy.factors import EnergyConfig
    from lingang_twin.energy.settings import config_in_force

    config = config_in_force(twin, config)
    if config is None or isinstance(config, EnergyConfig):
        return config
    return EnergyConfig.model_validate(config)


PACK = Pack("energy", ("能源", "Energy"), setup,
            hooks={"api": api_router, "console": console_pages, "carbon_today": carbon_today,
                   "energy_today": energy_today, "entity_panel": entity_panel, "labels": labels})

__all__ = ["PACK", "setup"]
