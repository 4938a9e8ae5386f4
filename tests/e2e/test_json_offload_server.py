"""Large JSON readings bodies under the real server process (issue 10.7): a server that reads every body in a
child process answers and stores exactly as one that reads every body in its worker thread, and its children
never outlive it, not even a SIGKILL."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from json_reading_cases import CASES, MAX_ITEMS
from lingang_fixtures import lingang_layout
from lingang_twin.core.model import Entity

URL = "/api/v1/observations"


def children(pid: int) -> list[int]:
    """The JSON parsing processes whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(") ", 1)[1].split()
        if int(fields[1]) == pid and b"lingang_twin.json_readings" in cmdline:
            out.append(int(entry.name))
    return out


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def stored(http: httpx.Client) -> list[dict[str, Any]]:
    r = http.get(URL, params={"attribute": "reading", "type": "Meter", "limit": 100_000})
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


def test_child_parsing_server_matches_thread_parsing_server(server_factory: Callable, tmp_path: Path) -> None:
    common = {"LINGANG_MAX_BATCH_ITEMS": str(MAX_ITEMS)}
    child = server_factory(tmp_path / "child.duckdb", env={**common, "LINGANG_PARSE_OFFLOAD_BYTES": "0",
                                                            "LINGANG_PARSE_WORKERS": "2"}).start()
    thread = server_factory(tmp_path / "thread.duckdb", env={**common, "LINGANG_PARSE_WORKERS": "0"}).start()
    assert child.proc is not None and thread.proc is not None
    deadline = time.monotonic() + 120  # started by serve before it listens; generous on a busy machine
    while time.monotonic() < deadline and len(children(child.proc.pid)) < 2:
        time.sleep(0.1)
    kids = children(child.proc.pid)
    assert len(kids) == 2 and children(thread.proc.pid) == []
    layout = [Entity.model_validate(e).model_dump(mode="json", exclude_none=True) for e in lingang_layout()]
    # Each server's first start made its administrator (password printed once): both are asked signed in.
    with httpx.Client(base_url=child.url, timeout=120, headers=child.auth()) as a, \
            httpx.Client(base_url=thread.url, timeout=120, headers=thread.auth()) as b:
        for http in (a, b):
            assert http.post("/api/v1/entities:batch", json=layout).status_code == 200
        for name, body in CASES:
            if "horizon" in name:  # its message names the server's own "now", which differs between the two
                continue
            ra = a.post(URL, content=body, headers={"content-type": "application/json"})
            rb = b.post(URL, content=body, headers={"content-type": "application/json"})
            assert (ra.status_code, ra.json()) == (rb.status_code, rb.json()), name
            if name.startswith("good"):
                assert ra.status_code == 200, (name, ra.text)
        rows = stored(a)
        assert rows == stored(b) and len(rows) == 96 + 40 + 8 + 2
    assert sorted(children(child.proc.pid)) == sorted(kids)  # the same two children read every body
    child.kill9()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and any(alive(k) for k in kids):
        time.sleep(0.1)
    assert not any(alive(k) for k in kids), "a JSON parsing child outlived its server"
    assert thread.terminate() == 0
