"""Compaction of the DuckDB observations table: the newest readings rewritten in ``(series_id, ts)`` order.

Appends arrive in time order with every meter in each batch, so without this every storage block holds every
meter and a one-meter query reads the whole table (52 ms for a 35 M-row year; 3-10 ms after). Only the part newer
than the previous compaction's newest reading (the *watermark*, kept in ``store_meta``) is rewritten, so the cost
stays proportional to what arrived; late readings older than that stay where they are (few, and still correct).
DuckDB-specific: a PostgreSQL store orders its table by an index instead.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import duckdb

DEFAULT_COMPACT_ROWS = 2_000_000  # ~0.3 s of rewriting per 2 M readings (docs/decisions.md, 4)


class Compaction:
    """The watermark and the count of readings appended since; ``rows``: compact once that many arrived (0: off).

    ``transaction()`` opens one write transaction of the store (BEGIN … COMMIT under its write lock)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, transaction: Callable[[], AbstractContextManager[
            duckdb.DuckDBPyConnection]], rows: int) -> None:
        self._transaction = transaction
        self.rows = rows
        meta = con.execute("SELECT value FROM store_meta WHERE key = 'compacted_to_ts'").fetchall()
        self.watermark: int | None = int(meta[0][0]) if meta else None
        self.unsorted = int(con.execute(
            f"SELECT count(*) FROM observations WHERE {self.newer_than_watermark()}").fetchall()[0][0])

    def newer_than_watermark(self) -> str:
        """The SQL condition of readings not compacted yet."""
        return "TRUE" if self.watermark is None else f"ts > {int(self.watermark)}"

    def appended(self, inserted: int) -> None:
        """After an append committed: compact once enough has arrived.

        A trigger, not a ledger: late readings older than the watermark count too, which only brings the next
        compaction a little earlier."""
        if not self.rows:
            return
        self.unsorted += inserted
        if self.unsorted >= self.rows:
            self.run()

    def run(self) -> int:
        """Rewrite the readings newer than the watermark in ``(series_id, ts)`` order; returns how many."""
        with self._transaction() as con:
            cond = self.newer_than_watermark()
            newest, n = con.execute(f"SELECT max(ts), count(*) FROM observations WHERE {cond}").fetchall()[0]
            if not n:
                return 0
            con.execute(f"CREATE OR REPLACE TEMP TABLE compact_tail AS SELECT series_id, ts, value FROM observations "
                        f"WHERE {cond} ORDER BY series_id, ts")
            con.execute(f"DELETE FROM observations WHERE {cond}")
            con.execute("INSERT INTO observations SELECT * FROM compact_tail ORDER BY series_id, ts")
            con.execute("DROP TABLE compact_tail")
            con.execute("DELETE FROM store_meta WHERE key = 'compacted_to_ts'")
            con.execute("INSERT INTO store_meta VALUES ('compacted_to_ts', ?)", [str(int(newest))])
        self.watermark = int(newest)
        self.unsorted = 0
        return int(n)
