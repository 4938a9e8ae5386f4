"""``interchange.export_observations`` streams: chunk by chunk into CSV or Parquet, every reading once, and a
failure leaves no half file. In process, over a real DuckDB file."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lingang_fixtures import DISTRICT, M_ELEC_SUB, M_WATER
from lingang_twin.core.access import SYSTEM
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.exports import ExportCall
from lingang_twin.core.twin import Twin
from lingang_twin.interchange import export_observations

CST = timezone(timedelta(hours=8))


@pytest.fixture
def readings(file_twin: Twin) -> dict[tuple[str, str], float]:
    from lingang_fixtures import lingang_layout

    file_twin.upsert(lingang_layout())
    start = datetime(2024, 5, 1, tzinfo=CST)
    rows = [{"entity_id": m, "attribute": "reading", "observed_at": start + timedelta(minutes=15 * i, seconds=k),
             "value": float(i * 10 + k)} for k, m in enumerate((M_ELEC_SUB, M_WATER)) for i in range(101)]
    file_twin.append(rows)
    # The oracle: what was written, keyed as the file will show it.
    return {(r["entity_id"], r["observed_at"].isoformat()): r["value"] for r in rows}


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_export_in_small_chunks_writes_every_reading_once(file_twin: Twin, readings: dict, tmp_path: Path,
                                                          suffix: str) -> None:
    path = tmp_path / f"out.{suffix}"
    n = export_observations(file_twin, path, ExportCall(SYSTEM), attribute="reading", under=DISTRICT,
                            chunk_rows=17).count
    assert n == len(readings) == 202
    if suffix == "csv":
        with path.open(encoding="utf-8") as f:
            got = {(r["entity_id"], datetime.fromisoformat(r["observed_at"]).isoformat()): float(r["value"])
                   for r in csv.DictReader(f)}
        assert path.read_text(encoding="utf-8").count("entity_id") == 1  # one header for all chunks
    else:
        t = pq.read_table(path)
        got = {(e, ts.astimezone(CST).isoformat()): v for e, ts, v in
               zip(t["entity_id"].to_pylist(), t["observed_at"].to_pylist(), t["value"].to_pylist(), strict=True)}
        assert t.num_rows == 202
    assert got == readings
    assert not list(tmp_path.glob(".*.part"))


def test_a_refused_export_leaves_no_file(file_twin: Twin, readings: dict, tmp_path: Path) -> None:
    path = tmp_path / "nothing.csv"
    with pytest.raises(ValidationError):
        export_observations(file_twin, path, ExportCall(SYSTEM), attribute="reading", types=("NoSuchType",))
    assert not path.exists() and not list(tmp_path.glob(".*.part"))
