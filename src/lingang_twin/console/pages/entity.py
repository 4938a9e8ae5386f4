"""An entity's page (实体详情): properties, relationships up and down the containment tree, lifecycle, and a history
chart of any of its series with bucket and aggregate pickers, exportable as CSV."""

from __future__ import annotations

import inspect
import logging
from typing import Any

from nicegui import run, ui

from lingang_twin.console import data
from lingang_twin.console.labels import prop_name, type_name, value_text
from lingang_twin.console.registry import PageContext
from lingang_twin.console.shell import message
from lingang_twin.core.errors import TwinError
from lingang_twin.core.model import Entity
from lingang_twin.core.store import AGGS, BUCKETS

# The map's phase hues, a shade darker: white badge text needs contrast ≥ 4.4 on them (Quasar's plain "orange" and
# "green" give 2.2 and 2.8).
PHASE_COLOURS = {"planned": "grey-8", "design": "blue-8", "construction": "deep-orange-9", "operation": "green-9",
                 "retired": "brown"}
DAY_CHOICES = (1, 7, 30, 90, 365)
log = logging.getLogger(__name__)


async def call_panel(panel: Any, ctx: PageContext, e: Entity) -> None:
    """Run a pack's entity panel, sync or async."""
    result = panel(ctx, e)
    if inspect.isawaitable(result):
        await result


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return str(value)


def _entity_link(ctx: PageContext, e: Entity) -> None:
    ui.link(f"{data.display_name(e, ctx.lang)} · {type_name(ctx, e.type)}", ctx.entity_url(e.id))


def _property_value(ctx: PageContext, name: str, value: Any) -> str:
    """A property's value as read on the page: enumerated values (use, carrier, register …) in words, the rest
    as stored."""
    if isinstance(value, str) or (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
        return value_text(ctx, name, value)
    return _value_text(value)


async def build(ctx: PageContext, entity_id: str) -> None:
    """The page of ``entity_id``; an unknown or malformed id gets a message, not an error page."""
    if not data.check_entity_id(entity_id):
        message("warning", ctx.text("entity.bad_id", id=entity_id))
        return
    view = await run.io_bound(data.entity_view, ctx.twin, entity_id)
    if view is None:
        message("warning", ctx.text("entity.not_found", id=entity_id))
        return
    e = view.entity
    with ui.row().classes("items-center gap-3"):
        title = ui.label(data.display_name(e, ctx.lang)).classes("text-h5").props('data-testid="entity-name"')
        ui.badge(type_name(ctx, e.type)).props('data-testid="entity-type"')
        phase = ui.badge(ctx.text(f"phase.{e.phase}"), color=PHASE_COLOURS.get(e.phase, "grey")) \
            .props('data-testid="entity-phase"')
    ui.label(e.id).classes("font-mono text-caption").props('data-testid="entity-id"')
    if view.ancestors:
        with ui.row().classes("items-center gap-1 text-caption"):
            ui.label(ctx.text("entity.ancestors") + ":")
            for a in reversed(view.ancestors):  # district first: read from the top down
                _entity_link(ctx, a)
                ui.icon("chevron_right")
            ui.label(data.display_name(e, ctx.lang))

    with ui.row().classes("w-full gap-4 items-start"):
        with ui.card().classes("flex-1 min-w-80"):
            ui.label(ctx.text("entity.properties")).classes("text-subtitle1 font-bold")
            with ui.grid(columns=2).classes("gap-x-4 gap-y-1"):
                for name, prop in e.properties.items():
                    ui.label(prop_name(ctx, name)).classes("text-grey-8").tooltip(name)
                    ui.label(_property_value(ctx, name, prop.value) + (f" {prop.unit}" if prop.unit else ""))
        with ui.card().classes("flex-1 min-w-80"):
            ui.label(ctx.text("entity.relationships")).classes("text-subtitle1 font-bold")
            targets = await run.io_bound(ctx.twin.get_many,
                                         sorted({t for r in e.relationships.values() for t in r.targets})) or {}
            if not e.relationships:
                ui.label(ctx.text("entity.none")).classes("text-grey-7")
            for name, rel in e.relationships.items():
                with ui.row().classes("items-center gap-2"):
                    ui.label(prop_name(ctx, name)).classes("text-grey-8").tooltip(name)
                    for t in rel.targets:
                        if t in targets:
                            _entity_link(ctx, targets[t])
                        else:
                            ui.label(t).classes("font-mono text-xs")
            ui.separator()
            ui.label(ctx.text("entity.children")).classes("text-subtitle2")
            if not view.children:
                ui.label(ctx.text("entity.none")).classes("text-grey-7")
            with ui.column().classes("gap-0 max-h-64 overflow-auto"):
                for child in view.children:
                    _entity_link(ctx, child)
            if view.children_total > len(view.children):
                ui.label(ctx.text("entity.children.more", n=view.children_total - len(view.children))) \
                    .classes("text-caption")
        with ui.card().classes("min-w-64"):
            ui.label(ctx.text("entity.lifecycle")).classes("text-subtitle1 font-bold")
            if not e.lifecycle:
                ui.label(ctx.text(f"phase.{e.phase}"))
            with ui.timeline(side="right").props("dense"):
                for change in e.lifecycle:
                    ui.timeline_entry(subtitle=change.since.isoformat(), title=ctx.text(f"phase.{change.phase}"),
                                      color=PHASE_COLOURS.get(change.phase, "grey"))

    for panel in ctx.console.entity_panels:  # packs' sections (the energy pack: consumption per carrier)
        try:
            await call_panel(panel, ctx, e)
        except Exception as err:  # one pack's failure must not take the page down
            log.exception("entity panel %r failed on %s", panel, e.id)
            message("error", ctx.text("entity.panel_error", error=str(err).splitlines()[0] if str(err) else err))

    with ui.card().classes("w-full"):
        ui.label(ctx.text("entity.history")).classes("text-subtitle1 font-bold")
        if not view.series:
            message("info", ctx.text("entity.no_series"))
        else:
            await history_panel(ctx, e, view.series)

    async def changed(ids: set[str]) -> None:
        # The entity itself changed: its name and phase follow at once; the rest on the next visit.
        if entity_id not in ids:
            return
        fresh = (await run.io_bound(ctx.twin.get_many, [entity_id]) or {}).get(entity_id)
        if fresh is None:
            phase.set_text(ctx.text("entity.not_found", id=entity_id))
            return
        title.set_text(data.display_name(fresh, ctx.lang))
        phase.set_text(ctx.text(f"phase.{fresh.phase}"))
        phase.props(f"color={PHASE_COLOURS.get(fresh.phase, 'grey')}")

    ctx.on_entities(changed)


async def history_panel(ctx: PageContext, e: Entity, series: dict[str, str | None],
                        attribute: str | None = None) -> None:
    """Pickers, the ECharts chart and the CSV export of one series of ``e``."""
    first = attribute if attribute in series else next(iter(series))
    state: dict[str, Any] = {"attribute": first, "bucket": "hour", "agg": data.default_agg(ctx.twin, e, first),
                             "days": 7}
    with ui.row().classes("items-end gap-4"):
        attr = ui.select({a: f"{prop_name(ctx, a)} ({u})" if u else prop_name(ctx, a) for a, u in series.items()},
                         value=state["attribute"],
                         label=ctx.text("history.attribute")).classes("w-56").props('data-testid="series"')
        bucket = ui.select({b: ctx.text(f"bucket.{b}") for b in BUCKETS}, value=state["bucket"],
                           label=ctx.text("history.bucket")).classes("w-32")
        agg = ui.select({a: ctx.text(f"agg.{a}") for a in AGGS}, value=state["agg"],
                        label=ctx.text("history.agg")).classes("w-40")
        days = ui.select({d: str(d) for d in DAY_CHOICES}, value=state["days"],
                         label=ctx.text("history.days")).classes("w-24")
        export = ui.button(ctx.text("history.csv"), icon="download").props('outline data-testid="csv"')
    shown: dict[str, Any] = {"history": None}
    client = ui.context.client

    @ui.refreshable
    async def chart() -> None:
        shown["history"] = None
        try:
            # The twin's clock, not the wall's: "today" is the twin's (a test pins it at 23:45).
            h = await run.io_bound(data.history, ctx.twin, e.id, state["attribute"], state["bucket"],
                                   state["agg"], int(state["days"]), ctx.twin.clock())
            if client.is_deleted:  # a live refresh that finished after the user left the page: nothing to draw on
                return
        except TwinError as err:
            message("warning", ctx.text("history.error", error=str(err).splitlines()[0]))
            return
        if h is None:  # NiceGUI's io_bound answers None while the server shuts down: nothing to draw
            return
        if not h.times:
            message("info", ctx.text("history.no_data", attribute=prop_name(ctx, state["attribute"])))
            return
        shown["history"] = h
        unit = f" [{h.unit}]" if h.unit else ""
        ui.echart({
            "animation": False,
            "tooltip": {"trigger": "axis"},
            "grid": {"left": 70, "right": 20, "top": 30, "bottom": 60},
            "xAxis": {"type": "time"},
            "yAxis": {"type": "value", "name": f"{prop_name(ctx, h.attribute)}{unit}", "scale": True},
            "dataZoom": [{"type": "inside"}, {"type": "slider"}],
            "series": [{"type": "line", "showSymbol": False, "name": h.attribute,
                        "data": [[t.isoformat(), v] for t, v in zip(h.times, h.values, strict=True)]}],
        }).classes("w-full h-80").props('data-testid="history-chart"')

    def pick(key: str, value: Any) -> None:
        state[key] = value
        if key == "attribute":
            state["agg"] = data.default_agg(ctx.twin, e, value)
            agg.set_value(state["agg"])  # triggers one more refresh with the same state: harmless
        chart.refresh()

    attr.on_value_change(lambda ev: pick("attribute", ev.value))
    bucket.on_value_change(lambda ev: pick("bucket", ev.value))
    agg.on_value_change(lambda ev: pick("agg", ev.value))
    days.on_value_change(lambda ev: pick("days", ev.value))

    def download() -> None:
        h = shown["history"]
        if h is None:
            ui.notify(ctx.text("history.no_data", attribute=prop_name(ctx, state["attribute"])), type="warning")
            return
        local = e.id.rsplit(":", 1)[-1]
        ui.download.content("\ufeff" + data.to_csv(h.rows(), ["time", "value"]),
                            f"{local}-{h.attribute}-{h.bucket}-{h.agg}.csv", "text/csv")

    export.on_click(download)

    # The chart follows live readings: a per-(entity, series) topic of the live hub fingerprints today's readings
    # (computed once per tick for every page showing that series); the chart redraws only when it changes.
    hub = ctx.console.hub
    watch: dict[str, Any] = {"unsubscribe": None, "seen": None}

    async def follow(attribute: str) -> None:
        if watch["unsubscribe"] is not None:
            watch["unsubscribe"]()
        topic = f"entity.newest:{e.id}:{attribute}"
        hub.add_topic(topic, lambda twin: data.newest_today(twin, e.id, attribute, twin.clock()))
        watch["seen"] = await run.io_bound(data.newest_today, ctx.twin, e.id, attribute, ctx.twin.clock())

        def arrived(value: tuple[int, float | None]) -> None:
            if value != watch["seen"] and state["attribute"] == attribute:
                watch["seen"] = value
                chart.refresh()

        watch["unsubscribe"] = hub.subscribe(topic, arrived)

    ctx._unsubscribe.append(lambda: watch["unsubscribe"]() if watch["unsubscribe"] is not None else None)
    attr.on_value_change(lambda ev: follow(ev.value))
    await follow(state["attribute"])
    await chart()
