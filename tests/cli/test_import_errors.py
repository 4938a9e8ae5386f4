"""Import errors name where the problem is — CSV line and column, Parquet row and column — and never quote the
file's content (issues 9 and 10.10). In process, with the real reader and a real DuckDB twin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lingang_fixtures import M_WATER, PARCEL, lingang_layout
from lingang_twin.app import open_twin
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


# -- GeoJSON (issue 10.10): the feature (1-based) and the JSON path, never the file's values, ids or coordinates --

NEW_ID = f"urn:ngsi-ld:Building:{SECRET.lower()}-new"
# GeoJSON's own words may appear in a message ("not a GeoJSON Feature"); everything else in the file may not.
GEOJSON_WORDS = {"Feature", "FeatureCollection", "Polygon", "Point", "Building"}


def _building(eid: str, lon: float, lat: float, **props: Any) -> dict[str, Any]:
    ring = [[lon, lat], [lon + 0.00123, lat], [lon + 0.00123, lat + 0.00087], [lon, lat + 0.00087], [lon, lat]]
    return {"type": "Feature", "id": eid, "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"type": "Building", "name": f"{SECRET} 大楼", "floorArea": {"value": 12345, "unit": "m2"},
                           "containedIn": PARCEL, **props}}


def _good_features() -> list[dict[str, Any]]:
    """Three valid new buildings: the bad one comes after a valid one, so "nothing written" means something."""
    return [_building(NEW_ID, 121.93917, 30.90471),
            _building(f"urn:ngsi-ld:Building:{SECRET.lower()}-two", 121.94417, 30.90671),
            _building(f"urn:ngsi-ld:Building:{SECRET.lower()}-three", 121.94917, 30.90871)]


def _scalars(value: Any) -> set[str]:
    """Every string and number in a JSON value, as text (what must not be echoed)."""
    if isinstance(value, dict):
        return set().union(*(_scalars(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_scalars(v) for v in value)) if value else set()
    if isinstance(value, bool) or value is None:
        return set()
    return {str(value)}


def _bad_duplicate(fs: list[dict[str, Any]]) -> str:
    fs[2]["id"] = fs[0]["id"]
    return "feature 3 (features[2].id): the same id as feature 1"


def _bad_area(fs: list[dict[str, Any]]) -> str:
    fs[1]["properties"]["floorArea"] = {"value": f"{SECRET}-m2", "unit": "m2"}
    return "feature 2 (features[1].properties.floorArea.value): must be a number"


def _bad_missing_id(fs: list[dict[str, Any]]) -> str:
    del fs[2]["id"]
    return "feature 3 (features[2].id): missing"


def _bad_geometry(fs: list[dict[str, Any]]) -> str:
    # A bow tie: the ring crosses itself (shapely would name the crossing's coordinates).
    fs[1]["geometry"]["coordinates"] = [[[121.94417, 30.90671], [121.94540, 30.90758], [121.94540, 30.90671],
                                         [121.94417, 30.90758], [121.94417, 30.90671]]]
    return "feature 2 (features[1].geometry.coordinates): the polygon is not valid"


def _bad_swapped(fs: list[dict[str, Any]]) -> str:
    fs[2]["geometry"] = {"type": "Point", "coordinates": [30.90871, 121.94917]}
    return "feature 3 (features[2].geometry.coordinates): coordinates look swapped"


def _bad_target(fs: list[dict[str, Any]]) -> str:
    fs[1]["properties"]["containedIn"] = f"urn:ngsi-ld:Parcel:{SECRET.lower()}"
    return "feature 2 (features[1].properties.containedIn): points at an entity that is neither in the twin nor"


@pytest.mark.parametrize("spoil", [_bad_duplicate, _bad_area, _bad_missing_id, _bad_geometry, _bad_swapped,
                                   _bad_target], ids=lambda f: f.__name__.removeprefix("_bad_"))
def test_geojson_errors_name_the_feature_and_path_and_write_nothing(tmp_path: Path, spoil: Any) -> None:
    db = _layout_db(tmp_path)
    features = _good_features()
    where = spoil(features)
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    proc = _cli("import", str(path), "--db", str(db))
    _one_line_exit_2(proc)
    assert where in proc.stderr, proc.stderr
    message = proc.stderr.replace(str(path), "")  # the file's own name is no content of it
    leaked = {s for s in _scalars(features) - GEOJSON_WORDS if s in message}
    assert not leaked, (leaked, proc.stderr)
    assert SECRET not in message and SECRET.lower() not in message
    _nothing_written(db)


BEFORE_LITERAL = f'  {{"id": "{SECRET}", "ok": '  # what precedes the bad literal on its line


@pytest.mark.parametrize(("content", "where"), [
    # an invalid literal on line 3 (orjson's own message would quote it): the column is where it starts
    (f'{{"type": "FeatureCollection",\n "features": [\n  {{"id": "{SECRET}", "ok": tru}}]}}',
     f"line 3, column {len(BEFORE_LITERAL) + 1}: not valid JSON"),
    (f'{{"type": "Feature", "id": "urn:ngsi-ld:Building:{SECRET}", "properties": {{}}}}',
     'the top-level type must be "FeatureCollection"'),
    (f'{{"type": "FeatureCollection", "features": {{"{SECRET}": 1}}}}', "features must be an array"),
    (f'["{SECRET}"]', "the top level is not an object"),
])
def test_geojson_file_errors_name_line_column_or_member(tmp_path: Path, content: str, where: str) -> None:
    db = _layout_db(tmp_path)
    path = tmp_path / "bad.geojson"
    path.write_text(content, encoding="utf-8")
    proc = _cli("import", str(path), "--db", str(db))
    _one_line_exit_2(proc)
    assert where in proc.stderr and SECRET not in proc.stderr.replace(str(path), ""), proc.stderr
    assert "tru" not in proc.stderr.replace(str(path), "")
    _nothing_written(db)


def test_geojson_unicode_columns_count_characters_and_a_bom_is_accepted(tmp_path: Path) -> None:
    """orjson counts columns in characters: a Chinese name before the error does not shift the column."""
    db = _layout_db(tmp_path)
    path = tmp_path / "zh.geojson"
    path.write_bytes('{"名称": "临港中心",\n  "x": nul}'.encode())
    proc = _cli("import", str(path), "--db", str(db))
    _one_line_exit_2(proc)
    assert "line 2, column 8" in proc.stderr and "临港" not in proc.stderr, proc.stderr
    good = tmp_path / "bom.geojson"
    good.write_bytes(b"\xef\xbb\xbf" + json.dumps({"type": "FeatureCollection", "features": _good_features()[:1]}
                                                   ).encode())
    proc = _cli("import", str(good), "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    with open_twin(db) as twin:
        assert NEW_ID in twin.store.get_entities([NEW_ID])


def _layout_db(tmp_path: Path) -> Path:
    db = tmp_path / "twin.duckdb"
    with open_twin(db) as twin:
        twin.upsert(lingang_layout())
    return db


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lingang_twin.cli", *args], capture_output=True, text=True,
                          timeout=300)


def _one_line_exit_2(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr


def _nothing_written(db: Path) -> None:
    with open_twin(db) as twin:
        assert twin.store.count_entities() == len(lingang_layout())
        assert twin.store.get_entities([NEW_ID]) == {}
