"""Sign-in for the console (控制台登录): who is looking at the page, and the sign-in and sign-out that decide it.

The console asks the same :class:`~lingang_twin.core.access.Authenticator` as the API (``app.state.authenticator``):
a password gives a short-lived access token and a refresh token. The tokens never reach the browser: they stay in
this process, keyed by NiceGUI's browser id, which lives in the session cookie (signed, HttpOnly, SameSite=Lax, and
Secure when the server runs behind TLS; see :func:`lingang_twin.console.mount`). A restart therefore signs everyone
out, which is the safe way round. Every page asks :func:`current_principal` before it draws anything; a page of
someone not signed in becomes the sign-in page, which sends them back where they were going.

The console's state changes travel over NiceGUI's websocket, not forms, so a cross-site form cannot reach them; the
websocket's ``Origin`` is checked by the HTTP layer (docs/security.md).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from nicegui import app, run, ui

from lingang_twin.console.i18n import current_lang
from lingang_twin.console.registry import Console
from lingang_twin.core.access import SYSTEM, AccessDenied, Principal

log = logging.getLogger(__name__)

SIGN_IN_PATH = "/sign-in"


@dataclass
class ConsoleSession:
    """The tokens of one signed-in browser (kept server-side only)."""

    access: str
    refresh: str


def _browser_id() -> str | None:
    try:
        value = app.storage.browser.get("id")
    except (AssertionError, RuntimeError, KeyError):  # outside a request: no browser
        return None
    return str(value) if value else None


def _refresh(console: Console, browser: str, session: ConsoleSession) -> Principal | None:
    authenticator = console.authenticator
    assert authenticator is not None
    try:
        return authenticator.principal_for_token(session.access)
    except AccessDenied:
        pass
    try:  # the access token expired (or was revoked): a live session gets a new one, a dead one signs out
        renewed = authenticator.refresh(session.refresh)
    except AccessDenied:
        console.sessions.pop(browser, None)
        return None
    console.sessions[browser] = ConsoleSession(renewed.access_token, renewed.refresh_token)
    return renewed.principal


async def current_principal(console: Console) -> Principal | None:
    """The caller of the page being built: :data:`SYSTEM` when the console runs without accounts (embedded, tests),
    ``None`` when nobody is signed in on this browser (or the session ended)."""
    if console.authenticator is None:
        return SYSTEM
    browser = _browser_id()
    session = console.sessions.get(browser) if browser else None
    if browser is None or session is None:
        return None
    return await run.io_bound(_refresh, console, browser, session)


def session_principal(console: Console, request: Any) -> Principal | None:
    """The caller of a plain HTTP request of the console (its data routes), from the same session cookie as its
    pages; ``None`` when not signed in."""
    if console.authenticator is None:
        return SYSTEM
    try:
        browser = request.session.get("id")
    except AssertionError:  # no session middleware: nobody can be signed in
        return None
    session = console.sessions.get(str(browser)) if browser else None
    if session is None:
        return None
    return _refresh(console, str(browser), session)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path inside the console only (``//host`` or ``https://…`` would make the
    sign-in page an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def sign_in_url(console: Console, target: str) -> str:
    """The sign-in page, returning to ``target`` afterwards."""
    return console.url(f"{SIGN_IN_PATH}?next={quote(safe_next(target), safe='/')}")


def sign_out(console: Console) -> None:
    """End this browser's session: the tokens are revoked at the authenticator and forgotten here."""
    browser = _browser_id()
    session = console.sessions.pop(browser, None) if browser else None
    if session is not None and console.authenticator is not None:
        with contextlib.suppress(AccessDenied):  # already revoked or expired: signed out either way
            console.authenticator.sign_out(session.refresh)
    ui.navigate.to(console.url(SIGN_IN_PATH))


def build_sign_in(console: Console, target: str) -> None:
    """The sign-in page: a name, a password, one button; a refusal says so in both languages without saying
    which of the two was wrong (nor whether the account exists)."""
    lang = current_lang()
    zh = lang == "zh"
    ui.page_title("登录 · 临港孪生" if zh else "Sign in · Lingang Twin")
    if console.authenticator is None:  # nothing to sign in to: the console is open
        ui.navigate.to(console.url(safe_next(target)))
        return
    with ui.card().classes("mx-auto mt-24 w-96 gap-3").props('data-testid="sign-in"'):
        ui.label("临港孪生 · 登录" if zh else "Lingang Twin · Sign in").classes("text-xl font-bold")
        name = ui.input("用户名" if zh else "User name").props('autofocus data-testid="sign-in-name"') \
            .classes("w-full")
        password = ui.input("密码" if zh else "Password", password=True) \
            .props('data-testid="sign-in-password"').classes("w-full")
        problem = ui.label("").classes("text-red-10").props('data-testid="sign-in-problem"')
        problem.set_visibility(False)

        async def submit() -> None:
            authenticator = console.authenticator
            browser = _browser_id()
            if authenticator is None or browser is None:
                return
            client = ui.context.client.request.client
            try:
                signed = await run.io_bound(authenticator.sign_in, name.value or "", password.value or "",
                                            client=client.host if client else None)
            except AccessDenied as err:
                locked = "lock" in err.message.lower() or "锁" in err.message
                problem.set_text(("账户已被暂时锁定，请稍后再试" if zh else "The account is locked for a while; "
                                  "try again later") if locked else
                                 ("用户名或密码错误" if zh else "Wrong user name or password"))
                problem.set_visibility(True)
                password.set_value("")
                return
            if signed is None:  # the server is shutting down
                return
            console.sessions[browser] = ConsoleSession(signed.access_token, signed.refresh_token)
            log.info("console sign-in: %s", signed.principal.subject)
            ui.navigate.to(console.url(safe_next(target)))

        password.on("keydown.enter", submit)
        ui.button("登录" if zh else "Sign in", on_click=submit).props('data-testid="sign-in-submit"') \
            .classes("w-full")


__all__ = ["SIGN_IN_PATH", "ConsoleSession", "build_sign_in", "current_principal", "safe_next",
           "session_principal", "sign_in_url", "sign_out"]
