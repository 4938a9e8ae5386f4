"""Store implementations of the core's store contract (:class:`lingang_twin.core.store.Store`)."""

from __future__ import annotations

from pathlib import Path

from lingang_twin.stores.duckdb_store import DEFAULT_COMPACT_ROWS, DuckDBStore


def open_store(url: str | Path | None = None, *, compact_rows: int | None = None,
               background_compaction: bool = True) -> DuckDBStore:
    """Open a store by location: a file path (``*.duckdb``), ``duckdb:///path``, or ``None``/``:memory:``.
    ``compact_rows`` and ``background_compaction``: see :class:`DuckDBStore` (``None``: its default rows);
    compaction runs off the writers' path here, on a thread of its own."""
    rows = DEFAULT_COMPACT_ROWS if compact_rows is None else compact_rows
    if url is None or str(url) == ":memory:":
        return DuckDBStore(None, compact_rows=rows, background_compaction=background_compaction)
    text = str(url)
    if text.startswith("duckdb://"):
        text = text[len("duckdb://"):]
    return DuckDBStore(text, compact_rows=rows, background_compaction=background_compaction)
