"""Real server processes: ``lingang-twin serve`` started as a subprocess on a free port."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A ``lingang-twin serve`` process over one DuckDB file."""

    def __init__(self, db: Path, args: tuple[str, ...] = ("serve",), env: dict[str, str] | None = None) -> None:
        self.db = db
        self.env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = db.with_suffix(".log")

    def start(self, timeout: float = 90.0) -> Server:
        cmd = [sys.executable, "-m", "lingang_twin.cli", *self.args, "--db", str(self.db), "--port", str(self.port)]
        # Files, not pipes: a chatty server must never block on a full pipe nobody reads.
        self.log = self.db.with_suffix(f".{self.port}.log")
        with self.log.open("wb") as sink:
            self.proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT,
                                         env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.output()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not answer /health in time")

    def output(self) -> str:
        """Everything the process printed so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    def admin_password(self) -> str:
        """The administrator's password the server printed once on start ("user admin, password …"): a first
        ``serve`` of a file without users, and every ``demo``."""
        found = re.search(r"user admin, password (\S+)", self.output())
        assert found, self.output()[-3000:]
        return found.group(1)

    def auth(self) -> dict[str, str]:
        """Headers of a signed-in administrator, as a user gets them: the printed password through the OAuth2
        password flow (``POST /api/v1/auth/token``), the access token as a bearer."""
        if not hasattr(self, "_auth"):
            r = httpx.post(f"{self.url}/api/v1/auth/token", timeout=30.0,
                           data={"username": "admin", "password": self.admin_password()})
            assert r.status_code == 200, r.text
            self._auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return self._auth

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM, as a service manager stops it; waits for the exit and returns the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def make(db: Path | None = None, args: tuple[str, ...] = ("serve",), env: dict[str, str] | None = None) -> Server:
        s = Server(db or tmp_path / "e2e.duckdb", args, env)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()
