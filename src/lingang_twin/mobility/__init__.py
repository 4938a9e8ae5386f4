"""The mobility pack (出行): smart parking, the driverless shuttle, and later truck platoons.

Entry point: ``PACK``. Its ``setup(twin)`` registers the pack's entity types (see :mod:`.types`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lingang_twin.core.packs import Pack
from lingang_twin.mobility.page import console_pages
from lingang_twin.mobility.types import register_mobility_types

if TYPE_CHECKING:
    from lingang_twin.core.twin import Twin


def setup(twin: Twin) -> None:
    """Register the mobility types on ``twin`` (idempotent)."""
    register_mobility_types(twin)


def labels() -> dict[str, tuple[str, str]]:
    """The ``labels`` hook: this pack's property names (``prop.<name>``) and enumerated values
    (``value.<property>.<value>``) in Chinese and English, for the console's pages."""
    from lingang_twin.mobility.types import PROPERTY_LABELS, VALUE_LABELS

    return {**{f"prop.{name}": pair for name, pair in PROPERTY_LABELS.items()},
            **{f"value.{name}.{value}": pair for name, values in VALUE_LABELS.items()
               for value, pair in values.items()}}


PACK = Pack("mobility", ("出行", "Mobility"), setup, hooks={"console": console_pages, "labels": labels})

__all__ = ["PACK", "setup"]
