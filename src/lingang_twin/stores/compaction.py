"""Compaction of the DuckDB observations table: the newest readings rewritten in ``(series_id, ts)`` order.

Appends arrive in time order with every meter in each batch, so without this every storage block holds every
meter and a one-meter query reads the whole table (52 ms for a 35 M-row year; 3-10 ms after). Only the part newer
than the previous compaction's newest reading (the *watermark*, kept in ``store_meta``) is rewritten, so the cost
stays proportional to what arrived; late readings older than that stay where they are (few, and still correct).
DuckDB-specific: a PostgreSQL store orders its table by an index instead.

Off the writers' path (issue 16): a compaction is a series of short *steps*, each its own transaction on a
connection of its own: the readings of a run of series in ``(watermark, newest]`` are deleted (``RETURNING``
them), sorted and inserted again. DuckDB runs appends beside it — "appends never conflict, even on the same
table"; two transactions that update or delete one row do, so a step holds the store's *rewrite lock*, which
corrections and deletions take too. Appends never wait for it. Readers see each step whole or not at all (the
same rows, moved), so every answer stays the same while it runs. Steps follow the series order, so the rewritten
part ends up sorted by ``(series_id, ts)`` as when it was one statement. If the process stops half way, the
watermark has not moved and the next compaction rewrites the range again (sorted rows stay sorted).

With ``background=True`` the step runs on a thread of its own, started when the first compaction is due; off, the
append that crosses ``rows`` runs it before returning (the old behaviour, deterministic for tests).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, suppress

import duckdb
import pyarrow as pa

from lingang_twin.core.errors import StoreError

log = logging.getLogger(__name__)

DEFAULT_COMPACT_ROWS = 2_000_000  # ~0.3 s of rewriting per 2 M readings (docs/decisions.md, 4)
DEFAULT_STEP_ROWS = 250_000  # readings rewritten per step (one transaction): a few ms of any one lock


class Compaction:
    """The watermark and the count of readings appended since; ``rows``: compact once that many arrived (0: off).

    ``con`` is a connection of the compaction's own (a cursor of the store's database); ``rewrite_lock`` is held
    by each step and by every writer that updates or deletes readings."""

    def __init__(self, con: duckdb.DuckDBPyConnection, rows: int, *,
                 rewrite_lock: AbstractContextManager[object], background: bool = False,
                 step_rows: int = DEFAULT_STEP_ROWS) -> None:
        self.con = con
        self.rows = rows
        self.step_rows = step_rows
        self.background = background
        self._rewrite_lock = rewrite_lock
        meta = con.execute("SELECT value FROM store_meta WHERE key = 'compacted_to_ts'").fetchall()
        self.watermark: int | None = int(meta[0][0]) if meta else None
        self.unsorted = int(con.execute(
            f"SELECT count(*) FROM observations WHERE {self.newer_than_watermark()}").fetchall()[0][0])
        self.steps = 0  # steps committed since the store opened (tests, benchmarks)
        self.last_error: str | None = None  # the last background failure (it is retried on the next trigger)
        self._run_lock = threading.Lock()  # one compaction at a time: the thread's, or compact()'s
        self._due = threading.Condition()
        self._pending = False
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    def newer_than_watermark(self) -> str:
        """The SQL condition of readings not compacted yet."""
        return "TRUE" if self.watermark is None else f"ts > {int(self.watermark)}"

    def appended(self, inserted: int) -> None:
        """After an append committed: compact once enough has arrived (on the thread, or right here).

        A trigger, not a ledger: late readings older than the watermark count too, which only brings the next
        compaction a little earlier."""
        if not self.rows:
            return
        with self._due:
            self.unsorted += inserted
            if self.unsorted < self.rows:
                return
        if not self.background:
            self.run()
            return
        with self._due:
            if self._stopping:
                return
            self._pending = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="lingang-compaction", daemon=True)
                self._thread.start()
            self._due.notify_all()

    def _loop(self) -> None:
        """The background thread: one compaction per trigger, until :meth:`stop`."""
        while True:
            with self._due:
                while not self._pending and not self._stopping:
                    self._due.wait()
                if self._stopping:
                    return
                self._pending = False
                self._busy = True
            try:
                self.run()
                self.last_error = None
            except Exception as err:  # kept and logged; the rows are intact (each step is a transaction)
                self.last_error = repr(err)
                log.exception("background compaction failed; it is retried on the next trigger")
            finally:
                with self._due:
                    self._busy = False
                    self._due.notify_all()

    def wait_idle(self) -> None:
        """Return once no background compaction is due or running."""
        with self._due:
            while (self._pending or self._busy) and not self._stopping:
                self._due.wait()

    def stop(self) -> None:
        """Stop the thread (a step under way completes first; the rest waits for the next open)."""
        with self._due:
            self._stopping = True
            self._due.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._run_lock, suppress(duckdb.Error):  # a compact() in another thread finishes its step first
            self.con.close()

    def run(self) -> int:
        """Rewrite the readings newer than the watermark in ``(series_id, ts)`` order, step by step; returns how
        many were rewritten."""
        with self._run_lock:
            if self._stopping:
                return 0
            try:
                return self._run()
            except duckdb.Error as err:
                raise StoreError(f"compaction failed, every reading is intact: {err} / 数据整理失败") from err

    def _run(self) -> int:
        counted = self.unsorted
        cond = self.newer_than_watermark()
        newest, n = self.con.execute(f"SELECT max(ts), count(*) FROM observations WHERE {cond}").fetchall()[0]
        if not n:
            return 0
        span = f"{cond} AND ts <= {int(newest)}"
        moved = 0
        for first, last in self._plan(span):
            if self._stopping:
                return moved  # the watermark stays: the next compaction covers this range again
            moved += self._step(span, first, last)
        self._commit_watermark(int(newest))
        with self._due:
            self.unsorted = max(0, self.unsorted - counted)
        return moved

    def _plan(self, span: str) -> Iterator[tuple[int, int]]:
        """Runs of consecutive series holding about ``step_rows`` readings of ``span`` each."""
        counts = self.con.execute(f"SELECT series_id, count(*) FROM observations WHERE {span} "
                                  "GROUP BY series_id ORDER BY series_id").fetchall()
        first: int | None = None
        total = 0
        for sid, k in counts:
            if first is None:
                first = int(sid)
            total += int(k)
            if total >= self.step_rows:
                yield first, int(sid)
                first, total = None, 0
        if first is not None:
            yield first, int(counts[-1][0])

    def _step(self, span: str, first: int, last: int) -> int:
        """One transaction: the readings of series ``first``…``last`` in ``span`` deleted and inserted sorted."""
        con = self.con
        with self._rewrite_lock:
            con.begin()
            try:
                rows = con.sql(f"DELETE FROM observations WHERE {span} AND series_id BETWEEN $a AND $b "
                               "RETURNING series_id, ts, value", params={"a": first, "b": last}).to_arrow_table()
                ordered: pa.Table = rows.sort_by([("series_id", "ascending"), ("ts", "ascending")])
                con.register("compact_step", ordered)
                con.execute("INSERT INTO observations SELECT series_id, ts, value FROM compact_step")
                con.unregister("compact_step")
                con.commit()
            except BaseException:
                con.rollback()
                raise
        self.steps += 1
        return ordered.num_rows

    def _commit_watermark(self, newest: int) -> None:
        con = self.con
        con.begin()
        try:
            con.execute("DELETE FROM store_meta WHERE key = 'compacted_to_ts'")
            con.execute("INSERT INTO store_meta VALUES ('compacted_to_ts', ?)", [str(newest)])
            con.commit()
        except BaseException:
            con.rollback()
            raise
        self.watermark = newest
