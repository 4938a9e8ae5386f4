"""The entity explorer (实体浏览): search by name, type or id, page through every match (page size, total,
previous / next), see when each entity was last observed; each hit links to its entity page."""

from __future__ import annotations

from nicegui import run, ui

from lingang_twin.console import data
from lingang_twin.console.labels import type_name
from lingang_twin.console.registry import PageContext
from lingang_twin.console.shell import message

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50


def as_int(text: str, default: int) -> int:
    """``text`` as a whole number, ``default`` when it is not one."""
    try:
        return int(text)
    except (TypeError, ValueError):
        return default


def pages_of(total: int, size: int) -> int:
    """How many pages ``total`` matches fill at ``size`` per page (at least one)."""
    return max(1, -(-total // size))


async def build(ctx: PageContext, query: str = "", entity_type: str = "", page: int = 1,
                size: int = DEFAULT_PAGE_SIZE) -> None:
    """The explorer, pre-filled from the URL (``?q=…&type=…&page=…&size=…``) so that a search can be linked to."""
    ui.label(ctx.text("entities.title")).classes("text-h5")
    types = sorted(t.name for t in ctx.twin.types)
    if entity_type not in types:
        entity_type = ""
    size = size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE
    state = {"q": query, "type": entity_type, "page": max(1, page), "size": size}
    with ui.row().classes("w-full items-end gap-4"):
        box = ui.input(ctx.text("entities.search"), value=query).props('clearable data-testid="search"') \
            .classes("w-96")
        picker = ui.select({"": ctx.text("entities.any_type"), **{t: f"{type_name(ctx, t)} · {t}" for t in types}},
                           value=entity_type, label=ctx.text("entities.type")).classes("w-64")
        sizes = ui.select({s: str(s) for s in PAGE_SIZES}, value=size, label=ctx.text("entities.page_size")) \
            .classes("w-24").mark("page-size")
        export = ui.button(ctx.text("history.csv"), icon="download").props("outline")

    shown: list[dict[str, str]] = []

    @ui.refreshable
    async def results() -> None:
        offset = (state["page"] - 1) * state["size"]
        entities, total = await run.io_bound(data.search, ctx.twin, state["q"], state["type"] or None,
                                             state["size"], offset)
        if entities is None:  # NiceGUI's io_bound answers None while the server shuts down
            return
        if not entities and total and offset:  # a page past the end (a stale link): go to the last one
            state["page"] = pages_of(total, state["size"])
            offset = (state["page"] - 1) * state["size"]
            entities, total = await run.io_bound(data.search, ctx.twin, state["q"], state["type"] or None,
                                                 state["size"], offset)
        shown.clear()
        if not entities:
            if ctx.twin.count() == 0:
                message("info", ctx.text("empty.store"))
            else:
                message("info", ctx.text("entities.none", text=state["q"] or state["type"]))
            return
        seen = await run.io_bound(data.last_seen, ctx.twin, [e.id for e in entities]) or {}
        pages = pages_of(total, state["size"])
        with ui.row().classes("items-center gap-4"):
            ui.label(ctx.text("entities.range", total=total, first=offset + 1, last=offset + len(entities))) \
                .classes("text-caption").mark("entities-range")
            prev = ui.button(ctx.text("entities.prev"), icon="chevron_left", on_click=lambda: turn(-1)) \
                .props("flat dense").mark("page-prev")
            prev.set_enabled(state["page"] > 1)
            ui.label(ctx.text("entities.page", page=state["page"], pages=pages)).mark("page-number")
            nxt = ui.button(ctx.text("entities.next"), icon="chevron_right", on_click=lambda: turn(1)) \
                .props("flat dense").mark("page-next")
            nxt.set_enabled(state["page"] < pages)
        with ui.grid(columns="minmax(12rem,2fr) minmax(8rem,1fr) minmax(6rem,1fr) minmax(9rem,1fr) "
                             "minmax(16rem,3fr)").classes("w-full gap-x-4 gap-y-1").mark("entities-grid"):
            for key in ("col.name", "col.type", "col.phase", "col.last_seen", "col.id"):
                ui.label(ctx.text(key)).classes("font-bold")
            for e in entities:
                name = data.display_name(e, ctx.lang)
                when = seen.get(e.id)
                shown.append({"id": e.id, "type": e.type, "phase": e.phase, "name": name,
                              "last_seen": when.isoformat() if when else ""})
                ui.link(name, ctx.entity_url(e.id))
                ui.label(type_name(ctx, e.type)).tooltip(e.type)
                ui.label(ctx.text(f"phase.{e.phase}"))
                ui.label(f"{when:%Y-%m-%d %H:%M}" if when else ctx.text("entities.never")) \
                    .classes("font-mono text-xs" if when else "text-grey-7 text-xs")  # grey-6 is 2.7:1 on white
                ui.label(e.id).classes("font-mono text-xs")

    def turn(step: int) -> None:
        state["page"] = max(1, state["page"] + step)
        results.refresh()

    async def search() -> None:
        state["q"] = box.value or ""
        state["type"] = picker.value or ""
        state["size"] = int(sizes.value or DEFAULT_PAGE_SIZE)
        state["page"] = 1  # a new search starts at its first page
        results.refresh()

    box.on("keydown.enter", search)
    picker.on_value_change(search)
    sizes.on_value_change(search)
    export.on_click(lambda: ui.download.content(
        "\ufeff" + data.to_csv(shown, ["id", "type", "phase", "name", "last_seen"]), "entities.csv", "text/csv"))
    await results()
