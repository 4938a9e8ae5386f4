"""The simulated console (NiceGUI's ``User`` over this project's pages), importable by name: test modules here are
imported without packages, so a helper must not live in a module called ``conftest`` (another folder has one)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
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

# How long a test waits for a condition of its own (a live refresh, a redraw): as patient as the simulated user
# (``simulated_user.PatientUser``, a minute), and a passing test returns at the first look that succeeds.
PATIENCE_S = 60.0


# Debian's Chromium, driven by Playwright (its own browser download does not work here). Without the
# background-networking flags it keeps trying to reach Google's hosts through a closed network.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium for the browser tests (no skip when it is missing: scripts/test.sh installs it,
    and its absence must fail)."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Debian's chromium is missing: scripts/test.sh installs it (apt-get install chromium)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


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


class DemoProcess:
    """A real ``lingang-twin demo`` process on a free port over a fresh DuckDB file, as a new user starts it: no
    energy settings of their own (``LINGANG_ENERGY_CONFIG`` unset), output kept in a file."""

    def __init__(self, db: Path, days: int = 2, speed: float = 60.0) -> None:
        self.db = db
        self.days = days
        self.speed = speed
        self.log = db.with_suffix(".log")
        self.url = ""
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 180.0) -> DemoProcess:
        """Start the process and wait (generously: CI is busy) until it answers ``/health``."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        self.url = f"http://127.0.0.1:{port}"
        # pytest's marker variable makes NiceGUI behave as under test; the server must run as in production.
        env = {k: v for k, v in os.environ.items() if k not in {"PYTEST_CURRENT_TEST", "LINGANG_ENERGY_CONFIG"}}
        env["PYTHONUNBUFFERED"] = "1"
        with self.log.open("wb") as sink:  # a file, not a pipe: a chatty server never blocks on it
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "lingang_twin.cli", "demo", "--db", str(self.db), "--days", str(self.days),
                 "--speed", str(self.speed), "--port", str(port)],
                stdout=sink, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"demo exited {self.proc.returncode}: {self.output()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"demo did not answer /health within {timeout_s:.0f} s: {self.output()[-2000:]}")
            time.sleep(0.2)

    def output(self) -> str:
        """Everything the process printed so far."""
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def admin_password(self) -> str:
        """The administrator's password the demo printed once ("user admin, password …")."""
        found = re.search(r"user admin, password (\S+)", self.output())
        assert found, self.output()[-3000:]
        return found.group(1)

    def stop(self) -> None:
        """Terminate the process (kill it if it does not stop within 20 s)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
