"""The overview (总览): the district at a glance, one tile per tile the packs describe (``Pack.tiles``), each
linking to its page, refreshed by the live hub. The console draws every tile the same way and knows no pack."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from lingang_twin.console import data
from lingang_twin.console.i18n import pick
from lingang_twin.console.registry import PageContext
from lingang_twin.console.shell import clock_text, message
from lingang_twin.core.packs import Tile, TileValue
from lingang_twin.core.twin import Twin

TOPIC = "overview"


def _tile(ctx: PageContext, tile: Tile) -> ui.element:
    card = ui.card().classes("w-72 min-h-36").props(f'data-testid="tile-{tile.name}"')
    with card:
        title = pick(tile.title, ctx.lang)
        if tile.link is not None:
            ui.link(title, ctx.url(tile.link)).classes("text-subtitle1 font-bold")
        else:
            ui.label(title).classes("text-subtitle1 font-bold")
    return card


def _na(ctx: PageContext, why: str) -> None:
    # grey-7, not grey-6: 4.6:1 on white (grey-6 is 2.7:1); the dark theme lightens it (console.theme)
    ui.label(ctx.text("tile.na")).classes("text-h5 text-grey-7")
    ui.label(why).classes("text-caption text-grey-7")


def _value(ctx: PageContext, value: TileValue) -> None:
    for label, shown in value.lines:
        with ui.row().classes("w-full justify-between"):
            ui.label(pick(label, ctx.lang))
            ui.label(shown).classes("font-mono")
    if value.figure is not None:
        figure = ui.label(value.figure).classes("text-h4 font-mono")
        if value.figure_id is not None:
            figure.props(f'data-testid="{value.figure_id}"').mark(value.figure_id)
    if value.caption is not None:
        ui.label(pick(value.caption, ctx.lang)).classes("text-caption")


def tiles(ctx: PageContext, view: data.Overview) -> None:
    """Draw the packs' tiles for ``view`` into the current container, then the console's placeholder for open
    alerts (no pack answers it yet)."""
    with ui.row().classes("w-full gap-4"):
        for _, tile in ctx.console.tiles:
            with _tile(ctx, tile):
                value = view.tiles.get(tile.name)
                if value is None:
                    _na(ctx, pick(tile.unavailable, ctx.lang))
                else:
                    _value(ctx, value)
        if not any(tile.name == "alerts" for _, tile in ctx.console.tiles):
            with ui.card().classes("w-72 min-h-36").props('data-testid="tile-alerts"'):
                ui.label(ctx.text("tile.alerts")).classes("text-subtitle1 font-bold")
                _na(ctx, ctx.text("tile.na.ops"))


async def build(ctx: PageContext) -> None:
    """The overview page."""
    ui.label(ctx.text("overview.title")).classes("text-h5")
    compute = _compute(ctx)
    ctx.console.hub.add_topic(TOPIC, compute)
    view: data.Overview | None = await ctx.console.hub.compute(TOPIC)
    if view is None:  # NiceGUI's io_bound answers None while the server shuts down: nothing to draw
        return
    if view.entities == 0:
        message("info", ctx.text("empty.store"))
    updated = ui.label(ctx.text("live.updated", time=clock_text(view.at))).classes("text-caption text-grey-7")

    @ui.refreshable
    def area(v: data.Overview) -> None:
        tiles(ctx, v)

    area(view)

    def refresh(v: data.Overview) -> None:
        updated.set_text(ctx.text("live.updated", time=clock_text(v.at)))
        area.refresh(v)

    ctx.live(TOPIC, compute, refresh)


def _compute(ctx: PageContext) -> Callable[[Twin], data.Overview]:
    """The overview for the live hub: every pack's tile with its pack's configuration, at one instant."""
    console = ctx.console

    def compute(twin: Twin) -> data.Overview:
        return data.overview(twin, [(tile, console.configs.get(pack)) for pack, tile in console.tiles], data.clock())

    return compute
