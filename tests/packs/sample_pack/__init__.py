"""A sample pack (蜂房 / Beehives), the one docs/packs.md builds step by step: one entity type, one setting, a tile
on the overview, a layer on the map, a route, a CLI command, a check and its words — added to a twin without
touching any face (tests/packs/test_sample_pack.py proves it).

FastAPI and Typer are imported at the top: with ``from __future__ import annotations`` they read the annotations
of routes and commands by name from the module's globals."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from lingang_twin.core.findings import Finding
from lingang_twin.core.packs import Check, CliContext, MapLayer, Marker, Pack, PageContext, Tile, TileValue, pick

if TYPE_CHECKING:
    from lingang_twin.core.twin import Twin


class BeehiveProperties(BaseModel):
    """A beehive: its name and how many colonies it holds."""

    model_config = ConfigDict(extra="allow")
    name: str | None = None
    colonies: int = Field(default=1, ge=0)


class SampleConfig(BaseModel):
    """The pack's one setting: the honey yield per colony the deployment assumes [kg/a]."""

    model_config = ConfigDict(extra="forbid")
    kg_per_colony: float = Field(default=20.0, gt=0)


def setup(twin: Twin) -> None:
    """Register the Beehive type (idempotent)."""
    if "Beehive" not in twin.types:
        twin.register_type("Beehive", BeehiveProperties, label=("蜂房", "Beehive"))


def colonies(twin: Twin) -> tuple[int, int]:
    """(beehives, colonies) across the twin."""
    hives = twin.query(types=["Beehive"], limit=10_000).entities if "Beehive" in twin.types else []
    return len(hives), sum(int(h.value("colonies") or 0) for h in hives)


def honey_kg(twin: Twin, config: SampleConfig | None) -> float:
    """The expected honey of a year [kg] under the deployment's setting (the default when none is given)."""
    return colonies(twin)[1] * (config or SampleConfig()).kg_per_colony


# -- the faces' parts -------------------------------------------------------------------------------------------
def _tile(twin: Twin, config: Any, now: datetime) -> TileValue | None:
    hives, n = colonies(twin)
    if not hives:
        return None  # "not available", never a made-up zero
    return TileValue(figure=f"{n:,}", figure_id="colonies",
                     caption=(f"{hives} 个蜂房，年产蜜约 {honey_kg(twin, config):,.0f} kg",
                              f"{hives} hives, about {honey_kg(twin, config):,.0f} kg of honey a year"))


def _markers(twin: Twin, lang: str, now: datetime | None) -> list[Marker]:
    out = []
    for h in twin.query(types=["Beehive"], limit=10_000).entities if "Beehive" in twin.types else []:
        point = h.geo.get("location")
        if point is not None and point["type"] == "Point":
            lon, lat = point["coordinates"][:2]
            out.append(Marker(h.id, h.type, str(h.value("name") or h.id), lat, lon, float(h.value("colonies") or 0)))
    return out


def _label(twin: Twin, m: Marker, lang: str) -> str:
    return pick((f"{m.name}：{m.value:,.0f} 群", f"{m.name}: {m.value:,.0f} colonies"), lang)


def _router(config: Any) -> APIRouter:
    r = APIRouter(prefix="/api/v1/sample", tags=["sample"])

    @r.get("/honey", summary="Expected honey of a year / 年产蜜预计")
    def honey(request: Request) -> dict[str, float]:
        """Expected honey of a year [kg], by the deployment's yield per colony."""
        return {"kg": honey_kg(request.app.state.twin, config)}

    return r


def _page(ctx: PageContext) -> None:
    from nicegui import ui

    ui.label(ctx.tr("蜂房", "Beehives")).classes("text-h5")
    ui.label(ctx.tr(f"年产蜜约 {honey_kg(ctx.twin, ctx.config):,.0f} kg",
                    f"About {honey_kg(ctx.twin, ctx.config):,.0f} kg of honey a year"))


def _cli(ctx: CliContext) -> typer.Typer:
    group = typer.Typer(help="Beehives · 蜂房", no_args_is_help=True)

    @group.command("honey")
    def honey(db: Annotated[Path, typer.Option("--db")]) -> None:
        """Expected honey of a year [kg], JSON on stdout."""
        twin = ctx.open_twin(db)
        try:
            typer.echo(json.dumps({"kg": honey_kg(twin, ctx.config())}))
        finally:
            twin.close()

    @group.command("noop")
    def noop() -> None:  # a second command keeps "honey" a subcommand (typer folds a lone one into the group)
        """Nothing."""

    return group


def empty_hives(twin: Twin, config: Any, start: datetime, end: datetime) -> list[Finding]:
    """The check: every beehive without a colony is a finding over the whole window (a hive to restock)."""
    hives = twin.query(types=["Beehive"], limit=10_000).entities if "Beehive" in twin.types else []
    return [Finding("empty_hive", h.id, start, end, "low", f"{h.value('name') or h.id} 没有蜂群",
                    f"{h.value('name') or h.id} has no colony", {"colonies": 0})
            for h in hives if not h.value("colonies")]


PACK = Pack(
    "sample", ("蜂房", "Beehives"), setup,
    config_model=SampleConfig,
    api=_router,
    pages=(),
    cli=_cli,
    tiles=(Tile("colonies", ("蜂群", "Bee colonies"), _tile, link="/entities?type=Beehive",
                unavailable=("孪生中没有蜂房", "the twin has no beehive")),),
    layers=(MapLayer("hives", ("蜂房", "Beehives"), "#f9a825", _markers, _label),),
    words=lambda: {"prop.colonies": ("蜂群数", "Colonies")},
    checks=(Check("empty_hives", ("空蜂房", "Empty beehives"), empty_hives),),  # default window: the last 24 h
)
