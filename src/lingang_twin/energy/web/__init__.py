"""The energy pack's faces (Web): REST routes with response schemas (:mod:`.routes`, :mod:`.schemas`, the typed
dependency :mod:`.deps`) and the console pages (:mod:`.page` the 能源 / Energy page, :mod:`.tenant_page`,
:mod:`.panel` the entity-page section, :mod:`.coverage_view` the coverage badges).

The numerics live beside this package (accounting, forecast, quality, reports …) and never import it; the
modules here read the twin, call them and draw. NiceGUI and FastAPI are imported only by these modules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def console_pages(register_page: Callable[..., Any]) -> None:
    """The ``console`` hook: register the energy and tenants pages with the console (their modules, and NiceGUI
    with them, are imported on call)."""
    from lingang_twin.energy.web.page import build_page
    from lingang_twin.energy.web.tenant_page import build_tenant_page

    register_page("/energy", "能源", "Energy", build_page, icon="bolt")
    register_page("/energy/tenants", "租户", "Tenants", build_tenant_page, icon="apartment")


__all__ = ["console_pages"]
