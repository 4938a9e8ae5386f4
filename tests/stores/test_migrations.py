"""Schema migrations: a file written by an older version opens; a newer one is refused, not misread."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import duckdb
import pytest

from lingang_twin.core.errors import SchemaVersionError, StoreError
from lingang_twin.core.twin import Twin
from lingang_twin.stores.duckdb_store import DuckDBStore
from lingang_twin.stores.migrations import LATEST_VERSION, MIGRATIONS


def test_versions_are_consecutive() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST_VERSION + 1))


def test_a_version_1_file_opens_and_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    old = DuckDBStore(path, target_version=1)
    assert old.schema_version == 1
    # Write the way version 1 wrote: plain SQL, no change feed.
    old.con.execute("""INSERT INTO entities VALUES ('urn:ngsi-ld:District:iicz', 'District', 'operation',
        '{"name": {"value": "国际创新协同区"}}', '{}', '{}', now(), now())""")
    old.con.execute("INSERT INTO lifecycle VALUES ('urn:ngsi-ld:District:iicz', 'operation', DATE '2022-01-01', now())")
    old.con.execute("INSERT INTO series VALUES (1, 'urn:ngsi-ld:District:iicz', 'population', NULL)")
    old.con.execute("INSERT INTO observations VALUES (1, 1700000000000000, 12345)")
    old.close()
    with pytest.raises(duckdb.CatalogException):
        duckdb.connect(str(path)).execute("SELECT * FROM changes")

    store = DuckDBStore(path)
    assert store.schema_version == LATEST_VERSION
    twin = Twin(store)
    assert twin.get("urn:ngsi-ld:District:iicz").value("name") == "国际创新协同区"
    assert twin.read("urn:ngsi-ld:District:iicz", "population").column("value").to_pylist() == [12345.0]
    twin.patch("urn:ngsi-ld:District:iicz", properties={"area": (6.9, "km2")})
    assert [c.op for c in store.changes_since(0)] == ["update"]
    versions = store.con.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert [v[0] for v in versions] == list(range(1, LATEST_VERSION + 1))
    twin.close()


def test_a_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.duckdb"
    DuckDBStore(path).close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_version VALUES (?, now(), 'from the future')", [LATEST_VERSION + 1])
    con.close()
    with pytest.raises(SchemaVersionError, match="Upgrade"):
        DuckDBStore(path)


def test_a_locked_or_unreadable_file_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "not-a-db.duckdb"
    path.write_bytes(b"this is not a duckdb file" * 100)
    with pytest.raises(StoreError):
        DuckDBStore(path)


def test_compaction_keeps_every_reading_and_orders_the_tail(tmp_path: Path) -> None:
    from datetime import datetime, timedelta

    from lingang_fixtures import M_ELEC_SUB, M_WATER, lingang_layout

    store = DuckDBStore(tmp_path / "compact.duckdb", compact_rows=150)
    twin = Twin(store)
    twin.upsert(lingang_layout())
    t0 = datetime(2024, 1, 1, tzinfo=UTC)

    def batch(day: int) -> list[dict]:
        return [{"entity_id": m, "attribute": "reading", "observed_at": t0 + timedelta(days=day, minutes=15 * i),
                 "value": float(i + day)} for i in range(48) for m in (M_WATER, M_ELEC_SUB)]

    for day in range(4):  # 96 readings a day: the second day's append passes 150 and compacts
        twin.append(batch(day))
    compaction = store._compaction
    assert compaction is not None and compaction.watermark is not None and compaction.unsorted < 150
    early = {"entity_id": M_WATER, "attribute": "reading", "observed_at": t0 - timedelta(days=1), "value": 5.0}
    late = twin.append([*batch(0)[:10], early])
    assert (late.inserted, late.duplicates) == (1, 10)
    assert twin.read(M_WATER, "reading").num_rows == 4 * 48 + 1
    daily = twin.aggregate("reading", entity_id=M_ELEC_SUB, bucket="day", agg="sum")
    assert daily.column("count").to_pylist() == [48, 48, 48, 48]
    assert store.compact() == 0  # the late reading is older than the watermark: it stays where it landed
    stored = [tuple(r) for r in store.con.execute("SELECT series_id, ts FROM observations ORDER BY rowid").fetchall()]
    assert len(stored) == 4 * 96 + 1
    # Two compactions, days 0-1 and days 2-3, each rewritten in (series, time) order; then the late reading.
    assert stored[:192] == sorted(stored[:192]) != stored[:192][::-1]
    assert stored[192:384] == sorted(stored[192:384])
    assert stored[0][0] != stored[96][0]  # one series after the other, not interleaved by time
    assert stored[384][1] < stored[0][1]
    twin.close()
    reopened = DuckDBStore(tmp_path / "compact.duckdb")
    again = reopened._compaction
    assert again is not None and again.watermark == compaction.watermark and again.unsorted == 0
    reopened.close()
