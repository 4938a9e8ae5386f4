"""What the 3D twin and the map's layers show, computed from the twin without any UI (like :mod:`.data`): buildings
with their footprints in local metres, the building metrics that colour them, and the live point layers (car parks
with their free spots, shuttles where they are now, charging and hydrogen stations).

Every function asks the store a fixed number of questions, whatever the number of buildings: one query for the
buildings, two aggregates for today's electricity — never one query per building.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from shapely.geometry import shape

from lingang_twin.console.data import display_name, latest_by_entity, start_of_today
from lingang_twin.core.errors import NotFoundError
from lingang_twin.core.model import Entity
from lingang_twin.core.twin import SHANGHAI, Twin

# The metrics a building can be coloured by; "phase" is categorical, the others a scale from low to high.
METRICS = ("phase", "floorArea", "energyIntensity")
PHASE_COLOURS = {"planned": "#9e9e9e", "design": "#1e88e5", "construction": "#fb8c00", "operation": "#43a047",
                 "retired": "#6d4c41"}
# A building with no value for the chosen metric: a neutral grey, explained in the legend as "not available".
NO_DATA_COLOUR = "#cfd8dc"
# The scale of a numeric metric: light yellow (low) to dark red (high).
SCALE_LOW = (255, 237, 160)
SCALE_HIGH = (189, 0, 38)
EARTH_RADIUS_M = 6_371_008.8
# Buildings with no height: floors times a typical storey height, else a low block (a guess drawn, never shown as
# a number).
STOREY_M = 4.0
DEFAULT_HEIGHT_M = 10.0
BUILDINGS_LIMIT = 10_000


# -- projection -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LocalFrame:
    """Local metres east (x) and north (y) of a centre (lon, lat).

    An equirectangular projection around the centre: x = R·Δλ·cos φ₀, y = R·Δφ. Across the 3 km district its
    error is well below a metre (the cosine changes by ~5·10⁻⁴ over 3 km of latitude), far finer than the 3D view
    needs — and it needs no projection library in the page's path."""

    lon0: float
    lat0: float

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        """(lon, lat) degrees → (x east, y north) metres."""
        k = math.pi / 180 * EARTH_RADIUS_M
        return (round((lon - self.lon0) * k * math.cos(math.radians(self.lat0)), 2), round((lat - self.lat0) * k, 2))


def district_frame(twin: Twin) -> LocalFrame | None:
    """The frame centred on the centroid of every building's footprint (all buildings ever planned, so that the
    view does not shift when the date slider moves); ``None`` when no building has a footprint."""
    page = twin.query(types=["Building"], limit=BUILDINGS_LIMIT) if "Building" in twin.types else None
    lons: list[float] = []
    lats: list[float] = []
    for e in page.entities if page else []:
        geometry = e.geo.get("location")
        if geometry is not None:
            c = shape(geometry).centroid
            lons.append(c.x)
            lats.append(c.y)
    if not lons:
        return None
    return LocalFrame(sum(lons) / len(lons), sum(lats) / len(lats))


# -- buildings --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BuildingShape:
    """One building for the 3D view: its outline in local metres (outer ring, not closed), height and phase."""

    id: str
    name: str
    phase: str
    height: float
    outline: list[list[float]]
    floor_area: float | None


def _number(e: Entity, name: str) -> float | None:
    value = e.value(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _height(e: Entity) -> float:
    height = _number(e, "height")
    if height is not None and height > 0:
        return height
    floors = _number(e, "floors")
    return floors * STOREY_M if floors else DEFAULT_HEIGHT_M


def buildings(twin: Twin, frame: LocalFrame, lang: str, day: date | None = None) -> list[BuildingShape]:
    """Every building with a polygon footprint, as it was (or was planned to be) on ``day`` — buildings with no
    phase yet on that day are left out, the others carry that day's phase — or as it is now when ``day`` is
    ``None``. One store query."""
    if "Building" not in twin.types:
        return []
    page = twin.query(types=["Building"], as_of=day, limit=BUILDINGS_LIMIT)
    shapes: list[BuildingShape] = []
    for e in page.entities:
        geometry = e.geo.get("location")
        if geometry is None or geometry.get("type") not in ("Polygon", "MultiPolygon"):
            continue
        ring = geometry["coordinates"][0] if geometry["type"] == "Polygon" else geometry["coordinates"][0][0]
        outline = [list(frame.xy(float(p[0]), float(p[1]))) for p in ring]
        if len(outline) > 1 and outline[0] == outline[-1]:
            outline.pop()  # three.js closes the shape itself
        shapes.append(BuildingShape(e.id, display_name(e, lang), e.phase, _height(e), outline,
                                    _number(e, "floorArea")))
    return shapes


def electricity_intensity_today(twin: Twin, now: datetime | None = None) -> dict[str, float]:
    """Electricity used today per m² of floor area [kWh/m²], by building id, from the buildings' main electricity
    meters (sub-meters would count the same kWh twice).

    Electricity alone, not all carriers: kWh, m³ of water and m³ of gas do not add up; converting them to one
    energy unit is the energy pack's work (standard coal), not the console's. A building with no main-meter
    reading today is absent (shown as "not available"). Three store questions in all."""
    if "Meter" not in twin.types:
        return {}
    meters = twin.query(types=["Meter"], q='carrier=="electricity";endUse=="main"', limit=BUILDINGS_LIMIT)
    building_of: dict[str, str] = {}
    for m in meters.entities:
        rel = m.relationships.get("containedIn")
        if rel is not None and rel.targets:
            building_of[m.id] = rel.targets[0]
    used: dict[str, float] = {}
    start = start_of_today(now)
    for register, agg in (("interval", "sum"), ("cumulative", "delta")):
        try:
            table = twin.aggregate("reading", types=["Meter"], bucket="day", agg=agg, group_by="entity", start=start,
                                   q=f'carrier=="electricity";endUse=="main";register=="{register}"')
        except NotFoundError:
            continue
        for row in table.to_pylist():
            building = building_of.get(row["group"])
            if building is not None and row["value"] is not None:
                used[building] = used.get(building, 0.0) + float(row["value"])
    if not used:
        return {}
    areas = twin.get_many(sorted(used))
    out: dict[str, float] = {}
    for building, kwh in used.items():
        area = _number(areas[building], "floorArea") if building in areas else None
        if area:
            out[building] = kwh / area
    return out


def metric_values(twin: Twin, metric: str, shapes: list[BuildingShape],
                  now: datetime | None = None) -> dict[str, float]:
    """The value of ``metric`` for each building that has one (empty for "phase", which is not a number)."""
    if metric == "floorArea":
        return {s.id: s.floor_area for s in shapes if s.floor_area is not None}
    if metric == "energyIntensity":
        intensity = electricity_intensity_today(twin, now)
        return {s.id: intensity[s.id] for s in shapes if s.id in intensity}
    return {}


def scale_colour(value: float | None, low: float, high: float) -> str:
    """``value`` on the scale ``low`` … ``high`` as a hex colour; grey when there is no value."""
    if value is None:
        return NO_DATA_COLOUR
    t = 0.0 if high <= low else min(max((value - low) / (high - low), 0.0), 1.0)
    r, g, b = (round(a + (c - a) * t) for a, c in zip(SCALE_LOW, SCALE_HIGH, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def colours(metric: str, shapes: list[BuildingShape], values: dict[str, float]) -> dict[str, str]:
    """The colour of every building for ``metric``: its phase's colour, or its place on the metric's scale."""
    if metric == "phase":
        return {s.id: PHASE_COLOURS.get(s.phase, NO_DATA_COLOUR) for s in shapes}
    low, high = (min(values.values()), max(values.values())) if values else (0.0, 0.0)
    return {s.id: scale_colour(values.get(s.id), low, high) for s in shapes}


# -- point layers -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Marker:
    """One point on the map: where (lat, lon), what (id, type, name) and, for live layers, its value."""

    id: str
    type: str
    name: str
    lat: float
    lon: float
    value: float | None = None

    def as_json(self) -> dict[str, Any]:
        """The marker as the map's JavaScript reads it."""
        return {"id": self.id, "type": self.type, "name": self.name, "lat": self.lat, "lon": self.lon,
                "value": self.value}


def _centre(e: Entity) -> tuple[float, float] | None:
    geometry = e.geo.get("location")
    if geometry is None:
        return None
    c = shape(geometry).centroid
    return (round(c.y, 7), round(c.x, 7))


def parking_markers(twin: Twin, lang: str = "zh", now: datetime | None = None) -> list[Marker]:
    """Every car park at the centre of its lot, valued with its newest ``availableSpotNumber`` (``None`` when it
    has no reading in the last two days). Two store questions."""
    if "OffStreetParking" not in twin.types:
        return []
    free = latest_by_entity(twin, "OffStreetParking", "availableSpotNumber", now)
    out = []
    for e in twin.query(types=["OffStreetParking"], limit=BUILDINGS_LIMIT).entities:
        centre = _centre(e)
        if centre is not None:
            out.append(Marker(e.id, e.type, display_name(e, lang), centre[0], centre[1], free.get(e.id)))
    return out


def shuttle_markers(twin: Twin, lang: str = "zh", now: datetime | None = None) -> list[Marker]:
    """Every vehicle where its newest ``lon``/``lat`` readings (last two days) put it; vehicles with no position
    reading are left out (the map does not guess). Three store questions, for all vehicles at once."""
    if "Vehicle" not in twin.types:
        return []
    lons = latest_by_entity(twin, "Vehicle", "lon", now)
    lats = latest_by_entity(twin, "Vehicle", "lat", now)
    ids = sorted(set(lons) & set(lats))
    if not ids:
        return []
    found = twin.get_many(ids)
    return [Marker(i, "Vehicle", display_name(found[i], lang) if i in found else i.rsplit(":", 1)[-1],
                   lats[i], lons[i]) for i in ids]


STATION_TYPES = ("EVChargingStation", "HydrogenStation")


def station_markers(twin: Twin, lang: str = "zh") -> list[Marker]:
    """EV charging and hydrogen stations at their own location (a polygon's centroid), or — when they have none —
    at the centroid of what contains them (their building or site)."""
    types = [t for t in STATION_TYPES if t in twin.types]
    if not types:
        return []
    stations = twin.query(types=types, limit=BUILDINGS_LIMIT, order_by=["type", "id"]).entities
    parents = {rel.targets[0] for e in stations if e.geo.get("location") is None
               for rel in [e.relationships.get("containedIn")] if rel is not None and rel.targets}
    found = twin.get_many(sorted(parents)) if parents else {}
    out = []
    for e in stations:
        centre = _centre(e)
        if centre is None:
            rel = e.relationships.get("containedIn")
            parent = found.get(rel.targets[0]) if rel is not None and rel.targets else None
            centre = _centre(parent) if parent is not None else None
        if centre is not None:
            out.append(Marker(e.id, e.type, display_name(e, lang), centre[0], centre[1]))
    return out


def meter_markers(twin: Twin, lang: str = "zh") -> list[Marker]:
    """Metered places: one point per entity that contains meters (a building, a station), at its centroid, valued
    with how many meters it holds. Meters carry no geometry of their own, and a dot per meter would stack dozens
    on one spot; the point opens the building, whose page lists its meters. Two store questions."""
    meters = twin.query(types=["Meter"], limit=BUILDINGS_LIMIT).entities
    counts: dict[str, int] = {}
    for m in meters:
        parent = m.target("containedIn")
        if parent is not None:
            counts[parent] = counts.get(parent, 0) + 1
    found = twin.get_many(sorted(counts)) if counts else {}
    out = []
    for pid, n in sorted(counts.items()):
        parent = found.get(pid)
        centre = _centre(parent) if parent is not None else None
        if parent is not None and centre is not None:
            out.append(Marker(pid, parent.type, display_name(parent, lang), centre[0], centre[1], float(n)))
    return out


def live_layers(twin: Twin, now: datetime | None = None) -> dict[str, list[dict[str, Any]]]:
    """The map's live layers (parking, shuttles) for every open map at once: the live hub's topic. Names are left
    to the page (they are in the user's language and do not change)."""
    now = now or datetime.now(SHANGHAI)
    return {"parking": [m.as_json() for m in parking_markers(twin, "zh", now)],
            "shuttles": [m.as_json() for m in shuttle_markers(twin, "zh", now)]}


def date_range() -> tuple[date, date]:
    """The dates the 3D view's slider covers: the district's build-out from 2019 to its plans for 2027."""
    return date(2019, 1, 1), date(2027, 12, 31)


def day_index(day: date) -> int:
    """Days since the slider's first date."""
    return (day - date_range()[0]).days


def index_day(index: int) -> date:
    """The slider position ``index`` as a date."""
    return date_range()[0] + timedelta(days=int(index))


def map_collection(twin: Twin, lang: str, now: datetime | None = None) -> dict[str, Any]:
    """The map's GeoJSON (:func:`lingang_twin.console.data.map_features`) with each building's metrics as
    properties (``floorArea``, ``energyIntensity``; absent when not available), so that the browser recolours
    the buildings by any metric without another request."""
    from lingang_twin.console.data import map_features

    collection = map_features(twin, lang)
    intensity = electricity_intensity_today(twin, now)
    ids = [f["properties"]["id"] for f in collection["features"] if f["properties"]["type"] == "Building"]
    found = twin.get_many(ids) if ids else {}
    for f in collection["features"]:
        props = f["properties"]
        e = found.get(props["id"])
        if e is None:
            continue
        area = _number(e, "floorArea")
        if area is not None:
            props["floorArea"] = area
        if props["id"] in intensity:
            props["energyIntensity"] = round(intensity[props["id"]], 5)
    return collection
