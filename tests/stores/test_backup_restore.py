"""DuckDB backups and restores in process: the copy holds what was committed, a restore never half-replaces a
file, and bad sources are refused before anything is touched."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from lingang_fixtures import M_WATER, lingang_layout
from lingang_twin.core.errors import StoreError, ValidationError
from lingang_twin.core.twin import Twin
from lingang_twin.stores.duckdb_store import DuckDBStore, restore_file

CST = timezone(timedelta(hours=8))


def _fill(twin: Twin, n: int) -> None:
    twin.upsert(lingang_layout())
    start = datetime(2024, 3, 1, tzinfo=CST)
    twin.append([{"entity_id": M_WATER, "attribute": "reading", "observed_at": start + timedelta(minutes=15 * i),
                  "value": float(i)} for i in range(n)])


def test_backup_then_restore_round_trip(tmp_path: Path) -> None:
    live = Twin(DuckDBStore(tmp_path / "live.duckdb"))
    _fill(live, 200)
    assert live.store.backup(tmp_path / "b.duckdb") == len(lingang_layout())  # type: ignore[attr-defined]
    with pytest.raises(ValidationError) as err:
        live.store.backup(tmp_path / "b.duckdb")  # type: ignore[attr-defined]
    assert err.value.rule == "file-exists"
    live.delete_readings(M_WATER, "reading", datetime(2024, 1, 1, tzinfo=CST), datetime(2025, 1, 1, tzinfo=CST))
    live.close()
    with pytest.raises(ValidationError):
        restore_file(tmp_path / "b.duckdb", tmp_path / "live.duckdb")  # exists: needs replace
    assert restore_file(tmp_path / "b.duckdb", tmp_path / "live.duckdb", replace=True) == len(lingang_layout())
    back = Twin(DuckDBStore(tmp_path / "live.duckdb"))
    assert back.read(M_WATER, "reading").column("value").to_pylist() == [float(i) for i in range(200)]
    # The change feed's sequence continues after the restored rows instead of starting again at 1.
    last = back.changes(0, 10_000)[-1].seq
    back.upsert([{"id": "urn:ngsi-ld:Zone:new", "type": "Zone", "properties": {}}])
    assert back.changes(last, 10)[0].seq > last
    back.close()
    assert not list(tmp_path.glob(".*restoring*"))


def test_restore_refuses_what_is_not_a_twin_and_leaves_the_target(tmp_path: Path) -> None:
    target = tmp_path / "t.duckdb"
    t = Twin(DuckDBStore(target))
    _fill(t, 5)
    t.close()
    before = target.read_bytes()
    (tmp_path / "junk.duckdb").write_bytes(b"not a database")
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    for src, rule in ((tmp_path / "missing.duckdb", "file-missing"), (tmp_path / "junk.duckdb", "not-a-twin"),
                      (other, "not-a-twin"), (target, "same-file")):
        with pytest.raises(ValidationError) as err:
            restore_file(src, target, replace=True)
        assert err.value.rule == rule
    assert target.read_bytes() == before


def test_an_in_memory_twin_has_no_backup(tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        DuckDBStore(None).backup(tmp_path / "x.duckdb")


def test_a_backup_does_not_wait_behind_a_write(tmp_path: Path) -> None:
    """The backup's cursor is made from the idle cursor source, not under the write lock: a backup started while an
    ingest holds that lock copies the last committed snapshot and finishes without waiting for the ingest."""
    import threading

    twin = Twin(DuckDBStore(tmp_path / "live.duckdb"))
    twin.upsert([{"id": "urn:ngsi-ld:Zone:z1", "type": "Zone"}])
    done = threading.Event()
    count: list[int] = []
    with twin.store._lock:  # type: ignore[attr-defined]  # what a long ingest holds from its first statement to its commit
        worker = threading.Thread(target=lambda: (count.append(twin.store.backup(  # type: ignore[attr-defined]
            tmp_path / "copy.duckdb")),
                                                  done.set()))
        worker.start()
        finished = done.wait(timeout=60)
    worker.join(timeout=60)
    twin.close()
    assert finished, "the backup waited for the write lock"
    assert count == [1]
