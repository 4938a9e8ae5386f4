"""Evidence on slices (the full runs are benchmarks/bench_quality_evidence.py): ``check_meters`` against the
labelled faults that ship with pvanalytics, loaded into a real DuckDB twin. Floors, not exact numbers: each would
fail if a detector stopped finding the labelled faults or started firing elsewhere."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from lingang_twin.app import open_twin
from lingang_twin.core.twin import Twin

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_quality_evidence.py"


@pytest.fixture(scope="module")
def ev() -> ModuleType:
    """The benchmark module (loading, mapping and scoring live there, once)."""
    spec = importlib.util.spec_from_file_location("bench_quality_evidence", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def twin(tmp_path: Path) -> Iterator[Twin]:
    twin = open_twin(tmp_path / "evidence.duckdb")
    yield twin
    twin.close()


def _set(ev: ModuleType, name: str) -> object:
    return next(s for s in ev.SETS if s.name == name)


def test_stale_slice_is_found_as_stuck(ev: ModuleType, twin: Twin) -> None:
    # The first 1,000 readings (~10 days) hold two labelled stale spells: 60 readings (15 h) and 100 (25 h).
    spec = _set(ev, "inv2173-stale")
    findings, labels, step, seconds = ev.run_set(twin, spec, rows=slice(0, 1000))
    s = ev.score(findings, labels, ("stuck",), step)
    assert s.events == 2 and s.readings == 160
    assert s.precision == 1.0 and s.recall == 1.0
    assert s.reading_precision >= 0.9 and s.reading_recall >= 0.9
    assert seconds < 5


def test_missing_readings_are_gaps(ev: ModuleType, twin: Twin) -> None:
    spec = _set(ev, "inv2173-missing")
    findings, labels, step, _ = ev.run_set(twin, spec, rows=slice(0, 1000))
    s = ev.score(findings, labels, ("gap",), step, timedelta(hours=1))
    assert s.events >= 3
    assert s.precision >= 0.9 and s.recall >= 0.9 and s.reading_recall >= 0.9
    # PV output is zero at night, yet the zeros are not called stuck (interval zeros never are).
    assert not [f for f in findings if f.kind == "stuck"]


def test_outliers_floor(ev: ModuleType, twin: Twin) -> None:
    # 500 readings with 6 labelled outliers: the two negative ones are certain; nothing else may be called a spike.
    spec = _set(ev, "inv7539-outliers")
    findings, labels, step, _ = ev.run_set(twin, spec)
    s = ev.score(findings, labels, ("spike", "negative"), step)
    assert s.events == 6
    assert s.precision == 1.0 and s.recall is not None and s.recall >= 0.3


def test_label_events_and_scores(ev: ModuleType) -> None:
    import pandas as pd

    idx = pd.date_range("2026-03-02", periods=8, freq="15min", tz="Asia/Shanghai")
    labels = pd.Series(np.array([0, 1, 1, 0, 0, 1, 0, 0], dtype=bool), index=idx)
    step = timedelta(minutes=15)
    events = ev.label_events(labels, step)
    assert [(a, b) for a, b in events] == [(idx[1].to_pydatetime(), idx[3].to_pydatetime()),
                                           (idx[5].to_pydatetime(), idx[6].to_pydatetime())]
    from lingang_twin.energy.quality import Finding

    hit = Finding("stuck", "m", idx[2].to_pydatetime(), idx[4].to_pydatetime(), "medium", "", "")
    miss = Finding("stuck", "m", idx[7].to_pydatetime(), idx[7].to_pydatetime() + step, "medium", "", "")
    s = ev.score([hit, miss], labels, ("stuck",), step)
    assert (s.events, s.findings, s.event_tp, s.finding_tp) == (2, 2, 1, 1)
    assert (s.readings, s.flagged, s.reading_tp) == (3, 3, 1)
