"""What the mobility pack shows on the faces, described for them to render: the overview's parking and shuttle
tiles and the map's live car-park and shuttle layers (:data:`TILES`, :data:`LAYERS`). Plain functions of the twin,
testable without a UI; the console draws them generically (it knows no pack)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from lingang_twin.core.geometry import centroid_lat_lon
from lingang_twin.core.packs import MapLayer, Marker, Tile, TileValue, pick

if TYPE_CHECKING:
    from lingang_twin.core.model import Entity
    from lingang_twin.core.twin import Twin

# The most entities one layer draws (the district holds a few dozen car parks and vehicles).
LAYER_LIMIT = 10_000


def latest_by_entity(twin: Twin, entity_type: str, attribute: str, now: datetime | None = None,
                     lookback: timedelta = timedelta(days=2)) -> dict[str, float]:
    """The newest value of ``attribute`` of every entity of ``entity_type`` within ``lookback``, by entity id (one
    store question for all of them)."""
    if entity_type not in twin.types:
        return {}
    table = twin.aggregate(attribute, types=[entity_type], bucket="day", agg="last", group_by="entity",
                           start=_now(now) - lookback)
    latest: dict[str, tuple[datetime, float]] = {}
    for row in table.to_pylist():
        if row["value"] is None:
            continue
        seen = latest.get(row["group"])
        if seen is None or row["bucket"] > seen[0]:
            latest[row["group"]] = (row["bucket"], float(row["value"]))
    return {k: v for k, (_, v) in latest.items()}


def _now(now: datetime | None) -> datetime:
    from lingang_twin.core.twin import SHANGHAI

    return now or datetime.now(SHANGHAI)


def _name(e: Entity, lang: str) -> str:
    return e.display_name(lang)


def _centre(e: Entity) -> tuple[float, float] | None:
    return centroid_lat_lon(e.geo.get("location"))


# -- tiles ------------------------------------------------------------------------------------------------------
def free_parking(twin: Twin, now: datetime | None = None) -> tuple[int, int] | None:
    """Free spots across the district (the sum of every car park's newest ``availableSpotNumber``, last two days)
    and how many car parks reported; ``None`` when none did."""
    latest = latest_by_entity(twin, "OffStreetParking", "availableSpotNumber", _now(now))
    return (int(sum(latest.values())), len(latest)) if latest else None


def shuttles_in_service(twin: Twin) -> int | None:
    """How many vehicles are in operation; ``None`` when the twin has no vehicle type."""
    if "Vehicle" not in twin.types:
        return None
    return twin.query(types=["Vehicle"], phases=["operation"], limit=0).total


def _parking_tile(twin: Twin, config: Any, now: datetime) -> TileValue | None:
    found = free_parking(twin, now)
    if found is None:
        return None
    free, parks = found
    return TileValue(figure=f"{free:,}", figure_id="free-parking", caption=(f"{parks} 个停车场", f"{parks} car parks"))


def _shuttle_tile(twin: Twin, config: Any, now: datetime) -> TileValue | None:
    n = shuttles_in_service(twin)
    return None if n is None else TileValue(figure=f"{n}", caption=("辆", "vehicles"))


TILES = (
    Tile("parking", ("空闲车位", "Free parking spots"), _parking_tile, link="/mobility"),
    Tile("shuttles", ("运营中的接驳车", "Shuttles in service"), _shuttle_tile, link="/entities?type=Vehicle"),
)


# -- map layers -------------------------------------------------------------------------------------------------
def parking_markers(twin: Twin, lang: str = "zh", now: datetime | None = None) -> list[Marker]:
    """Every car park at the centre of its lot, valued with its newest ``availableSpotNumber`` (``None`` when it
    has no reading in the last two days). Two store questions."""
    if "OffStreetParking" not in twin.types:
        return []
    free = latest_by_entity(twin, "OffStreetParking", "availableSpotNumber", _now(now))
    out = []
    for e in twin.query(types=["OffStreetParking"], limit=LAYER_LIMIT).entities:
        centre = _centre(e)
        if centre is not None:
            out.append(Marker(e.id, e.type, _name(e, lang), centre[0], centre[1], free.get(e.id)))
    return out


def shuttle_markers(twin: Twin, lang: str = "zh", now: datetime | None = None) -> list[Marker]:
    """Every vehicle where its newest ``lon``/``lat`` readings (last two days) put it; vehicles with no position
    reading are left out (the map does not guess). Three store questions, for all vehicles at once."""
    if "Vehicle" not in twin.types:
        return []
    lons = latest_by_entity(twin, "Vehicle", "lon", _now(now))
    lats = latest_by_entity(twin, "Vehicle", "lat", _now(now))
    ids = sorted(set(lons) & set(lats))
    if not ids:
        return []
    found = twin.get_many(ids)
    return [Marker(i, "Vehicle", _name(found[i], lang) if i in found else i.rsplit(":", 1)[-1], lats[i], lons[i])
            for i in ids]


def _parking_label(twin: Twin, m: Marker, lang: str) -> str:
    if m.value is None:
        return pick((f"{m.name}：空位暂无", f"{m.name}: free spots not available"), lang)
    return pick((f"{m.name}：空闲 {m.value:,.0f} 个", f"{m.name}: {m.value:,.0f} free"), lang)


LAYERS = (
    MapLayer("parking", ("停车场空位", "Car parks (free spots)"), "#3949ab", parking_markers, _parking_label,
             live=True, permanent_labels=True),
    MapLayer("shuttles", ("接驳车（实时）", "Shuttles (live)"), "#d81b60", shuttle_markers,
             lambda twin, m, lang: m.name, live=True, radius=7),
)

__all__ = ["LAYERS", "TILES", "free_parking", "latest_by_entity", "parking_markers", "shuttle_markers",
           "shuttles_in_service"]
