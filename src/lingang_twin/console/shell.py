"""The frame around every page: header with navigation, the district clock, language and theme switches; and the
guard that turns a failing page into a clear bilingual message instead of a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from nicegui import app, ui

from lingang_twin.console import theme
from lingang_twin.console.auth import current_principal, sign_in_url, sign_out
from lingang_twin.console.i18n import current_lang, pick
from lingang_twin.console.registry import Console, PageContext
from lingang_twin.core.access import AccessDenied
from lingang_twin.core.twin import SHANGHAI

log = logging.getLogger(__name__)

# (path, message key, icon) of the console's own pages, in navigation order; pack pages follow. Each needs
# ``CORE_PERMISSION`` (what they show is then narrowed to what the caller may see, in the core).
CORE_NAV: tuple[tuple[str, str, str], ...] = (
    ("/", "nav.overview", "dashboard"),
    ("/entities", "nav.entities", "search"),
    ("/map", "nav.map", "map"),
    ("/3d", "nav.3d", "view_in_ar"),
)
CORE_PERMISSION = "entities:read"


def clock_text(now: datetime | None = None) -> str:
    """The district clock: Asia/Shanghai wall time, whatever the server's time zone."""
    return (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def message(kind: str, body: str) -> ui.element:
    """A visible notice inside the page (not a toast: it must still be there when the user looks)."""
    # Text on its pale background at WCAG AA or better (7.6, 5.1 and 5.7 : 1; orange-10 was 3.5 : 1). In the dark
    # theme the pale card stays pale and its text turns dark (console.theme).
    colours = {"info": "bg-blue-1 text-blue-10", "warning": "bg-orange-1 text-deep-orange-10",
               "error": "bg-red-1 text-red-10"}
    card = ui.card().classes(f"w-full {colours.get(kind, '')}").props("flat bordered")
    with card, ui.row().classes("items-center no-wrap"):
        ui.icon({"info": "info", "warning": "warning", "error": "error"}.get(kind, "info"))
        ui.label(body).classes("whitespace-pre-wrap").props(f'data-testid="message-{kind}"')
    return card


def _header(console: Console, ctx: PageContext, active: str) -> None:
    lang = ctx.lang
    with ui.header(elevated=True).classes("items-center gap-2 px-4 py-2 bg-primary"):
        ui.link(ctx.text("app.title"), console.url("/")).classes("text-lg font-bold text-white no-underline mr-4")
        # Only the pages this caller may open are offered.
        if ctx.principal.can(CORE_PERMISSION):
            for path, key, icon in CORE_NAV:
                _nav_link(console.url(path), ctx.text(key), icon, path == active)
        for page in console.pages:
            if ctx.principal.can(page.permission):
                _nav_link(console.url(page.path), pick(page.title, lang), page.icon, page.path == active)
        ui.space()
        with ui.row().classes("items-center gap-1 text-white"):
            ui.icon("schedule")
            ui.label(ctx.text("app.clock")).classes("text-xs")  # no fading: white on primary is 3:1 already
            clock = ui.label(clock_text()).classes("font-mono").props('data-testid="clock"')

        def tick(now: datetime) -> None:
            clock.set_text(clock_text(now))

        ctx._unsubscribe.append(console.hub.on_tick(tick))
        dark = ui.dark_mode().bind_value(app.storage.user, "dark")
        ui.switch(ctx.text("theme.dark")).bind_value(dark).props("dense color=white keep-color") \
            .classes("text-white").tooltip(ctx.text("theme.tip"))
        ui.button(ctx.text("lang.switch"), on_click=_switch_language).props(
            'flat dense no-caps color=white data-testid="lang-switch"').tooltip(ctx.text("lang.switch.tip"))
        if console.authenticator is not None:
            # Icons only: the header must stay one line wide in English too (a wrapped header covers the pages'
            # top, the 3D scene's included). Who is signed in shows on hover.
            ui.icon("account_circle", color="white").props('data-testid="signed-in-as"') \
                .tooltip(ctx.tr(f"已登录：{ctx.principal.subject}", f"Signed in as {ctx.principal.subject}"))
            ui.button(icon="logout", on_click=lambda: sign_out(console)).props(
                'flat dense round color=white data-testid="sign-out"').tooltip(ctx.tr("退出登录", "Sign out"))


def _nav_link(url: str, label: str, icon: str, active: bool) -> None:
    link = ui.link(target=url).classes("no-underline text-white px-2 py-1 rounded"
                                       + (" bg-white/20 font-bold" if active else ""))
    with link, ui.row().classes("items-center gap-1 no-wrap"):
        ui.icon(icon)
        ui.label(label)


def page_title(console: Console, ctx: PageContext, active: str) -> str:
    """The browser tab's title in the user's language: the page's entry in the navigation, then the console's
    name (so that tabs and history say which page they hold)."""
    label = next((ctx.text(key) for path, key, _ in CORE_NAV if path == active), None)
    if label is None:
        label = next((pick(p.title, ctx.lang) for p in console.pages if p.path == active), None)
    return f"{label} · {ctx.text('app.title')}" if label else ctx.text("app.title")


def _switch_language() -> None:
    app.storage.user["lang"] = "en" if current_lang() == "zh" else "zh"
    ui.navigate.reload()


async def render(console: Console, active: str, body: Callable[[PageContext], Awaitable[None] | None], *,
                 permission: str = CORE_PERMISSION, target: str | None = None) -> None:
    """Build a whole page: the frame, then ``body(ctx)`` in the content area, for the signed-in caller (someone
    not signed in is sent to the sign-in page, returning to ``target`` — default ``active`` — afterwards; a caller
    without ``permission`` gets a notice instead of the page). An exception in ``body`` becomes a bilingual
    message; the traceback goes to the server log, never to the screen."""
    principal = await current_principal(console)
    if principal is None:
        ui.navigate.to(sign_in_url(console, target or active))
        return
    ctx = PageContext(console, current_lang(), principal=principal)
    ui.query("html").props(f'lang="{"zh-CN" if ctx.lang == "zh" else "en"}"')
    ui.page_title(page_title(console, ctx, active))
    ui.context.client.on_delete(ctx.close)
    theme.install()
    _header(console, ctx, active)
    with ui.column().classes("w-full max-w-screen-xl mx-auto p-4 gap-4"):
        if not principal.can(permission):
            message("warning", ctx.tr(f"您的账户无权查看此页（需要权限 {permission}）",
                                      f"Your account may not open this page (it needs {permission})"))
            return
        try:
            result = body(ctx)
            if result is not None:
                await result
        except AccessDenied as err:
            message("warning", ctx.tr(f"您的账户无权查看此内容：{err.permission}",
                                      f"Your account may not see this: {err.permission}"))
        except Exception as err:
            if ui.context.client.is_deleted:  # the browser left (or gave up) while the page was being built
                log.info("console page %s abandoned while building: %s", active, _short(err))
                return
            log.exception("console page %s failed", active)
            message("error", ctx.text("error.page", error=_short(err)))


def _short(err: Exception) -> str:
    """One line about an error: its message, not its traceback."""
    line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return line[:300]
