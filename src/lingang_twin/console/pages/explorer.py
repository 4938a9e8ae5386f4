"""The entity explorer (实体浏览): search by name, type or id; each hit links to its entity page."""

from __future__ import annotations

from nicegui import run, ui

from lingang_twin.console import data
from lingang_twin.console.registry import PageContext
from lingang_twin.console.shell import message

LIMIT = 100


async def build(ctx: PageContext, query: str = "", entity_type: str = "") -> None:
    """The explorer, pre-filled from the URL (``?q=…&type=…``) so that a search can be linked to."""
    ui.label(ctx.text("entities.title")).classes("text-h5")
    types = sorted(t.name for t in ctx.twin.types)
    if entity_type not in types:
        entity_type = ""
    state = {"q": query, "type": entity_type}
    with ui.row().classes("w-full items-end gap-4"):
        box = ui.input(ctx.text("entities.search"), value=query).props('clearable data-testid="search"') \
            .classes("w-96")
        picker = ui.select({"": ctx.text("entities.any_type"), **{t: t for t in types}}, value=entity_type,
                           label=ctx.text("entities.type")).classes("w-56")
        export = ui.button(ctx.text("history.csv"), icon="download").props("outline")

    shown: list[dict[str, str]] = []

    @ui.refreshable
    async def results() -> None:
        entities, total = await run.io_bound(data.search, ctx.twin, state["q"], state["type"] or None, LIMIT)
        shown.clear()
        if not entities:
            if ctx.twin.store.count_entities() == 0:
                message("info", ctx.text("empty.store"))
            else:
                message("info", ctx.text("entities.none", text=state["q"] or state["type"]))
            return
        ui.label(ctx.text("entities.count", total=total, shown=len(entities))).classes("text-caption")
        with ui.grid(columns="minmax(12rem,2fr) minmax(8rem,1fr) minmax(6rem,1fr) minmax(16rem,3fr)") \
                .classes("w-full gap-x-4 gap-y-1"):
            for key in ("col.name", "col.type", "col.phase", "col.id"):
                ui.label(ctx.text(key)).classes("font-bold")
            for e in entities:
                name = data.display_name(e, ctx.lang)
                shown.append({"id": e.id, "type": e.type, "phase": e.phase, "name": name})
                ui.link(name, ctx.entity_url(e.id))
                ui.label(e.type)
                ui.label(ctx.text(f"phase.{e.phase}"))
                ui.label(e.id).classes("font-mono text-xs")

    async def search() -> None:
        state["q"] = box.value or ""
        state["type"] = picker.value or ""
        results.refresh()

    box.on("keydown.enter", search)
    picker.on_value_change(search)
    export.on_click(lambda: ui.download.content(
        "\ufeff" + data.to_csv(shown, ["id", "type", "phase", "name"]), "entities.csv", "text/csv"))
    await results()
