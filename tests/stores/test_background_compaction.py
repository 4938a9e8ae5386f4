"""Compaction off the writers' path: it runs on its own thread in short steps, appends never wait for a step,
corrections do (they rewrite the same rows), and readings stay complete, unique and idempotent throughout."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from lingang_fixtures import M_ELEC, M_ELEC_SUB, M_WATER, lingang_layout
from lingang_twin.core.observations import ObservationBatch
from lingang_twin.core.twin import Twin
from lingang_twin.stores.duckdb_store import DuckDBStore

METERS = (M_ELEC, M_ELEC_SUB, M_WATER)
T0 = datetime(2024, 1, 1, tzinfo=UTC)
SLOT_US = 900 * 1_000_000
T0_US = int(T0.timestamp()) * 1_000_000


def day(d: int, level: float = 0.0) -> ObservationBatch:
    """96 quarter-hours of day ``d`` for the three meters, time-major (as a feed sends them)."""
    slots = np.repeat(np.arange(d * 96, (d + 1) * 96, dtype=np.int64), len(METERS))
    ids = pa.array(list(METERS) * 96)
    ts = pa.array(T0_US + (slots + 1) * SLOT_US, type=pa.timestamp("us", tz="UTC"))
    values = (slots % 7).astype(np.float64) + level
    return ObservationBatch.from_arrays(ids, "reading", ts, values)


@pytest.fixture
def twin(tmp_path: Path) -> Twin:
    # Steps of 100 readings: each compaction of ~300 readings is several transactions.
    store = DuckDBStore(tmp_path / "bg.duckdb", compact_rows=300, background_compaction=True)
    assert store._compaction is not None
    store._compaction.step_rows = 100
    t = Twin(store)
    t.upsert(lingang_layout())
    return t


def test_compaction_runs_on_its_thread_while_appends_go_on(twin: Twin) -> None:
    store = twin.store
    assert isinstance(store, DuckDBStore) and store._compaction is not None
    compaction = store._compaction
    runs: list[str] = []
    original = compaction._step

    def step(*args: object) -> int:
        runs.append(threading.current_thread().name)
        return original(*args)  # type: ignore[arg-type]

    compaction._step = step  # type: ignore[method-assign]
    days = 12
    for d in range(days):
        r = twin.append(day(d))
        assert (r.inserted, r.duplicates) == (288, 0)
        # Resends while compaction may be moving the same rows: still exact duplicates, never inserted twice.
        again = twin.append(day(d))
        assert (again.inserted, again.duplicates) == (0, 288)
    store.wait_compacted()
    assert runs and set(runs) == {"lingang-compaction"}  # never on the appending thread
    assert compaction.steps >= 2 and compaction.watermark is not None
    # Every reading once, every value as sent.
    rows = store.con.execute("SELECT count(*), count(DISTINCT (series_id, ts)), sum(value) FROM observations"
                             ).fetchall()[0]
    slots = np.arange(days * 96)
    assert rows[0] == rows[1] == days * 96 * 3
    assert rows[2] == pytest.approx(3 * float((slots % 7).sum()))
    daily = twin.aggregate("reading", entity_id=M_WATER, bucket="day", agg="sum")  # Shanghai days
    assert sum(daily.column("count").to_pylist()) == 96 * days
    assert sum(daily.column("value").to_pylist()) == pytest.approx(float((slots % 7).sum()))
    # The compacted part is in (series, time) order: series after series, not interleaved by time.
    order = store.con.execute("SELECT series_id, ts FROM observations WHERE ts <= ? ORDER BY rowid",
                              [compaction.watermark]).fetchall()
    runs_of_series = sum(1 for a, b in itertools.pairwise(order) if a[0] != b[0])
    assert runs_of_series < len(order) / 50  # time-major arrival would change series on every row
    twin.close()


def test_an_append_never_waits_for_a_compaction_step_but_a_correction_does(twin: Twin) -> None:
    store = twin.store
    assert isinstance(store, DuckDBStore)
    twin.append(day(0))
    done: dict[str, object] = {}

    def run(name: str, batch: ObservationBatch, policy: str) -> None:
        done[name] = twin.append(batch, on_conflict=policy)  # type: ignore[arg-type]

    with store._rewrite_lock:  # what a compaction step holds while it moves rows
        append = threading.Thread(target=run, args=("append", day(1), "reject"))
        append.start()
        append.join(timeout=60)
        assert not append.is_alive() and done["append"].inserted == 288  # type: ignore[attr-defined]
        correct = threading.Thread(target=run, args=("correct", day(0, level=0.5), "replace"))
        correct.start()
        correct.join(timeout=0.5)
        assert correct.is_alive() and "correct" not in done  # waits for the step, never collides with it
    correct.join(timeout=60)
    assert done["correct"].replaced == 288  # type: ignore[attr-defined]
    twin.close()


def test_close_stops_the_thread_and_a_reopen_finishes_the_work(twin: Twin, tmp_path: Path) -> None:
    store = twin.store
    assert isinstance(store, DuckDBStore) and store._compaction is not None
    for d in range(4):
        twin.append(day(d))
    twin.close()  # whatever step runs completes; the thread ends with the store
    thread = store._compaction._thread
    assert thread is None or not thread.is_alive()
    reopened = DuckDBStore(tmp_path / "bg.duckdb")
    assert reopened.con.execute("SELECT count(*), count(DISTINCT (series_id, ts)) FROM observations"
                                ).fetchall()[0] == (4 * 288, 4 * 288)
    reopened.compact()
    assert reopened.compact() == 0
    reopened.close()
