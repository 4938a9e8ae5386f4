"""Store implementations of the core's store contract (:class:`lingang_twin.core.store.Store`)."""

from __future__ import annotations

from pathlib import Path

from lingang_twin.stores.duckdb_store import DuckDBStore


def open_store(url: str | Path | None = None) -> DuckDBStore:
    """Open a store by location: a file path (``*.duckdb``), ``duckdb:///path``, or ``None``/``:memory:``."""
    if url is None or str(url) == ":memory:":
        return DuckDBStore(None)
    text = str(url)
    if text.startswith("duckdb://"):
        text = text[len("duckdb://"):]
    return DuckDBStore(text)
