"""Import errors name where the problem is — CSV line and column, Parquet row and column — and never quote the
file's content (issues 9 and 10.10). In process, with the real reader and a real DuckDB twin."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lingang_fixtures import M_WATER, lingang_layout
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.twin import Twin
from lingang_twin.interchange import (
    append_batches,
    locate,
    read_observation_csv,
    read_observation_table,
    table_batches,
)

SECRET = "SECRET-7Q"


def _import(twin: Twin, path: Path, kind: str) -> ValidationError:
    table = read_observation_table(path, kind)
    try:
        append_batches(twin, table_batches(table), "reject")
    except ValidationError as err:
        return locate(err, path, kind, table)
    raise AssertionError("the import was accepted")


def test_parquet_rows_are_named_by_row_and_column(file_twin: Twin, tmp_path: Path) -> None:
    file_twin.upsert(lingang_layout())
    path = tmp_path / "r.parquet"
    pq.write_table(pa.table({
        "entity_id": [M_WATER, M_WATER, f"urn:ngsi-ld:Meter:{SECRET}"],
        "attribute": ["reading"] * 3,
        "observed_at": ["2024-05-01T00:00:00+08:00", "2024-05-01T00:15:00+08:00", "2024-05-01T00:30:00+08:00"],
        "value": [1.0, 2.0, 3.0]}), path)
    err = _import(file_twin, path, "parquet")
    assert str(err).startswith("entity_id: row 3, column 1 (entity_id): no such entity")
    assert SECRET not in str(err)
    assert "reading" not in file_twin.store.series_of(M_WATER)  # nothing written


@pytest.mark.parametrize(("row", "where", "rule"), [
    (f"{M_WATER},reading,2024-05-01T01:00:00+08:00,-{5}", "line 3, column 4 (value)", "negative-reading"),
    (f"{M_WATER},reading,{SECRET},1", "line 3, column 3 (observed_at)", "datetime-format"),
    (f"{M_WATER},{SECRET}!,2024-05-01T01:00:00+08:00,1", "line 3, column 2 (attribute)", "attribute-name"),
    (f"{M_WATER},reading,2024-05-01T00:00:00+08:00,9", "line 3, column 4 (value)", "conflicting-value"),
])
def test_csv_errors_from_validation_and_the_store_name_line_and_column(file_twin: Twin, tmp_path: Path, row: str,
                                                                      where: str, rule: str) -> None:
    file_twin.upsert(lingang_layout())
    path = tmp_path / "r.csv"
    path.write_text(f"entity_id,attribute,observed_at,value\n{M_WATER},reading,2024-05-01T00:00:00+08:00,1\n"
                    f"{row}\n", encoding="utf-8")
    err = _import(file_twin, path, "csv")
    assert err.rule == rule and where in str(err) and SECRET not in str(err), str(err)


def test_csv_header_and_encoding_errors_say_line_1(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as err:
        read_observation_csv(b"entity_id,attribute,when,value\n")
    assert err.value.rule == "csv-columns" and "line 1" in str(err.value) and "column(s) [3]" in str(err.value)
    with pytest.raises(ValidationError) as err:
        read_observation_csv(b"entity_id,attribute,observed_at,value\nm,reading,x,1\n\xff\xfe,reading,x,1\n")
    assert err.value.rule == "csv-encoding" and "line 3" in str(err.value) and "xff" not in str(err.value)
