"""The energy pack (能源): water, electricity, oil, gas and hydrogen (水电油气氢) across the district.

Entry point: ``PACK``. Its ``setup(twin)`` registers the pack's entity types (see :mod:`.types`); meters of every
carrier are the core ``Meter`` type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lingang_twin.core.packs import Pack
from lingang_twin.energy.types import register_energy_types

if TYPE_CHECKING:
    from lingang_twin.core.twin import Twin


def setup(twin: Twin) -> None:
    """Register the energy types on ``twin`` (idempotent)."""
    register_energy_types(twin)


PACK = Pack("energy", ("能源", "Energy"), setup)

__all__ = ["PACK", "setup"]
