"""The mobility pack (出行): smart parking, the driverless shuttle, and later truck platoons.

Entry point: ``PACK`` (:class:`~lingang_twin.core.packs.Pack`). Its ``setup(twin)`` registers the pack's entity
types (see :mod:`.types`); :mod:`.faces` describes its overview tiles and map layers, :mod:`.page` its console
page, :mod:`.cli` its command group (``lingang-twin mobility …``), :mod:`.demo` its part of the demo district.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lingang_twin.core.packs import ConsolePageSpec, DemoCarPark, DemoLayout, DemoPlan, Pack, PageContext, Words
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


# The pack's part of the demo district (:mod:`.demo`), imported on call.
def _demo_car_park(park: DemoCarPark, geo: Callable[[Any], dict[str, Any]]) -> list[dict[str, Any]]:
    from lingang_twin.mobility.demo import car_park_entities

    return car_park_entities(park, geo)


def _demo_route(plan: DemoPlan) -> list[dict[str, Any]]:
    from lingang_twin.mobility.demo import route_entities

    return route_entities(plan)


PERMISSIONS = {"mobility:read": ("查看停车与接驳车运行", "see parking and the shuttle")}
"""The mobility pack's permissions (its page; it has no routes of its own: parking and vehicles are entities)."""
GRANTS = {role: ("mobility:read",) for role in ("operator", "mobility_operator", "property_manager", "planner")}

PACK = Pack("mobility", ("出行", "Mobility"), setup,
            pages=(ConsolePageSpec("/mobility", ("出行", "Mobility"), _page, icon="commute",
                                   permission="mobility:read"),),
            cli=_cli, tiles=TILES, layers=LAYERS, words=words,
            demo_layout=DemoLayout(car_park=_demo_car_park, district=_demo_route),
            permissions=PERMISSIONS, grants=GRANTS)

__all__ = ["PACK", "setup"]
