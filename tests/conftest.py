"""Shared fixtures: every store implementation the contract tests run against, and a small Lingang layout."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lingang_fixtures import lingang_layout
from lingang_twin.core.twin import Twin
from lingang_twin.stores.duckdb_store import DuckDBStore

# Starlette's TestClient sends ``Host: testserver``; the API answers only configured names (api/guard.py), so the
# test session names it, as Django's test runner adds "testserver" to ALLOWED_HOSTS. Servers started by the tests
# inherit it (harmless: it is not a name anyone can point at them).
os.environ.setdefault("LINGANG_ALLOWED_HOSTS", '["testserver"]')

# A new store implementation joins the contract suite by adding one line here.
STORE_FACTORIES: dict[str, Callable[[Path], Any]] = {
    "duckdb-memory": lambda tmp: DuckDBStore(None),
    "duckdb-file": lambda tmp: DuckDBStore(tmp / "twin.duckdb"),
}


@pytest.fixture(params=sorted(STORE_FACTORIES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A fresh, empty store of each implementation."""
    s = STORE_FACTORIES[request.param](tmp_path)
    yield s
    s.close()


@pytest.fixture
def twin(store: Any) -> Twin:
    """A twin over a fresh store."""
    return Twin(store)


@pytest.fixture
def file_twin(tmp_path: Path) -> Iterator[Twin]:
    """A twin over a DuckDB file (for tests that need only one implementation)."""
    t = Twin(DuckDBStore(tmp_path / "one.duckdb"))
    yield t
    t.close()


@pytest.fixture
def lingang(twin: Twin) -> Twin:
    """The twin with the small Lingang layout loaded."""
    twin.upsert(lingang_layout())
    return twin
