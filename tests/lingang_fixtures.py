"""The small, realistic slice of the Lingang IICZ that the tests share (ids, layout, geometry helpers)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

DISTRICT = "urn:ngsi-ld:District:iicz"
ZONE_TSC = "urn:ngsi-ld:Zone:top-scientists-community"
ZONE_HQ = "urn:ngsi-ld:Zone:sci-tech-hq-bay"
PARCEL = "urn:ngsi-ld:Parcel:tsc-01"
LINGANG_CENTER = "urn:ngsi-ld:Building:lingang-center"
JOINT_LAB = "urn:ngsi-ld:Building:international-joint-lab"
HQ_TOWER = "urn:ngsi-ld:Building:hq-tower-1"
M_ELEC = "urn:ngsi-ld:Meter:lc-elec-main"
M_ELEC_SUB = "urn:ngsi-ld:Meter:lc-elec-hvac"
M_WATER = "urn:ngsi-ld:Meter:lc-water"
M_H2 = "urn:ngsi-ld:Meter:hq-h2"


def square(lon: float, lat: float, half_deg: float = 0.0005) -> dict[str, Any]:
    """A small square polygon around (lon, lat)."""
    return {"type": "Polygon", "coordinates": [[
        [lon - half_deg, lat - half_deg], [lon + half_deg, lat - half_deg], [lon + half_deg, lat + half_deg],
        [lon - half_deg, lat + half_deg], [lon - half_deg, lat - half_deg]]]}


def lingang_layout() -> list[dict[str, Any]]:
    """A small, realistic slice of the IICZ: district, two zones, a parcel, three buildings, four meters."""
    return [
        {"id": DISTRICT, "type": "District", "properties": {"name": "国际创新协同区", "area": (6.9, "km2")}},
        {"id": ZONE_TSC, "type": "Zone",
         "properties": {"name": "顶尖科学家社区", "nameEn": "Top Scientists Community"},
         "relationships": {"containedIn": DISTRICT}},
        {"id": ZONE_HQ, "type": "Zone", "properties": {"name": "科创总部湾"},
         "relationships": {"containedIn": DISTRICT}},
        {"id": PARCEL, "type": "Parcel", "properties": {"area": (52000, "m2")},
         "relationships": {"containedIn": ZONE_TSC}},
        {"id": LINGANG_CENTER, "type": "Building",
         "properties": {"name": "临港中心", "floorArea": (120000, "m2"), "height": (48, "m"), "use": "conference",
                        "tags": ["venue", "hotel"]},
         "relationships": {"containedIn": PARCEL}, "geo": {"location": square(121.930, 30.900)},
         "phase": "operation", "phase_since": date(2022, 10, 1)},
        {"id": JOINT_LAB, "type": "Building",
         "properties": {"name": "国际联合实验室", "floorArea": (100000, "m2"), "height": (36, "m"), "use": "lab"},
         "relationships": {"containedIn": PARCEL}, "geo": {"location": square(121.936, 30.902)},
         "lifecycle": [{"phase": "design", "since": date(2021, 3, 1)},
                       {"phase": "construction", "since": date(2022, 1, 15)},
                       {"phase": "operation", "since": date(2023, 12, 1)}]},
        {"id": HQ_TOWER, "type": "Building",
         "properties": {"name": "总部大楼一号", "floorArea": (45000, "m2"), "height": (120, "m"), "use": "office"},
         "relationships": {"containedIn": ZONE_HQ}, "geo": {"location": square(121.920, 30.895)},
         "phase": "construction", "phase_since": date(2024, 5, 1)},
        {"id": M_ELEC, "type": "Meter",
         "properties": {"carrier": "electricity", "unit": "kWh", "register": "cumulative", "registerMax": 1e6},
         "relationships": {"containedIn": LINGANG_CENTER}},
        {"id": M_ELEC_SUB, "type": "Meter",
         "properties": {"carrier": "electricity", "unit": "kWh", "register": "interval"},
         "relationships": {"containedIn": LINGANG_CENTER, "submeterOf": M_ELEC}},
        {"id": M_WATER, "type": "Meter", "properties": {"carrier": "water", "unit": "m3", "register": "interval"},
         "relationships": {"containedIn": LINGANG_CENTER}},
        {"id": M_H2, "type": "Meter", "properties": {"carrier": "hydrogen", "unit": "kg", "register": "interval"},
         "relationships": {"containedIn": HQ_TOWER}},
    ]


def demo_file(folder: Path, days: int, end: datetime) -> Path:
    """The demo twin with ``days`` of history up to ``end``, built into ``folder/demo.duckdb`` and closed (a module
    fixture builds it once; tests open it or copy it)."""
    from lingang_twin.app import open_twin
    from lingang_twin.demo import build_demo

    path = folder / "demo.duckdb"
    twin = open_twin(path)
    try:
        build_demo(twin, days=days, end=end)
    finally:
        twin.close()
    return path
