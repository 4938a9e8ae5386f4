"""API fixtures: the real app over a real DuckDB file, in process (TestClient) — no mocks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lingang_fixtures import lingang_layout
from lingang_twin.api import create_app
from lingang_twin.core.twin import Twin
from lingang_twin.settings import Settings
from lingang_twin.stores.duckdb_store import DuckDBStore


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    """A client of the API over a DuckDB file holding the small Lingang layout; body limit 64 KiB."""
    twin = Twin(DuckDBStore(tmp_path / "api.duckdb"))
    twin.upsert(lingang_layout())
    app = create_app(twin, Settings(db=tmp_path / "api.duckdb", max_body_bytes=64 * 1024, max_batch_items=200))
    with TestClient(app) as client:
        client.twin = twin  # type: ignore[attr-defined]
        yield client
    twin.close()
