"""Fixtures of the demo tests: one demo twin in a DuckDB file with two days of history, built once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from demo_fixtures import WINDOW_END, DemoTwin

from lingang_twin.core.twin import Twin
from lingang_twin.demo import build_demo
from lingang_twin.stores.duckdb_store import DuckDBStore


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoTwin]:
    """The demo layout (seed 2022) with two days of history (see ``demo_fixtures``) in a DuckDB file."""
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    twin = Twin(DuckDBStore(path))
    report = build_demo(twin, days=2, end=WINDOW_END)
    yield DemoTwin(twin, path, report)
    twin.close()
