"""The simulated console (NiceGUI's ``User`` over this project's pages), importable by name: test modules here are
imported without packages, so a helper must not live in a module called ``conftest`` (another folder has one)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from nicegui import core, ui
from nicegui.functions.download import download
from nicegui.functions.navigate import Navigate
from nicegui.functions.notify import notify
from nicegui.testing import User
from nicegui.testing.general import nicegui_reset_globals

from lingang_twin.app import PACKS
from lingang_twin.console import Console, setup
from lingang_twin.core.packs import Pack
from lingang_twin.core.twin import Twin
from lingang_twin.settings import Settings
from simulated_user import PatientUser

# How long a simulated user waits for what it expects to see (or to go away). NiceGUI's own default is three
# looks 0.1 s apart, which a busy CI machine misses (a language switch reloads the whole page). Waiting is for a
# condition: a test that passes returns at the first look that succeeds, so patience costs nothing there.
PATIENCE_S = 30.0


async def _patiently(look: Callable[..., Awaitable[None]], *args: Any, **kwargs: Any) -> None:
    """Repeat one look of NiceGUI's ``should_see`` / ``should_not_see`` until it holds or patience runs out."""
    kwargs["retries"] = 1  # one look each time (then NiceGUI sleeps 0.1 s before failing it)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PATIENCE_S
    while True:
        try:
            await look(*args, **kwargs)
            return
        except AssertionError:
            if loop.time() >= deadline:
                raise
            await asyncio.sleep(0.05)


class PatientUser(User):
    """NiceGUI's simulated user that waits up to :data:`PATIENCE_S` for what it should (not) see, so that no test
    depends on the machine being idle."""

    async def should_see(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Wait until the page shows an element matching the filter (NiceGUI's arguments)."""
        await _patiently(super().should_see, *args, **kwargs)

    async def should_not_see(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Wait until the page shows no element matching the filter (NiceGUI's arguments)."""
        await _patiently(super().should_not_see, *args, **kwargs)


@asynccontextmanager
async def simulated_console(twin: Twin, packs: list[Pack] | None = None,
                            prefix: str = "") -> AsyncIterator[tuple[User, Console]]:
    """The console's pages for ``twin`` served by NiceGUI's app in-process, and a simulated user.

    Like ``nicegui.testing.user_simulation``, but the pages are registered by :func:`lingang_twin.console.setup`
    for this test's twin. The live hub's timer is not started: tests call ``console.hub.tick()`` themselves, so
    a live update is asserted deterministically. The user is a :class:`PatientUser`. ``prefix`` is the mount path
    the console is told it has (the simulation itself always serves at the root)."""
    with nicegui_reset_globals():
        os.environ["NICEGUI_USER_SIMULATION"] = "true"
        try:
            console = setup(twin, Settings(), PACKS if packs is None else packs, prefix=prefix, start_hub=False)
            ui.run(storage_secret="simulated secret", show_welcome_message=False)
            async with core.app.router.lifespan_context(core.app), httpx.AsyncClient(
                    transport=httpx.ASGITransport(core.app), base_url="http://test") as client:
                yield PatientUser(client), console
        finally:
            os.environ.pop("NICEGUI_USER_SIMULATION", None)
            ui.navigate = Navigate()
            ui.notify = notify
            ui.download = download
