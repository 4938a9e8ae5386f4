"""Quickstart: a small slice of the Lingang IICZ twin in an embedded DuckDB file.

Builds the district, two zones, three buildings and their meters, appends a week of 15-minute readings, then asks
the questions an energy manager asks first. Run: ``bash scripts/demo.sh`` (or ``python examples/quickstart.py``).
"""

from __future__ import annotations

import argparse
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa

from lingang_twin.core.geometry import parse_georel
from lingang_twin.core.observations import ObservationBatch
from lingang_twin.core.twin import Twin
from lingang_twin.stores import open_store

CST = timezone(timedelta(hours=8))
D = "urn:ngsi-ld:District:iicz"


def square(lon: float, lat: float, half: float = 0.0006) -> dict:
    """A square footprint around (lon, lat) [degrees]."""
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half],
            [lon - half, lat - half]]
    return {"type": "Polygon", "coordinates": [ring]}


def build(twin: Twin) -> list[str]:
    """Load the slice; returns the meter ids."""
    entities: list[dict] = [
        {"id": D, "type": "District", "properties": {"name": "国际创新协同区", "nameEn": "IICZ", "area": (6.9, "km2")}},
        {"id": "urn:ngsi-ld:Zone:tsc", "type": "Zone", "relationships": {"containedIn": D},
         "properties": {"name": "顶尖科学家社区", "nameEn": "Top Scientists Community"}},
        {"id": "urn:ngsi-ld:Zone:hq-bay", "type": "Zone", "relationships": {"containedIn": D},
         "properties": {"name": "科创总部湾", "nameEn": "Sci-Tech Headquarters Bay"}},
    ]
    buildings = [
        ("lingang-center", "临港中心", "tsc", 120000, 48, "conference", "operation", 121.930, 30.900),
        ("joint-lab", "国际联合实验室", "tsc", 100000, 36, "lab", "operation", 121.936, 30.902),
        ("hq-tower-1", "总部大楼一号", "hq-bay", 45000, 120, "office", "construction", 121.920, 30.895),
    ]
    meters = []
    for key, name, zone, area, height, use, phase, lon, lat in buildings:
        bid = f"urn:ngsi-ld:Building:{key}"
        entities.append({"id": bid, "type": "Building", "phase": phase, "phase_since": date(2024, 1, 1),
                         "relationships": {"containedIn": f"urn:ngsi-ld:Zone:{zone}"},
                         "properties": {"name": name, "floorArea": (area, "m2"), "height": (height, "m"), "use": use},
                         "geo": {"location": square(lon, lat)}})
        for carrier, unit in (("electricity", "kWh"), ("water", "m3"), ("natural_gas", "m3")):
            mid = f"urn:ngsi-ld:Meter:{key}-{carrier}"
            meters.append(mid)
            entities.append({"id": mid, "type": "Meter", "relationships": {"containedIn": bid},
                             "properties": {"carrier": carrier, "unit": unit, "register": "interval"}})
    twin.upsert(entities)
    return meters


def readings(meters: list[str], days: int) -> ObservationBatch:
    """``days`` of 15-minute readings with a daily shape and noise, for every meter."""
    rng = np.random.default_rng(2026)
    start = datetime.now(CST).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days)
    steps = np.arange(days * 96)
    hours = (steps % 96) / 4
    shape = 0.4 + 0.6 * np.exp(-((hours - 14) ** 2) / 18)
    ids, values = [], []
    for i, m in enumerate(meters):
        scale = {0: 120.0, 1: 1.5, 2: 4.0}[i % 3]
        ids.append(np.full(len(steps), m, dtype=object))
        values.append(scale * shape * (1 + 0.1 * rng.standard_normal(len(steps))).clip(0.5))
    ts_us = int(start.timestamp() * 1e6) + steps * 900_000_000
    ts = pa.array(np.tile(ts_us, len(meters)), type=pa.timestamp("us", tz="UTC"))
    return ObservationBatch.from_arrays(pa.array(np.concatenate(ids), type=pa.string()), "reading", ts,
                                        np.concatenate(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("lingang-quickstart.duckdb"), help="DuckDB file")
    parser.add_argument("--days", type=int, default=7, help="days of history")
    args = parser.parse_args()
    with Twin(open_store(args.db)) as twin:
        meters = build(twin)
        t0 = time.perf_counter()
        result = twin.append(readings(meters, args.days))
        print(f"readings: {result.inserted} new, {result.duplicates} already stored "
              f"({time.perf_counter() - t0:.2f} s) → {args.db}")
        labs = twin.query(types=["Building"], q='use=="lab"|floorArea>=100000', order_by=["-floorArea"])
        print(f"\nbig buildings / 大型建筑 ({labs.total}):")
        for b in labs.entities:
            print(f"  {b.value('name')}  {b.value('floorArea'):>9,.0f} m²  {b.phase}")
        near = twin.query(geo=parse_georel("near;maxDistance==500", {"type": "Point", "coordinates": [121.931, 30.9]}))
        names = [e.id.rsplit(":", 1)[1] for e in near.entities]
        print(f"\nwithin 500 m of a point on the lake shore / 湖岸 500 米内: {names}")
        daily = twin.aggregate("reading", under=D, bucket="day", agg="sum", group_by="carrier")
        table: dict[str, dict[str, float]] = {}
        for row in daily.to_pylist():
            table.setdefault(f"{row['bucket']:%Y-%m-%d}", {})[row["group"]] = row["value"]
        print("\ndaily totals per carrier (Asia/Shanghai days) / 每日分能源消耗:")
        print(f"  {'day':<10} {'electricity kWh':>16} {'water m³':>10} {'gas m³':>10}")
        for day, v in table.items():
            print(f"  {day:<10} {v.get('electricity', 0):>16,.1f} {v.get('water', 0):>10,.1f} "
                  f"{v.get('natural_gas', 0):>10,.1f}")


if __name__ == "__main__":
    main()
