"""The simulated console (NiceGUI's ``User`` over this project's pages), importable by name: test modules here are
imported without packages, so a helper must not live in a module called ``conftest`` (another folder has one)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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


@asynccontextmanager
async def simulated_console(twin: Twin, packs: list[Pack] | None = None) -> AsyncIterator[tuple[User, Console]]:
    """The console's pages for ``twin`` served by NiceGUI's app in-process, and a simulated user.

    Like ``nicegui.testing.user_simulation``, but the pages are registered by :func:`lingang_twin.console.setup`
    for this test's twin. The live hub's timer is not started: tests call ``console.hub.tick()`` themselves, so
    a live update is asserted deterministically."""
    with nicegui_reset_globals():
        os.environ["NICEGUI_USER_SIMULATION"] = "true"
        try:
            console = setup(twin, Settings(), PACKS if packs is None else packs, prefix="", start_hub=False)
            ui.run(storage_secret="simulated secret", show_welcome_message=False)
            async with core.app.router.lifespan_context(core.app), httpx.AsyncClient(
                    transport=httpx.ASGITransport(core.app), base_url="http://test") as client:
                yield PatientUser(client), console
        finally:
            os.environ.pop("NICEGUI_USER_SIMULATION", None)
            ui.navigate = Navigate()
            ui.notify = notify
            ui.download = download
