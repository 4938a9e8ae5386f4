"""The console's state and its page registry — the hook through which packs add pages.

A pack does not import the console (arrows point down): its ``Pack.hooks["console"]`` is a function that receives
``register_page`` and calls it::

    def console_pages(register_page):
        register_page("/mobility", "出行", "Mobility", build_mobility_page, icon="commute")

    def build_mobility_page(page):          # page: a PageContext (duck-typed on the pack's side)
        from nicegui import ui
        ui.label(page.tr("停车场", "Car parks"))

The builder gets a :class:`PageContext`: the twin, the user's language, ``tr(zh, en)``, ``url`` / ``entity_url``
for links, and ``live(name, compute, listener)`` to receive a shared answer from the live hub after every tick.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from lingang_twin.console.i18n import Lang, pick, text
from lingang_twin.console.live import LiveHub
from lingang_twin.core.twin import Twin
from lingang_twin.settings import Settings

PageBuilder = Callable[["PageContext"], Awaitable[None] | None]


@dataclass(frozen=True)
class ConsolePage:
    """A page in the navigation: its path (below the console's mount), title (中文, English), builder and icon."""

    path: str
    title: tuple[str, str]
    builder: PageBuilder
    icon: str = "extension"


@dataclass
class Console:
    """One console over one twin: settings, URL prefix (``/console`` when mounted), live hub and pages."""

    twin: Twin
    settings: Settings
    prefix: str
    hub: LiveHub
    pages: list[ConsolePage] = field(default_factory=list)
    page_factory: Callable[[ConsolePage], None] | None = None
    # The energy pack's deployment settings (EnergyConfig), set by the face that serves the console; its page
    # reads them. Typed loosely so that the console does not import the pack.
    energy_config: Any = None
    # ``carbon_today(twin, energy_config) -> kg | None`` from the pack that knows emission factors, if any.
    carbon_today: Any = None
    # ``energy_today(twin, energy_config, now) -> [(carrier, value, unit)] | None`` from the pack that owns the
    # carriers' units (one unit per carrier on every page), if any.
    energy_today: Any = None
    # ``panel(page, entity)`` of each pack that adds a section to entity pages (``Pack.hooks["entity_panel"]``).
    entity_panels: list[Callable[[Any, Any], Awaitable[None] | None]] = field(default_factory=list)
    # Words packs bring for the console's own tables (type and property names): key → (中文, English).
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        """An absolute URL path inside the console."""
        return f"{self.prefix}{path}" if path.startswith("/") else f"{self.prefix}/{path}"

    def register_page(self, path: str, title_zh: str, title_en: str, builder: PageBuilder,
                      icon: str = "extension") -> ConsolePage:
        """Add a page at ``path`` with a bilingual title; it joins the navigation of every page."""
        if not path.startswith("/") or path == "/":
            raise ValueError(f"a pack page needs its own absolute path, got {path!r}")
        if any(p.path == path for p in self.pages):
            raise ValueError(f"the console already has a page at {path!r}")
        page = ConsolePage(path, (title_zh, title_en), builder, icon)
        self.pages.append(page)
        if self.page_factory is not None:
            self.page_factory(page)
        return page


@dataclass
class PageContext:
    """What a page builder gets: the twin, the user's language and helpers for text, links and live data."""

    console: Console
    lang: Lang
    _unsubscribe: list[Callable[[], None]] = field(default_factory=list)

    @property
    def twin(self) -> Twin:
        """The twin the console shows."""
        return self.console.twin

    def tr(self, zh: str, en: str) -> str:
        """``zh`` or ``en`` by the user's language (for packs' own words)."""
        return pick((zh, en), self.lang)

    def text(self, key: str, **values: object) -> str:
        """A message of the console's table (:mod:`lingang_twin.console.i18n`)."""
        return text(key, self.lang, **values)

    def url(self, path: str) -> str:
        """An absolute URL path inside the console."""
        return self.console.url(path)

    def entity_url(self, entity_id: str) -> str:
        """The URL of an entity's page."""
        return self.console.url(f"/entity/{quote(entity_id, safe=':')}")

    def live(self, name: str, compute: Callable[[Twin], Any], listener: Callable[[Any], Any]) -> None:
        """Receive ``compute(twin)`` after every tick of the live hub (computed once for all open pages that use
        the same ``name``); unsubscribed when the page closes."""
        self.console.hub.add_topic(name, compute)
        self._unsubscribe.append(self.console.hub.subscribe(name, listener))

    def on_entities(self, listener: Callable[[set[str]], Any]) -> None:
        """Receive the ids of entities that changed since the last tick; unsubscribed when the page closes."""
        self._unsubscribe.append(self.console.hub.on_entities(listener))

    def close(self) -> None:
        """Drop every subscription of this page (called when the browser tab goes away)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()


async def call_builder(builder: PageBuilder, ctx: PageContext) -> None:
    """Run a builder, sync or async."""
    result = builder(ctx)
    if inspect.isawaitable(result):
        await result
