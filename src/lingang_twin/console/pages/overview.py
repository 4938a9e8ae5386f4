"""The overview (总览): the district at a glance, every tile linking to its page, refreshed by the live hub."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from lingang_twin.console import data
from lingang_twin.console.registry import PageContext
from lingang_twin.console.shell import clock_text, message
from lingang_twin.core.twin import Twin

TOPIC = "overview"


def _fmt(value: float) -> str:
    """Numbers as an operator reads them: thousands separated, no false precision."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"


def _tile(ctx: PageContext, key: str, testid: str, link: str | None) -> ui.element:
    card = ui.card().classes("w-72 min-h-36").props(f'data-testid="tile-{testid}"')
    with card:
        if link is not None:
            ui.link(ctx.text(key), link).classes("text-subtitle1 font-bold")
        else:
            ui.label(ctx.text(key)).classes("text-subtitle1 font-bold")
    return card


def _na(ctx: PageContext, why_key: str) -> None:
    # grey-7, not grey-6: 4.6:1 on white (grey-6 is 2.7:1); the dark theme lightens it (console.theme)
    ui.label(ctx.text("tile.na")).classes("text-h5 text-grey-7")
    ui.label(ctx.text(why_key)).classes("text-caption text-grey-7")


def tiles(ctx: PageContext, view: data.Overview) -> None:
    """Draw the tiles for ``view`` into the current container."""
    with ui.row().classes("w-full gap-4"):
        with _tile(ctx, "tile.energy", "energy", ctx.url("/entities?type=Meter")):
            if view.energy is None:
                _na(ctx, "tile.na.series")
            else:
                for c in view.energy:
                    with ui.row().classes("w-full justify-between"):
                        ui.label(ctx.text(f"carrier.{c.carrier}"))
                        ui.label(f"{_fmt(c.value)} {c.unit}").classes("font-mono")
        with _tile(ctx, "tile.carbon", "carbon", ctx.url("/energy") if ctx.console.carbon_today else None):
            if view.carbon_kg is None:
                _na(ctx, "tile.na.factors" if ctx.console.carbon_today else "tile.na.pack")
            else:
                ui.label(f"{_fmt(view.carbon_kg / 1000)} t").classes("text-h4 font-mono") \
                    .props('data-testid="carbon"').mark("carbon")
                ui.label(ctx.text("tile.carbon.basis")).classes("text-caption")
        with _tile(ctx, "tile.alerts", "alerts", None):
            _na(ctx, "tile.na.ops")
        with _tile(ctx, "tile.parking", "parking", ctx.url("/mobility")):
            if view.free_parking is None:
                _na(ctx, "tile.na.series")
            else:
                ui.label(f"{view.free_parking:,}").classes("text-h4 font-mono").props('data-testid="free-parking"')
                ui.label(ctx.text("tile.facilities", n=view.parking_facilities)).classes("text-caption")
        with _tile(ctx, "tile.shuttles", "shuttles", ctx.url("/entities?type=Vehicle")):
            if view.shuttles is None:
                _na(ctx, "tile.na.series")
            else:
                ui.label(f"{view.shuttles}").classes("text-h4 font-mono")
                ui.label(ctx.text("tile.vehicles")).classes("text-caption")


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
    """The overview for the live hub, with the energy and carbon tiles from the pack that computes them when one
    is loaded (the energy pack's hooks, with the deployment's energy settings)."""
    carbon, energy = ctx.console.carbon_today, ctx.console.energy_today
    settings = ctx.console.energy_config

    def compute(twin: Twin) -> data.Overview:
        now = data.clock()  # one instant for every tile of this tick
        return data.overview(
            twin, now,
            carbon=(lambda t: carbon(t, settings, now)) if carbon is not None else None,
            energy=(lambda t: energy(t, settings, now)) if energy is not None else None)

    return compute
