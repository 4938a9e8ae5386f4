"""The console's state and its page registry: where the packs' parts land (pages, tiles, layers, metrics,
panels, words), rendered generically — the console knows no pack by name.

A pack does not import the console (arrows point down): it declares :class:`~lingang_twin.core.packs.
ConsolePageSpec` pages in its ``Pack`` and each builder receives a :class:`PageContext` (which satisfies the core's
``PageContext`` Protocol): the twin, the user's language, the pack's validated ``config``, ``tr(zh, en)``, ``url`` /
``entity_url`` for links, and ``live(name, compute, listener)`` to receive a shared answer from the live hub after
every tick.

Links and the mount path. NiceGUI (3.x) serves its pages below the path it is mounted at (``/console``) and adds
that path itself, in the browser, to every target that starts with ``/``: ``ui.link`` (``link.js``:
``window.path_prefix + href``), ``ui.navigate.to`` and ``ui.download`` (``nicegui.js``: ``options.prefix + path``),
where the prefix is the request's ``root_path`` (plus a proxy's ``X-Forwarded-Prefix``). So a console URL is the
path *below* the mount — ``/entity/…``, never ``/console/entity/…``, which would come out as
``/console/console/entity/…`` — and the same URL is right whether NiceGUI is mounted or serves directly. Raw
JavaScript (``window.location.href = …``, ``fetch``) gets no such help: it uses :meth:`PageContext.js_url`, which
adds the same ``window.path_prefix`` NiceGUI uses.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from lingang_twin.console.i18n import Lang, pick, text
from lingang_twin.console.live import LiveHub
from lingang_twin.core.access import SYSTEM, Authenticator, Principal
from lingang_twin.core.packs import BuildingMetric, Installed, MapLayer, Tile
from lingang_twin.core.twin import Twin
from lingang_twin.settings import Settings

PageBuilder = Callable[["PageContext"], Awaitable[None] | None]


@dataclass(frozen=True)
class ConsolePage:
    """A page in the navigation: its path (below the console's mount), title (中文, English), builder, icon, and the
    permission a caller needs to open it (and to see it in the navigation)."""

    path: str
    title: tuple[str, str]
    builder: PageBuilder
    icon: str = "extension"
    permission: str = "entities:read"


@dataclass
class Console:
    """One console over one twin: settings, the path it is mounted at (``/console``; "" when NiceGUI serves it
    directly), live hub and pages. Links do not use ``prefix``: NiceGUI adds the mount path in the browser."""

    twin: Twin
    settings: Settings
    prefix: str
    hub: LiveHub
    pages: list[ConsolePage] = field(default_factory=list)
    page_factory: Callable[[ConsolePage], None] | None = None
    # Each pack's validated configuration by pack name (validated once at start-up; ``None``: none given). Every
    # part of a pack drawn here — pages, tiles, layers, metrics, panels — receives its own pack's.
    configs: dict[str, Any] = field(default_factory=dict)
    # The packs' descriptions, each with its pack's name, in pack order.
    tiles: list[tuple[str, Tile]] = field(default_factory=list)
    layers: list[tuple[str, MapLayer]] = field(default_factory=list)
    metrics: list[tuple[str, BuildingMetric]] = field(default_factory=list)
    # ``panel(page, entity)`` of each pack that adds a section to entity pages, bound to its pack's context.
    entity_panels: list[Callable[[Any, Any], Awaitable[None] | None]] = field(default_factory=list)
    # Words packs bring for the console's own tables (type and property names): key → (中文, English).
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Who may sign in (the API's authenticator; ``None``: the console is open, every page is SYSTEM's) and the
    # signed-in browsers' tokens by NiceGUI browser id (kept in this process only: see console/auth.py).
    authenticator: Authenticator | None = None
    sessions: dict[str, Any] = field(default_factory=dict)

    def add_packs(self, installed: Installed) -> None:
        """Take in every part the ``installed`` packs describe (pages are registered through ``page_factory``)."""
        for pack in installed.packs:
            self.configs.setdefault(pack.name, installed.config(pack.name))
            for spec in pack.pages:
                self.register_page(spec.path, spec.title[0], spec.title[1], _for_pack(spec.build, pack.name),
                                   icon=spec.icon, permission=spec.permission or "entities:read")
            self.tiles.extend((pack.name, t) for t in pack.tiles)
            self.layers.extend((pack.name, layer) for layer in pack.layers)
            self.metrics.extend((pack.name, m) for m in pack.metrics)
            self.entity_panels.extend(_for_pack(panel, pack.name) for panel in pack.panels)
            if pack.words is not None:
                self.labels.update(pack.words())

    def url(self, path: str) -> str:
        """A URL inside the console, as NiceGUI's links, ``navigate.to`` and downloads want it: the path below
        the mount (NiceGUI adds the mount path in the browser; see the module's docstring)."""
        return path if path.startswith("/") else f"/{path}"

    def js_url(self, path: str) -> str:
        """A JavaScript expression for the browser URL of ``path``, for code that sets ``window.location`` or
        fetches by itself: NiceGUI's own ``window.path_prefix`` (the mount path) before :meth:`url`."""
        return f'(window.path_prefix || "") + {json.dumps(self.url(path))}'

    def register_page(self, path: str, title_zh: str, title_en: str, builder: PageBuilder,
                      icon: str = "extension", permission: str = "entities:read") -> ConsolePage:
        """Add a page at ``path`` with a bilingual title; it joins the navigation of every page whose caller
        holds ``permission``."""
        if not path.startswith("/") or path == "/":
            raise ValueError(f"a pack page needs its own absolute path, got {path!r}")
        if any(p.path == path for p in self.pages):
            raise ValueError(f"the console already has a page at {path!r}")
        page = ConsolePage(path, (title_zh, title_en), builder, icon, permission)
        self.pages.append(page)
        if self.page_factory is not None:
            self.page_factory(page)
        return page


@dataclass
class PageContext:
    """What a page builder gets: the twin, the user's language, the configuration of the pack whose page (or
    panel) it is, and helpers for text, links and live data."""

    console: Console
    lang: Lang
    _unsubscribe: list[Callable[[], None]] = field(default_factory=list)
    pack: str | None = None
    principal: Principal = SYSTEM

    @property
    def config(self) -> Any:
        """The validated configuration of the pack this context was made for (``None``: none given, or a page
        of the console's own)."""
        return None if self.pack is None else self.console.configs.get(self.pack)

    def for_pack(self, name: str) -> PageContext:
        """This page's context as seen by pack ``name`` (its configuration); subscriptions are shared, so they
        end with the page."""
        return PageContext(self.console, self.lang, self._unsubscribe, name, self.principal)

    @property
    def twin(self) -> Twin:
        """The twin as the signed-in caller may see it: every read and write of the page is checked in the core
        (:meth:`~lingang_twin.core.twin.Twin.as_caller`)."""
        if self.principal is SYSTEM:
            return self.console.twin
        return self.console.twin.as_caller(self.principal)

    def tr(self, zh: str, en: str) -> str:
        """``zh`` or ``en`` by the user's language (for packs' own words)."""
        return pick((zh, en), self.lang)

    def text(self, key: str, **values: object) -> str:
        """A message of the console's table (:mod:`lingang_twin.console.i18n`)."""
        return text(key, self.lang, **values)

    def url(self, path: str) -> str:
        """A URL inside the console for ``ui.link``, ``ui.navigate.to`` and ``ui.download`` (below the mount)."""
        return self.console.url(path)

    def js_url(self, path: str) -> str:
        """A JavaScript expression for the browser URL of ``path`` (for raw ``window.location`` / ``fetch``)."""
        return self.console.js_url(path)

    def entity_url(self, entity_id: str) -> str:
        """The URL of an entity's page."""
        return self.console.url(f"/entity/{quote(entity_id, safe=':')}")

    def live(self, name: str, compute: Callable[[Twin], Any], listener: Callable[[Any], Any]) -> None:
        """Receive ``compute(twin)`` after every tick of the live hub (computed once for all open pages that use
        the same ``name`` and see the same part of the twin); unsubscribed when the page closes.

        The answer is computed on the caller's view of the twin, once per view: two tenants never share one (it
        would show each the other's figures), while every unrestricted caller shares the system's."""
        principal = self.principal
        if principal.unrestricted:
            topic, fn = name, compute
        else:
            topic = f"{name}|{principal.tenant or ''}|{','.join(principal.entity_scope or ())}"
            scoped = self.console.twin.as_caller(principal)

            def fn(_: Twin) -> Any:
                return compute(scoped)
        self.console.hub.add_topic(topic, fn)
        self._unsubscribe.append(self.console.hub.subscribe(topic, listener))

    def on_entities(self, listener: Callable[[set[str]], Any]) -> None:
        """Receive the ids of entities that changed since the last tick; unsubscribed when the page closes."""
        self._unsubscribe.append(self.console.hub.on_entities(listener))

    def close(self) -> None:
        """Drop every subscription of this page (called when the browser tab goes away)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()


def _for_pack(part: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``part(ctx, *args)`` called with the context of pack ``name`` (so that it reads its own configuration)."""

    def bound(ctx: PageContext, *args: Any) -> Any:
        return part(ctx.for_pack(name), *args)

    return bound


async def call_builder(builder: PageBuilder, ctx: PageContext) -> None:
    """Run a builder, sync or async."""
    result = builder(ctx)
    if inspect.isawaitable(result):
        await result
