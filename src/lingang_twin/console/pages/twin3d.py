"""The 3D twin (三维孪生): every building extruded from its footprint to its height in NiceGUI's ``ui.scene``
(three.js, bundled: works offline), coloured by lifecycle phase or by a metric, on any date from the district's
first plans to its planned build-out. Clicking a building opens its page.

Why one extrusion per building and no merging: ~160 meshes draw at full frame rate, and each stays one object
whose name is the building's id — which is what the click handler needs. A date change adds and removes only
the buildings that appear or vanish and recolours the rest; outlines never move (they are today's footprints).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from nicegui import events, run, ui

from lingang_twin.console import layers
from lingang_twin.console.labels import metric_names, metric_unit
from lingang_twin.console.registry import PageContext
from lingang_twin.console.shell import message
from lingang_twin.core.twin import SHANGHAI

SCENE_HEIGHT_PX = 640


def _today() -> date:
    from datetime import datetime

    return datetime.now(SHANGHAI).date()


async def build(ctx: PageContext) -> None:
    """The 3D page."""
    ui.label(ctx.text("3d.title")).classes("text-h5")
    frame = await run.io_bound(layers.district_frame, ctx.twin)
    if frame is None:
        message("info", ctx.text("empty.store") if await run.io_bound(lambda: ctx.twin.query(limit=0).total) == 0
                else ctx.text("3d.empty"))
        return
    first, last = layers.date_range()
    today = min(max(_today(), first), last)
    state: dict[str, Any] = {"day": today, "metric": "phase", "shapes": [], "values": {}}
    extra = layers.pack_metrics(ctx.console)  # the packs' metrics, each with its pack's configuration

    with ui.row().classes("w-full items-end gap-4"):
        metric = ui.select(metric_names(ctx), value="phase",
                           label=ctx.text("3d.colour_by")).classes("w-64").props('data-testid="metric-3d"').mark("metric-3d")
        day_input = ui.input(ctx.text("3d.date"), value=today.isoformat()).props(
            'type=date dense data-testid="date-3d"').classes("w-44").mark("date-3d")
        slider = ui.slider(min=0, max=layers.day_index(last), value=layers.day_index(today)) \
            .classes("flex-1 min-w-64").props(f'label-always label-value="{today.isoformat()}" data-testid="slider-3d"')
    legend = ui.row().classes("items-center gap-3 text-caption").props('data-testid="legend-3d"')
    count = ui.label().classes("text-caption text-grey-7").props('data-testid="count-3d"')

    async def open_building(e: events.SceneClickEventArguments) -> None:
        # The nearest hit that is a building (the ground grid has no name).
        for hit in e.hits:
            if hit.object_name.startswith("urn:ngsi-ld:"):
                ui.navigate.to(ctx.entity_url(hit.object_name))
                return

    scene = ui.scene(height=SCENE_HEIGHT_PX, grid=(4000, 40), on_click=open_building, click_events=["click"],
                     background_color="#eef1f4",
                     camera=ui.scene.perspective_camera(fov=45, near=5, far=20_000)) \
        .classes("w-full").props('data-testid="scene-3d"')
    scene.move_camera(x=-300, y=-2300, z=1500, look_at_x=0, look_at_y=0, look_at_z=0, duration=0)
    drawn: dict[str, Any] = {}  # building id → its extrusion in the scene

    def draw_legend() -> None:
        legend.clear()
        with legend:
            if state["metric"] == "phase":
                items = [(c, ctx.text(f"phase.{p}")) for p, c in layers.PHASE_COLOURS.items()]
            else:
                values: dict[str, float] = state["values"]
                unit = metric_unit(ctx, state["metric"])
                if values:
                    lo, hi = min(values.values()), max(values.values())
                    items = [(layers.scale_colour(lo, lo, hi), f"{_fmt(lo)} {unit}"),
                             (layers.scale_colour(hi, lo, hi), f"{_fmt(hi)} {unit}")]
                else:
                    items = []
                items.append((layers.NO_DATA_COLOUR, ctx.text("tile.na")))
            for colour, label in items:
                with ui.row().classes("items-center gap-1"):
                    ui.element("span").style(f"display:inline-block;width:12px;height:12px;background:{colour}")
                    ui.label(label)
            ui.label(ctx.text("3d.click"))

    def paint() -> None:
        shapes: list[layers.BuildingShape] = state["shapes"]
        colour_of = layers.colours(state["metric"], shapes, state["values"])
        wanted = {s.id: s for s in shapes}
        for gone in [i for i in drawn if i not in wanted]:
            drawn.pop(gone).delete()
        with scene:
            for s in shapes:
                obj = drawn.get(s.id)
                if obj is None:
                    obj = drawn[s.id] = scene.extrusion(s.outline, s.height).with_name(s.id)
                obj.material(colour_of[s.id])
        count.set_text(ctx.text("3d.count", n=len(shapes), day=state["day"].isoformat()))
        draw_legend()

    async def load() -> None:
        day: date = state["day"]
        shapes = await run.io_bound(layers.buildings, ctx.twin, frame, ctx.lang, None if day == _today() else day)
        if shapes is None:  # NiceGUI's io_bound answers None while the server shuts down
            return
        state["shapes"] = shapes
        state["values"] = await run.io_bound(layers.metric_values, ctx.twin, state["metric"], shapes, None, extra)
        paint()

    async def set_day(day: date) -> None:
        day = min(max(day, first), last)
        if day == state["day"]:
            return
        state["day"] = day
        day_input.set_value(day.isoformat())
        slider.set_value(layers.day_index(day))
        slider.props(f'label-value="{day.isoformat()}"')
        await load()

    async def typed(e: events.ValueChangeEventArguments) -> None:
        try:
            day = date.fromisoformat(str(e.value))
        except ValueError:  # a half-typed date: wait for the rest
            return
        await set_day(day)

    async def slid(e: events.GenericEventArguments) -> None:
        await set_day(layers.index_day(int(e.args)))

    async def picked(e: events.ValueChangeEventArguments) -> None:
        state["metric"] = e.value
        state["values"] = await run.io_bound(layers.metric_values, ctx.twin, e.value, state["shapes"], None,
                                               extra)
        paint()

    day_input.on_value_change(typed)
    # The slider reports when it is let go (Quasar's "change"), not at every pixel of a drag: each report is one
    # store query and a scene update.
    slider.on("change", slid)
    metric.on_value_change(picked)
    await load()


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
