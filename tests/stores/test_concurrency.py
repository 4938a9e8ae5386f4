"""Reads run concurrently with writes (a DuckDB cursor per thread) and never see a stale cached entity."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lingang_fixtures import DISTRICT, JOINT_LAB, M_ELEC_SUB, lingang_layout
from lingang_twin.core.twin import Twin
from lingang_twin.stores.duckdb_store import DuckDBStore


def test_readers_and_a_writer_at_the_same_time(tmp_path: Path) -> None:
    twin = Twin(DuckDBStore(tmp_path / "concurrent.duckdb"))
    twin.upsert(lingang_layout())
    t0 = datetime(2024, 6, 1, tzinfo=UTC)
    errors: list[BaseException] = []
    done = threading.Event()
    seen_occupants: list[int] = []

    def writer() -> None:
        try:
            for k in range(30):
                twin.append([{"entity_id": M_ELEC_SUB, "attribute": "reading",
                              "observed_at": t0 + timedelta(minutes=15 * (96 * k + i)), "value": 1.0}
                             for i in range(96)])
                twin.patch(JOINT_LAB, properties={"occupants": k})
        except BaseException as err:
            errors.append(err)
        finally:
            done.set()

    def reader() -> None:
        try:
            while not done.is_set():
                page = twin.query(types=["Building"], q='use=="lab"')
                seen_occupants.append(page.entities[0].value("occupants", -1))
                twin.aggregate("reading", under=DISTRICT, bucket="day", agg="sum", group_by="carrier")
                twin.get(JOINT_LAB)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[0]
    assert seen_occupants, "the readers ran"
    # Whatever the interleaving, the cache ends on the last write, for pages and for single look-ups.
    assert twin.get(JOINT_LAB).value("occupants") == 29
    assert twin.query(types=["Building"], q='use=="lab"').entities[0].value("occupants") == 29
    total = twin.aggregate("reading", entity_id=M_ELEC_SUB, bucket="year", agg="count")
    assert total.column("value").to_pylist() == [30 * 96.0]
    twin.close()
