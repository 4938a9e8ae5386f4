"""The one typed way the energy routes reach the twin and the settings in force (a FastAPI dependency).

``create_app`` puts the twin on ``request.app.state.twin``; the pack contract hands the deployment's validated
energy settings to :func:`.routes.router`, whose router-level dependency puts them on ``request.state``.
:func:`energy_context` reads both once per request, checks their types and validates stored settings into an
:class:`~..factors.EnergyConfig` (bad settings answer 422 naming the field), so no route touches ``app.state`` or
needs a ``type: ignore``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from lingang_twin.core.guard import caller_twin
from lingang_twin.core.twin import Twin
from lingang_twin.energy.accounting import check_config
from lingang_twin.energy.factors import EnergyConfig
from lingang_twin.energy.settings import config_in_force


@dataclass(frozen=True)
class EnergyContext:
    """What a route needs: the ``twin`` and the energy ``config`` in force (``None``: nothing configured)."""

    twin: Twin
    config: EnergyConfig | None


def energy_context(request: Request, twin: Twin = Depends(caller_twin)) -> EnergyContext:  # noqa: B008
    """The twin of the app as the request's caller sees it (:func:`lingang_twin.core.guard.caller_twin`: every
    read and write checks the caller) and the energy settings in force: the deployment's when the face set them,
    else those stored in the twin (:func:`..settings.config_in_force`)."""
    if not isinstance(twin, Twin):  # pragma: no cover - create_app always sets it
        raise RuntimeError("the app has no twin (request.app.state.twin)")
    # The settings are the deployment's figures, not anyone's data: read from the twin itself (the District that
    # stores them lies outside a tenant's reach, and a tenant's bill needs the same factors as everyone's).
    config = config_in_force(request.app.state.twin, getattr(request.state, "energy_config", None))
    return EnergyContext(twin, None if config is None else check_config(config))


Energy = Annotated[EnergyContext, Depends(energy_context)]
"""The route parameter type: ``ctx: Energy``."""

__all__ = ["Energy", "EnergyContext", "energy_context"]
