"""Pieces every pack shares, in the core: the Alert type (readable as soon as a twin opens), an entity's shown name
and its marker position."""

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


def test_display_name_and_centroid_shared_by_packs_and_faces() -> None:
    """One rule for an entity's shown name and its marker position (packs and the console used three copies)."""
    from lingang_twin.core.geometry import centroid_lat_lon
    from lingang_twin.core.model import Entity

    both = Entity(id="urn:ngsi-ld:Building:b1", type="Building",
                  properties={"name": {"value": "孵化器"}, "nameEn": {"value": "Incubator"}})
    only_zh = Entity(id="urn:ngsi-ld:Building:b2", type="Building", properties={"name": {"value": "实验楼"}})
    nameless = Entity(id="urn:ngsi-ld:Building:b3", type="Building")
    assert [e.display_name("zh") for e in (both, only_zh, nameless)] == ["孵化器", "实验楼", "b3"]
    assert [e.display_name("en") for e in (both, only_zh, nameless)] == ["Incubator", "实验楼", "b3"]
    square = {"type": "Polygon", "coordinates": [[[121.9, 30.9], [121.92, 30.9], [121.92, 30.92], [121.9, 30.92],
                                                  [121.9, 30.9]]]}
    assert centroid_lat_lon(square) == (30.91, 121.91) and centroid_lat_lon(None) is None
