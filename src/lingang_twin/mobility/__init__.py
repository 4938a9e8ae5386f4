"""The mobility pack (出行): smart parking, the driverless shuttle, and later truck platoons.

Entry point: ``PACK`` (:class:`~lingang_twin.core.packs.Pack`). Its ``setup(twin)`` registers the pack's entity
types (see :mod:`.types`); :mod:`.faces` describes its overview tiles and map layers, :mod:`.page` its console
page, :mod:`.cli` its command group (``lingang-twin mobility …``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lingang_twin.core.packs import ConsolePageSpec, Pack, PageContext, Words
from lingang_twin.mobility.faces import LAYERS, TILES
from lingang_twin.mobility.types import register_mobility_types

if TYPE_CHECKING:
    import typer

    from lingang_twin.core.packs import CliContext
    from lingang_twin.core.twin import Twin


def setup(twin: Twin) -> None:
    """Register the mobility types on ``twin`` (idempotent)."""
    register_mobility_types(twin)


def words() -> dict[str, Words]:
    """This pack's property names (``prop.<name>``) and enumerated values (``value.<property>.<value>``) in
    Chinese and English."""
    from lingang_twin.mobility.types import PROPERTY_LABELS, VALUE_LABELS

    return {**{f"prop.{name}": pair for name, pair in PROPERTY_LABELS.items()},
            **{f"value.{name}.{value}": pair for name, values in VALUE_LABELS.items()
               for value, pair in values.items()}}


def _page(ctx: PageContext) -> None:
    from lingang_twin.mobility.page import build_page

    build_page(ctx)


def _cli(ctx: CliContext) -> typer.Typer:
    from lingang_twin.mobility.cli import commands

    return commands(ctx)


PACK = Pack("mobility", ("出行", "Mobility"), setup,
            pages=(ConsolePageSpec("/mobility", ("出行", "Mobility"), _page, icon="commute"),),
            cli=_cli, tiles=TILES, layers=LAYERS, words=words)

__all__ = ["PACK", "setup"]
