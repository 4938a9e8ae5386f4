"""The operations-centre console (运营中心控制台): a NiceGUI face over the twin, served by the API's process.

``mount(app, twin, settings, packs)`` puts it under ``/console`` of the API's FastAPI app: overview, entity explorer,
entity pages, the map, the 3D twin, and every part a pack describes in its ``Pack`` (pages, overview tiles, map
layers, building metrics, entity-page panels, words; see :mod:`lingang_twin.console.registry`), drawn
generically. Everything works offline: NiceGUI ships ECharts, Leaflet and Quasar, and the map has no basemap unless
``LINGANG_TILE_URL`` names one.

Arrows: the console imports core and reaches packs only through the ``Pack`` descriptions it is handed; nothing
imports it but the wiring in :mod:`lingang_twin.app`.

NiceGUI keeps its pages in one process-wide app, so one process serves one console (the server's case).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from nicegui import app as nicegui_app
from nicegui import run, ui

from lingang_twin.console import layers
from lingang_twin.console.auth import SIGN_IN_PATH, build_sign_in, session_principal
from lingang_twin.console.i18n import MESSAGES, text
from lingang_twin.console.live import LiveHub
from lingang_twin.console.pages import entity, explorer, map, overview, twin3d
from lingang_twin.console.registry import Console, ConsolePage, PageContext, call_builder
from lingang_twin.console.shell import render
from lingang_twin.core.access import SYSTEM
from lingang_twin.core.packs import Installed, Pack, as_installed
from lingang_twin.core.twin import Twin
from lingang_twin.settings import Settings

MOUNT_PATH = "/console"
# How long a page may take to build before NiceGUI gives up with a "500 Server error" (its default: 3 s). The
# overview, the map and the energy page query the store while they build; on a busy 2-core machine that took
# longer than 3 s and a user clicking a link got an error page instead of a slow one.
PAGE_BUILD_TIMEOUT_S = 60.0


def setup(twin: Twin, settings: Settings | None = None, packs: list[Pack] | Installed | None = None, *,
          prefix: str = MOUNT_PATH, live_interval: float = 1.0, start_hub: bool = True) -> Console:
    """Register the console's pages on NiceGUI's app for ``twin`` (and the parts of ``packs``, with their
    validated configurations when ``packs`` is :class:`~lingang_twin.core.packs.Installed`); returns the console.
    ``prefix`` is where the app will be mounted ("" when NiceGUI serves it directly, as in tests)."""
    console = Console(twin, settings or Settings(), prefix, LiveHub(twin, live_interval))

    @ui.page("/", title=text("app.title", "zh"), response_timeout=PAGE_BUILD_TIMEOUT_S)
    async def overview_page() -> None:
        await render(console, "/", overview.build)

    @ui.page("/entities", title=text("app.title", "zh"), response_timeout=PAGE_BUILD_TIMEOUT_S)
    async def explorer_page(q: str = "", type: str = "", page: str = "1", size: str = "") -> None:
        # Page and size arrive as text: a hand-edited link with "page=abc" gets the first page, not an error page.
        number, per_page = explorer.as_int(page, 1), explorer.as_int(size, explorer.DEFAULT_PAGE_SIZE)
        await render(console, "/entities", lambda ctx: explorer.build(ctx, q, type, number, per_page))

    @ui.page("/entity/{entity_id}", title=text("app.title", "zh"), response_timeout=PAGE_BUILD_TIMEOUT_S)
    async def entity_page(entity_id: str) -> None:
        await render(console, "/entities", lambda ctx: entity.build(ctx, unquote(entity_id)),
                     target=f"/entity/{entity_id}")

    @ui.page("/map", title=text("app.title", "zh"), response_timeout=PAGE_BUILD_TIMEOUT_S)
    async def map_page() -> None:
        await render(console, "/map", map.build)

    @ui.page("/3d", title=text("app.title", "zh"), response_timeout=PAGE_BUILD_TIMEOUT_S)
    async def twin3d_page() -> None:
        await render(console, "/3d", twin3d.build)

    @ui.page(SIGN_IN_PATH, title=text("app.title", "zh"), response_timeout=PAGE_BUILD_TIMEOUT_S)
    async def sign_in_page(next: str = "/") -> None:
        build_sign_in(console, next)

    @nicegui_app.get("/data/map.geojson", include_in_schema=False)
    async def map_geojson(request: Request, lang: str = "zh") -> JSONResponse:
        # The map's data, for the signed-in browser only and as it may see the twin (a plain route: the page's
        # guard does not run here).
        caller = await run.io_bound(session_principal, console, request)
        if caller is None:
            return JSONResponse({"title": "Not signed in / 未登录", "status": 401}, status_code=401,
                                media_type="application/problem+json")
        seen = twin if caller is SYSTEM else twin.as_caller(caller)
        collection = await run.io_bound(layers.map_collection, seen, "en" if lang == "en" else "zh", None,
                                        layers.pack_metrics(console))
        return JSONResponse(collection)

    def page_factory(page: ConsolePage) -> None:
        async def pack_page() -> None:
            await render(console, page.path, lambda ctx: call_builder(page.builder, ctx),
                         permission=page.permission)

        ui.page(page.path, title=text("app.title", "zh"), response_timeout=PAGE_BUILD_TIMEOUT_S)(pack_page)

    console.page_factory = page_factory
    console.add_packs(as_installed(packs))
    if start_hub:
        console.hub.start()
    return console


def console_dir(settings: Settings) -> Path:
    """Where the console keeps its own files (session key, per-user choices): beside the twin's file, so that a
    server started anywhere never litters its working directory."""
    return Path(f"{settings.db}.console")


def _storage_secret(settings: Settings) -> str:
    """The key signing the console's session cookie: kept on disk so that a user's language and theme survive a
    restart (a fresh random key would forget every user)."""
    path = console_dir(settings) / "secret"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_file():
            return path.read_text(encoding="utf-8").strip()
        key = secrets.token_urlsafe(32)
        path.write_text(key, encoding="utf-8")
        path.chmod(0o600)
        return key
    except OSError:  # a read-only directory: the console still works, choices last until restart
        return secrets.token_urlsafe(32)


def mount(app: FastAPI, twin: Twin, settings: Settings, packs: list[Pack] | Installed | None = None) -> Console:
    """Serve the console from ``app`` under ``/console`` (same process, same twin as the API)."""
    from nicegui.storage import Storage

    Storage.path = console_dir(settings).resolve()
    nicegui_app.storage = Storage()  # NiceGUI reads the path when its storage is built: rebuild it
    console = setup(twin, settings, packs, prefix=MOUNT_PATH)
    console.authenticator = getattr(app.state, "authenticator", None)
    if not any(getattr(r, "path", None) == "/" for r in app.routes):
        # The server's root leads people to the console (the API's own pages stay where they are).
        app.add_api_route("/", lambda: RedirectResponse(f"{MOUNT_PATH}/"), include_in_schema=False)
    # The session cookie carries only NiceGUI's browser id (the tokens stay in this process): HttpOnly (Starlette's
    # default), SameSite=Lax (a link from elsewhere still opens the console; cross-site posts carry no cookie) and
    # Secure when the server itself speaks TLS.
    ui.run_with(app, mount_path=MOUNT_PATH, storage_secret=_storage_secret(settings), title=text("app.title", "zh"),
                show_welcome_message=False, favicon="🌐", reconnect_timeout=10.0,
                session_middleware_kwargs={"same_site": "lax", "https_only": settings.tls_cert is not None})
    return console


__all__ = ["MESSAGES", "MOUNT_PATH", "Console", "ConsolePage", "PageContext", "mount", "setup"]
