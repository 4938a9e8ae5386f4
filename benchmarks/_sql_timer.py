"""A diagnostic wrapper around a DuckDB connection that times every statement (used for breakdowns only).

``with SqlTimer(store) as timer: ...`` swaps ``store.con`` for a proxy for the duration of the block and puts
it back afterwards; nothing in ``src/`` is changed. Timings are wall-clock around ``execute`` / ``sql`` /
``executemany`` / ``register`` / ``begin`` / ``commit`` plus the Arrow or row fetch of ``sql(...)`` results.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from typing import Any


def _label(sql: str) -> str:
    text = re.sub(r"\s+", " ", sql).strip()
    return text[:110] + ("…" if len(text) > 110 else "")


class _Relation:
    def __init__(self, rel: Any, timer: SqlTimer, label: str) -> None:
        self._rel, self._timer, self._label = rel, timer, label

    def to_arrow_table(self) -> Any:
        t0 = time.perf_counter()
        out = self._rel.to_arrow_table()
        self._timer.add(self._label + " [run+to_arrow]", time.perf_counter() - t0)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rel, name)


class _Con:
    def __init__(self, con: Any, timer: SqlTimer) -> None:
        self._con, self._timer = con, timer

    def _timed(self, label: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self._timer.add(label, time.perf_counter() - t0)

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        self._timer.statements.append((sql, args, kwargs))
        label = _label(sql)
        cur = self._timed(label, self._con.execute, sql, *args, **kwargs)
        return _Cursor(cur, self._timer, label)

    def executemany(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        return self._timed(_label(sql), self._con.executemany, sql, *args, **kwargs)

    def sql(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        self._timer.statements.append((sql, args, kwargs))
        label = _label(sql)
        return _Relation(self._timed(label + " [bind]", self._con.sql, sql, *args, **kwargs), self._timer, label)

    def register(self, name: str, obj: Any) -> Any:
        return self._timed(f"register({name})", self._con.register, name, obj)

    def unregister(self, name: str) -> Any:
        return self._timed(f"unregister({name})", self._con.unregister, name)

    def begin(self) -> Any:
        return self._timed("BEGIN", self._con.begin)

    def commit(self) -> Any:
        return self._timed("COMMIT", self._con.commit)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


class _Cursor:
    def __init__(self, cur: Any, timer: SqlTimer, label: str) -> None:
        self._cur, self._timer, self._label = cur, timer, label

    def fetchall(self) -> Any:
        t0 = time.perf_counter()
        out = self._cur.fetchall()
        self._timer.add(self._label + " [fetchall]", time.perf_counter() - t0)
        return out

    def fetchone(self) -> Any:
        return self._cur.fetchone()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cur, name)


class SqlTimer:
    """Collects ``label -> [seconds, calls]`` while installed on a store."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
        self.statements: list[tuple[str, tuple, dict]] = []  # (sql, args, kwargs) of execute/sql calls
        self._orig: Any = None

    def add(self, label: str, seconds: float) -> None:
        entry = self.totals[label]
        entry[0] += seconds
        entry[1] += 1

    def __enter__(self) -> SqlTimer:
        self._orig = self.store.con
        self.store.con = _Con(self._orig, self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.store.con = self._orig

    def total(self) -> float:
        return sum(v[0] for v in self.totals.values())

    def rows(self, runs: int = 1) -> list[tuple[str, float, int]]:
        """(label, ms per run, calls per run), slowest first."""
        out = [(k, v[0] / runs * 1e3, int(v[1] // runs)) for k, v in self.totals.items()]
        return sorted(out, key=lambda r: -r[1])
