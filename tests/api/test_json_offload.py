"""Large JSON readings bodies are read in a child process (issue 10.7): the same stored rows and the same errors
(item index, field, rule) as the worker-thread path, which reads small bodies.

Two real apps over two real DuckDB files holding the same layout: one reads every body in its worker thread
(``parse_workers=0``), the other every body in a real child process (``parse_offload_bytes=0``). Each body of the
table goes to both; the answers must be equal and so must everything stored afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from json_reading_cases import CASES, MAX_ITEMS, day, reading
from lingang_fixtures import M_ELEC, M_ELEC_SUB, M_WATER, lingang_layout
from lingang_twin.api import create_app
from lingang_twin.api.parse_pool import ParsePool
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.twin import Twin
from lingang_twin.json_readings import BodyError, readings_from_json
from lingang_twin.settings import Settings
from lingang_twin.stores.duckdb_store import DuckDBStore

URL = "/api/v1/observations"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=8)))


def make_client(tmp_path: Path, name: str, workers: int, offload_bytes: int) -> Iterator[TestClient]:
    twin = Twin(DuckDBStore(tmp_path / f"{name}.duckdb"), clock=lambda: NOW)  # the horizon's message names now
    twin.upsert(lingang_layout())
    app = create_app(twin, Settings(db=tmp_path / f"{name}.duckdb", max_body_bytes=1024 * 1024,
                                    max_batch_items=MAX_ITEMS, parse_workers=workers,
                                    parse_offload_bytes=offload_bytes))
    with TestClient(app) as client:
        client.twin = twin  # type: ignore[attr-defined]
        yield client
    twin.close()


@pytest.fixture
def thread_api(tmp_path: Path) -> Iterator[TestClient]:
    yield from make_client(tmp_path, "thread", workers=0, offload_bytes=0)


@pytest.fixture
def child_api(tmp_path: Path) -> Iterator[TestClient]:
    yield from make_client(tmp_path, "child", workers=1, offload_bytes=0)


def stored(api: TestClient) -> list[dict[str, Any]]:
    """Every stored reading of every meter (raw read, one page)."""
    r = api.get(URL, params={"attribute": "reading", "type": "Meter", "limit": 100_000})
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


def test_child_path_answers_and_stores_exactly_as_the_thread_path(thread_api: TestClient,
                                                                   child_api: TestClient) -> None:
    pool: ParsePool = child_api.app.state.parse_pool  # type: ignore[attr-defined]
    for name, body in CASES:
        a = thread_api.post(URL, content=body, headers={"content-type": "application/json"})
        b = child_api.post(URL, content=body, headers={"content-type": "application/json"})
        assert (b.status_code, b.headers["content-type"], b.json()) == \
               (a.status_code, a.headers["content-type"], a.json()), name
        if name.startswith("good"):
            assert a.status_code == 200, (name, a.text)
        elif "item" in name:  # the named item, not the first one, is blamed
            assert a.status_code == 422 and a.json()["index"] == int(name.rsplit(" ", 1)[1]), (name, a.text)
        assert stored(child_api) == stored(thread_api), name
    assert pool.pids(), "no child process read the bodies"
    assert thread_api.app.state.parse_pool.pids() == []  # type: ignore[attr-defined]
    # Independent oracle for what is stored: the good bodies' values, by hand (Wh sent, kWh stored).
    values: dict[str, list[float]] = {}
    for d in stored(child_api):
        values.setdefault(d["entity_id"], []).append(d["value"])
    assert sorted(values[M_ELEC_SUB]) == [1.0 + i for i in range(96)]
    assert sorted(values[M_WATER]) == [0.25 + i for i in range(40)]
    assert sorted(values[M_ELEC]) == pytest.approx(sorted([(1500 + k) / 1000 for k in range(1, 9)] + [3.0, 4.25]))
    assert len(values) == 3


def test_a_killed_child_costs_only_speed(child_api: TestClient) -> None:
    pool: ParsePool = child_api.app.state.parse_pool  # type: ignore[attr-defined]
    pool.start()
    (first,) = pool.pids()
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _alive(first):
        time.sleep(0.05)
    r = child_api.post(URL, json=day(M_WATER, 12, 2.0))
    assert r.status_code == 200 and r.json()["inserted"] == 12, r.text
    assert sorted(d["value"] for d in stored(child_api)) == [2.0 + i for i in range(12)]
    (second,) = pool.pids()
    assert second != first
    r = child_api.post(URL, json=day(M_WATER, 12, 2.0))  # the new child reads the next body
    assert r.json()["duplicates"] == 12


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][0] != "Z"
    except OSError:
        return False


def _outcome(read: Any) -> Any:
    """What a reader gives for a body: the batch's rows, or the error's fields."""
    try:
        return ("rows", read().table.to_pylist())
    except ValidationError as err:
        return ("invalid", err.to_dict(), str(err))
    except BodyError as err:
        return ("body", err.status, err.rule, err.field, err.detail)


ITEM_VALUES = st.one_of(st.floats(allow_nan=False), st.integers(-(10**20), 10**20), st.booleans(), st.none(),
                        st.text(max_size=5))
ITEMS = st.one_of(
    st.builds(lambda e, m, v: reading(e, m, v), st.sampled_from([M_WATER, M_ELEC, "urn:ngsi-ld:Meter:x y", "m"]),
              st.integers(0, 2000), ITEM_VALUES),
    st.builds(lambda m, tz: {**reading(M_WATER, m), "observed_at": f"2024-03-01T{m % 24:02d}:00:00{tz}"},
              st.integers(0, 30), st.sampled_from(["", "Z", "+08:00", "+25:00", "-03:30"])),
    st.builds(lambda m, u: reading(M_WATER, m, unit=u), st.integers(0, 100), st.sampled_from(["m3", "L", "kWh", "x"])),
    st.dictionaries(st.sampled_from(["entity_id", "attribute", "observed_at", "value", "unit", "extra"]),
                    st.one_of(st.text(max_size=4), st.floats(allow_nan=False), st.none()), max_size=5),
    st.one_of(st.integers(), st.text(max_size=3), st.lists(st.integers(), max_size=2)),
)


@pytest.fixture(scope="module")
def module_pool() -> Iterator[ParsePool]:
    pool = ParsePool(1, 0)
    yield pool
    pool.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ITEMS, max_size=12), max_items=st.integers(1, 12))
def test_child_and_thread_agree_on_any_batch(module_pool: ParsePool, rows: list[Any], max_items: int) -> None:
    raw = json.dumps(rows).encode()
    child = _outcome(lambda: asyncio.run(module_pool.readings(raw, max_items)))
    here = _outcome(lambda: readings_from_json(raw, max_items))
    assert child == here
