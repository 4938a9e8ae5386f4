"""The ``lingang-twin`` command, run as a real process: import, export, serve's neighbours, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lingang_fixtures import DISTRICT, LINGANG_CENTER, M_WATER, lingang_layout
from lingang_twin.core.model import Entity
from lingang_twin.interchange import entity_to_feature


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "lingang_twin.cli", *args], capture_output=True, text=True,
                          timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


@pytest.fixture
def geojson(tmp_path: Path) -> Path:
    features = [entity_to_feature(Entity.model_validate(e)) for e in lingang_layout()]
    for f in features:  # lifecycle comes from phase/phaseSince; drop the empty ones the fixture did not set
        f["properties"].pop("phaseSince", None)
    path = tmp_path / "layout.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, default=str), encoding="utf-8")
    return path


def test_help_explains_every_command_with_an_example() -> None:
    top = run("--help").stdout
    for command in ("demo", "serve", "import", "export"):
        assert command in top
    for command in (("import",), ("export",), ("serve",), ("demo", "build")):
        assert "Example" in run(*command, "--help").stdout


def test_import_geojson_csv_parquet_and_export_round_trip(tmp_path: Path, geojson: Path) -> None:
    db = tmp_path / "cli.duckdb"
    out = run("import", str(geojson), "--db", str(db)).stdout
    assert f"imported {len(lingang_layout())} entities" in out
    csv = tmp_path / "readings.csv"
    csv.write_text("entity_id,attribute,observed_at,value,unit\n" + "".join(
        f"{M_WATER},reading,2024-05-01T{h:02d}:00:00+08:00,{h * 100},L\n" for h in range(24)), encoding="utf-8")
    assert "imported 24 new readings" in run("import", str(csv), "--db", str(db)).stdout
    assert "0 new readings, 24 already stored" in run("import", str(csv), "--db", str(db)).stdout
    pq.write_table(pa.table({
        "entity_id": [M_WATER] * 2, "attribute": ["reading"] * 2,
        "observed_at": pa.array([1714579200_000_000, 1714582800_000_000], pa.timestamp("us", tz="UTC")),
        "value": [7.0, 8.0]}), tmp_path / "more.parquet")
    assert "imported 2 new readings" in run("import", str(tmp_path / "more.parquet"), "--db", str(db)).stdout

    exported = tmp_path / "buildings.geojson"
    assert "exported 3 entities" in run("export", str(exported), "--db", str(db), "--type", "Building").stdout
    fc = json.loads(exported.read_text(encoding="utf-8"))
    lc = next(f for f in fc["features"] if f["id"] == LINGANG_CENTER)
    assert lc["properties"]["name"] == "临港中心" and lc["geometry"]["type"] == "Polygon"

    for suffix in ("csv", "parquet"):
        target = tmp_path / f"out.{suffix}"
        assert "exported 26 readings" in run("export", str(target), "--db", str(db), "--under", DISTRICT).stdout
        db2 = tmp_path / f"copy-{suffix}.duckdb"
        run("import", str(geojson), "--db", str(db2))
        assert "imported 26 new readings" in run("import", str(target), "--db", str(db2)).stdout
    window = tmp_path / "window.csv"
    run("export", str(window), "--db", str(db), "--entity", M_WATER, "--start", "2024-05-01T10:00:00+08:00",
        "--end", "2024-05-01T12:00:00+08:00")
    lines = window.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and "2024-05-01T10:00:00+08:00" in lines[1] and lines[1].endswith(",1")


@pytest.mark.parametrize(
    ("content", "name", "needle"),
    [
        ('{"type": "Feature"}', "x.geojson", "FeatureCollection"),
        ("not json at all", "x.json", "not valid JSON"),
        ("just some text", "x.txt", "not GeoJSON, CSV or Parquet"),
        ("a,b\n1,2\n", "x.csv", "columns must be"),
        (f"entity_id,attribute,observed_at,value\n{M_WATER},reading,2024-05-01T00:00:00,1\n", "x.csv", "time zone"),
        ("PAR1garbage", "x.parquet", "not a readable PARQUET"),
        ('{"type": "FeatureCollection", "features": [{"type": "Feature", "id": "urn:ngsi-ld:Zone:z", '
         '"geometry": {"type": "Point", "coordinates": [30.9, 121.9]}, "properties": {"type": "Zone"}}]}',
         "x.geojson", "swapped"),
    ],
)
def test_bad_files_exit_2_with_one_line_and_write_nothing(tmp_path: Path, geojson: Path, content: str, name: str,
                                                          needle: str) -> None:
    db = tmp_path / "bad.duckdb"
    run("import", str(geojson), "--db", str(db))
    before = db.read_bytes()
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    proc = run("import", str(path), "--db", str(db), check=False)
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert db.read_bytes() == before or _same_counts(db, geojson)


def _same_counts(db: Path, geojson: Path) -> bool:
    from lingang_twin.app import open_twin

    with open_twin(db) as twin:
        return twin.store.count_entities() == len(lingang_layout())


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    assert run("import", str(tmp_path / "missing.csv"), check=False).returncode == 2
    proc = run("export", str(tmp_path / "x.xlsx"), "--db", str(tmp_path / "nope.duckdb"), check=False)
    assert proc.returncode == 2 and ".geojson, .csv or .parquet" in proc.stderr
    proc = run("export", str(tmp_path / "x.csv"), "--db", str(tmp_path / "nope.duckdb"), check=False)
    assert proc.returncode == 2 and "no such twin file" in proc.stderr
    for args in (("serve", "--port", "0"), ("demo", "build", "--days", "-1"), ("bogus",),
                 ("import", "x.csv", "--on-conflict")):
        proc = run(*args, check=False)
        assert proc.returncode == 2, args
        assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("error:"), proc.stderr


def test_a_file_with_one_unknown_entity_writes_nothing(tmp_path: Path, geojson: Path) -> None:
    db = tmp_path / "atomic.duckdb"
    run("import", str(geojson), "--db", str(db))
    csv = tmp_path / "mixed.csv"
    csv.write_text("entity_id,attribute,observed_at,value\n" + "".join(
        f"{M_WATER},reading,2024-05-01T{h:02d}:00:00+08:00,{h}\n" for h in range(23))
        + "urn:ngsi-ld:Meter:ghost,reading,2024-05-01T23:00:00+08:00,1\n", encoding="utf-8")
    proc = run("import", str(csv), "--db", str(db), check=False)
    # The line (header = 1) and the column, never the content (issue 10.10).
    assert proc.returncode == 2 and "line 25, column 1 (entity_id)" in proc.stderr
    assert "no such entity" in proc.stderr and "ghost" not in proc.stderr
    from lingang_twin.app import open_twin

    with open_twin(db) as twin:
        assert "reading" not in twin.store.series_of(M_WATER)


def test_serve_refuses_a_bad_energy_config(tmp_path: Path) -> None:
    import os

    bad = tmp_path / "energy.json"
    bad.write_text('{"water_kgco2_per_m3": -1}', encoding="utf-8")
    env = {**os.environ, "LINGANG_ENERGY_CONFIG": str(bad)}
    proc = subprocess.run([sys.executable, "-m", "lingang_twin.cli", "serve", "--db", str(tmp_path / "s.duckdb"),
                           "--port", "8799"], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2, proc.stderr
    assert "energy_config" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_bad_csv_rows_are_named_by_line_and_column_without_their_content(tmp_path: Path, geojson: Path) -> None:
    db = tmp_path / "lines.duckdb"
    run("import", str(geojson), "--db", str(db))
    head = "entity_id,attribute,observed_at,value\n"
    good = f"{M_WATER},reading,2024-05-01T00:00:00+08:00,1\n"
    secret = "SECRET-7Q"
    cases = {
        # a blank line and a quoted line break before the bad row: the line is still exact
        "value": (head + good + "\n" + f'{M_WATER},"read\ning",2024-05-01T01:00:00+08:00,2\n'
                  + f"{M_WATER},reading,2024-05-01T02:00:00+08:00,{secret}\n", "line 6, column 4 (value)"),
        "time": (head + good + f"{M_WATER},reading,{secret},3\n", "line 3, column 3 (observed_at)"),
        "fields": (head + good + f"{M_WATER},reading,2024-05-01T02:00:00+08:00,3,{secret}\n", "line 3"),
    }
    for name, (content, where) in cases.items():
        path = tmp_path / f"{name}.csv"
        path.write_text(content, encoding="utf-8")
        proc = run("import", str(path), "--db", str(db), check=False)
        assert proc.returncode == 2, name
        assert where in proc.stderr and secret not in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
