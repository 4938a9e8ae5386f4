"""What the 3D twin and the map show, computed from the twin without any UI (like :mod:`.data`): buildings with
their footprints in local metres, the building metrics that colour them (the console's own — phase, floor area —
and those packs describe), and the packs' point layers (:class:`~lingang_twin.core.packs.MapLayer`), computed for
every open map at once.

Every function asks the store a fixed number of questions, whatever the number of buildings: one query for the
buildings — never one query per building.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from shapely.geometry import shape

from lingang_twin.console.data import display_name
from lingang_twin.console.registry import Console
from lingang_twin.core.model import Entity
from lingang_twin.core.twin import SHANGHAI, Twin

# The console's own metrics a building can be coloured by; "phase" is categorical, the others a scale from low to
# high. Packs add theirs (``Pack.metrics``).
METRICS = ("phase", "floorArea")
MetricValues = Callable[[Twin, datetime | None], Mapping[str, float]]
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


def pack_metrics(console: Console) -> dict[str, MetricValues]:
    """The packs' building metrics by name, each bound to its pack's configuration: ``values(twin, now)``."""

    def bind(pack: str, values: Callable[[Twin, Any, datetime | None], Mapping[str, float]]) -> MetricValues:
        return lambda twin, now: values(twin, console.configs.get(pack), now)

    return {m.name: bind(pack, m.values) for pack, m in console.metrics}


def metric_values(twin: Twin, metric: str, shapes: list[BuildingShape], now: datetime | None = None,
                  extra: Mapping[str, MetricValues] | None = None) -> dict[str, float]:
    """The value of ``metric`` for each building that has one (empty for "phase", which is not a number);
    ``extra`` holds the packs' metrics (:func:`pack_metrics`)."""
    if metric == "floorArea":
        return {s.id: s.floor_area for s in shapes if s.floor_area is not None}
    if extra and metric in extra:
        values = extra[metric](twin, now)
        return {s.id: float(values[s.id]) for s in shapes if s.id in values}
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
def layer_points(console: Console, lang: str, live: bool | None = None,
                 now: datetime | None = None, twin: Twin | None = None) -> dict[str, list[dict[str, Any]]]:
    """The packs' point layers (all, or only the ``live`` ones, or only the static ones) as the map's JavaScript
    reads them, names and labels in ``lang``: ``{layer: [marker + label]}``, from ``twin`` (the caller's view;
    default the console's whole twin)."""
    twin = twin if twin is not None else console.twin
    out: dict[str, list[dict[str, Any]]] = {}
    for _, layer in console.layers:
        if live is not None and layer.live != live:
            continue
        out[layer.name] = [{**m.as_json(), "label": layer.label(twin, m, lang)}
                           for m in layer.markers(twin, lang, now)]
    return out


def live_layers(console: Console, lang: str) -> Callable[[Twin], dict[str, list[dict[str, Any]]]]:
    """The live hub's compute for the live layers in ``lang`` (one answer per tick for every open map)."""
    return lambda twin: layer_points(console, lang, live=True, now=datetime.now(SHANGHAI), twin=twin)


def date_range() -> tuple[date, date]:
    """The dates the 3D view's slider covers: the district's build-out from 2019 to its plans for 2027."""
    return date(2019, 1, 1), date(2027, 12, 31)


def day_index(day: date) -> int:
    """Days since the slider's first date."""
    return (day - date_range()[0]).days


def index_day(index: int) -> date:
    """The slider position ``index`` as a date."""
    return date_range()[0] + timedelta(days=int(index))


def map_collection(twin: Twin, lang: str, now: datetime | None = None,
                   extra: Mapping[str, MetricValues] | None = None) -> dict[str, Any]:
    """The map's GeoJSON (:func:`lingang_twin.console.data.map_features`) with each building's metrics as
    properties (``floorArea`` and the packs' metrics in ``extra``; absent when not available), so that the browser
    recolours the buildings by any metric without another request."""
    from lingang_twin.console.data import map_features

    collection = map_features(twin, lang)
    measured = {name: values(twin, now) for name, values in (extra or {}).items()}
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
        for name, values in measured.items():
            if props["id"] in values:
                props[name] = round(float(values[props["id"]]), 5)
    return collection
