"""Console fixtures: a demo twin, a simulated browser over the console (NiceGUI's ``User``), and — for the browser
tests — a real ``lingang-twin demo`` server process driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from nicegui import core, ui
from nicegui.functions.download import download
from nicegui.functions.navigate import Navigate
from nicegui.functions.notify import notify
from nicegui.testing import User
from nicegui.testing.general import nicegui_reset_globals

from lingang_twin.app import PACKS, open_twin
from lingang_twin.console import Console, setup
from lingang_twin.core.packs import Pack
from lingang_twin.core.twin import Twin
from lingang_twin.demo import build_demo
from lingang_twin.settings import Settings


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo twin with one day of history, built once per session (about 2 s)."""
    path = tmp_path_factory.mktemp("console") / "demo.duckdb"
    twin = open_twin(path)
    build_demo(twin, days=1)
    twin.close()
    return path


@pytest.fixture
def demo_twin(demo_db: Path) -> Iterator[Twin]:
    """The demo twin, opened for one test (tests that write use entities of their own)."""
    twin = open_twin(demo_db)
    yield twin
    twin.close()


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
                yield User(client), console
        finally:
            os.environ.pop("NICEGUI_USER_SIMULATION", None)
            ui.navigate = Navigate()
            ui.notify = notify
            ui.download = download


@pytest_asyncio.fixture
async def console_user(demo_twin: Twin) -> AsyncIterator[tuple[User, Console]]:
    """A simulated user on the console over the demo twin."""
    async with simulated_console(demo_twin) as pair:
        yield pair
