"""Console fixtures: a demo twin, a simulated browser over the console (NiceGUI's ``User``), and — for the browser
tests — a real ``lingang-twin demo`` server process driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from console_fixtures import DemoProcess, simulated_console
from nicegui.testing import User

from lingang_twin.app import open_twin
from lingang_twin.console import Console
from lingang_twin.core.twin import Twin
from lingang_twin.demo import LiveSimulator, build_demo

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo twin with one day of history, built once per session (about 2 s)."""
    path = tmp_path_factory.mktemp("console") / "demo.duckdb"
    twin = open_twin(path)
    build_demo(twin, days=1)
    # The pages speak of "today" by the wall clock: right after midnight today would hold no reading yet, so the
    # simulator runs one hour ahead — the tests then see the same kind of data at any time of day.
    LiveSimulator(twin).step(datetime.now(SHANGHAI) + timedelta(hours=1))
    twin.close()
    return path


@pytest.fixture
def demo_twin(demo_db: Path, tmp_path: Path) -> Iterator[Twin]:
    """The demo twin, a copy of its own for one test (4 MB, copied in milliseconds): what a test writes — a car
    park, a building without a footprint — cannot change what the next test counts, in whatever order they run."""
    copy = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db, copy)  # closed and checkpointed by every user, so the file alone is the whole twin
    twin = open_twin(copy)
    yield twin
    twin.close()


@pytest_asyncio.fixture
async def console_user(demo_twin: Twin) -> AsyncIterator[tuple[User, Console]]:
    """A simulated user on the console over the demo twin."""
    async with simulated_console(demo_twin) as pair:
        yield pair


@pytest.fixture(scope="session")
def new_user_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoProcess]:
    """``lingang-twin demo --days 2`` as a new user runs it (no energy settings of their own), shared by the
    browser walkthrough and the screenshot script's test; its output must hold no traceback."""
    demo = DemoProcess(tmp_path_factory.mktemp("new-user-demo") / "demo.duckdb", days=2).start()
    try:
        yield demo
    finally:
        demo.stop()
    assert "Traceback" not in demo.output(), demo.output()[-3000:]
