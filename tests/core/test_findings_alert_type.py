"""Alerts read back on a twin just opened: the Alert type is a base type (checks of any pack raise alerts)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from lingang_twin.core.findings import Finding, raise_alerts
from lingang_twin.core.twin import Twin
from lingang_twin.stores.duckdb_store import DuckDBStore

CST = timezone(timedelta(hours=8))


def test_alerts_raised_earlier_are_queryable_as_soon_as_the_twin_opens(tmp_path: Path) -> None:
    twin = Twin(DuckDBStore(tmp_path / "t.duckdb"))
    twin.upsert([{"id": "urn:ngsi-ld:Meter:m1", "type": "Meter",
                  "properties": {"carrier": {"value": "electricity"}, "unit": {"value": "kWh"}}}])
    start = datetime(2026, 5, 1, 3, 15, tzinfo=CST)
    ids = raise_alerts(twin, [Finding(kind="gap", entity_id="urn:ngsi-ld:Meter:m1", start=start,
                                      end=start + timedelta(hours=3), severity="warning", detail_zh="缺数",
                                      detail_en="gap")])
    twin.close()
    again = Twin(DuckDBStore(tmp_path / "t.duckdb"))  # nothing registers Alert in this process before the query
    found = again.query(types=["Alert"]).entities
    again.close()
    assert [a.id for a in found] == ids and len(ids) == 1
