"""What the energy pack shows on the faces, described for them to render (the console knows no pack): the
overview's energy and carbon tiles (in the pack's one unit per carrier), the map's stations and meters layers,
the buildings' "electricity today per m²" metric, and the pack's words (carriers among them)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from lingang_twin.core.errors import NotFoundError
from lingang_twin.core.geometry import centroid_lat_lon
from lingang_twin.core.packs import BuildingMetric, MapLayer, Marker, Tile, TileValue, Words, pick

if TYPE_CHECKING:
    from lingang_twin.core.model import Entity
    from lingang_twin.core.twin import Twin

LAYER_LIMIT = 10_000
STATION_TYPES = ("EVChargingStation", "HydrogenStation")


def _fmt(value: float) -> str:
    """Numbers as an operator reads them: thousands separated, no false precision."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"


def _config(twin: Twin, config: Any) -> Any:
    """The settings in force as an EnergyConfig: the deployment's validated config, else those stored in the twin
    (which a twin holds as plain JSON: validated here)."""
    from lingang_twin.energy.factors import EnergyConfig
    from lingang_twin.energy.settings import config_in_force

    config = config_in_force(twin, config)
    return config if config is None or isinstance(config, EnergyConfig) else EnergyConfig.model_validate(config)


# -- tiles ------------------------------------------------------------------------------------------------------
def _energy_tile(twin: Twin, config: Any, now: datetime) -> TileValue | None:
    from lingang_twin.energy.carriers import CARRIER_LABELS, UNIT_SYMBOLS
    from lingang_twin.energy.web.page import energy_today

    rows = energy_today(twin, _config(twin, config), now)
    if not rows:
        return None
    return TileValue(lines=[(CARRIER_LABELS.get(c, (c, c)), f"{_fmt(v)} {UNIT_SYMBOLS.get(u, u)}")
                            for c, v, u in rows])


def _carbon_tile(twin: Twin, config: Any, now: datetime) -> TileValue | None:
    from lingang_twin.energy.web.page import carbon_today

    kg = carbon_today(twin, _config(twin, config), now)
    if kg is None:
        return None
    return TileValue(figure=f"{_fmt(kg / 1000)} t", figure_id="carbon",
                     caption=("CO₂，上海地方因子 2022，总表", "CO₂, Shanghai local factors 2022, main meters"))


TILES = (
    Tile("energy", ("今日能耗（按能源品种）", "Energy today, by carrier"), _energy_tile,
         link="/entities?type=Meter"),
    Tile("carbon", ("今日碳排放", "Carbon today"), _carbon_tile, link="/energy",
         unavailable=("今日无读数，或未配置水/氢排放因子", "no readings today, or no water/hydrogen CO₂ factor")),
)


# -- building metric --------------------------------------------------------------------------------------------
def _number(e: Entity, name: str) -> float | None:
    value = e.value(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def electricity_intensity_today(twin: Twin, now: datetime | None = None) -> dict[str, float]:
    """Electricity used today per m² of floor area [kWh/m²], by building id, from the buildings' main electricity
    meters (sub-meters would count the same kWh twice).

    Electricity alone, not all carriers: kWh, m³ of water and m³ of gas do not add up. A building with no
    main-meter reading today is absent (shown as "not available"). Three store questions in all."""
    from lingang_twin.core.twin import SHANGHAI

    if "Meter" not in twin.types:
        return {}
    meters = twin.query(types=["Meter"], q='carrier=="electricity";endUse=="main"', limit=LAYER_LIMIT)
    building_of: dict[str, str] = {}
    for m in meters.entities:
        rel = m.relationships.get("containedIn")
        if rel is not None and rel.targets:
            building_of[m.id] = rel.targets[0]
    used: dict[str, float] = {}
    start = (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
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


METRICS = (
    BuildingMetric("energyIntensity", ("今日单位面积用电", "Electricity today per m²"), ("kWh/m²", "kWh/m²"),
                   lambda twin, config, now: electricity_intensity_today(twin, now)),
)


# -- map layers -------------------------------------------------------------------------------------------------
def _name(e: Entity, lang: str) -> str:
    return e.display_name(lang)


def _centre(e: Entity) -> tuple[float, float] | None:
    return centroid_lat_lon(e.geo.get("location"))


def station_markers(twin: Twin, lang: str = "zh", now: datetime | None = None) -> list[Marker]:
    """EV charging and hydrogen stations at their own location (a polygon's centroid), or — when they have none —
    at the centroid of what contains them (their building or site)."""
    types = [t for t in STATION_TYPES if t in twin.types]
    if not types:
        return []
    stations = twin.query(types=types, limit=LAYER_LIMIT, order_by=["type", "id"]).entities
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
            out.append(Marker(e.id, e.type, _name(e, lang), centre[0], centre[1]))
    return out


def meter_markers(twin: Twin, lang: str = "zh", now: datetime | None = None) -> list[Marker]:
    """Metered places: one point per entity that contains meters (a building, a station), at its centroid, valued
    with how many meters it holds. Meters carry no geometry of their own, and a dot per meter would stack dozens
    on one spot; the point opens the building, whose page lists its meters. Two store questions."""
    if "Meter" not in twin.types:
        return []
    meters = twin.query(types=["Meter"], limit=LAYER_LIMIT).entities
    counts: dict[str, int] = {}
    for m in meters:
        holder = m.target("containedIn")
        if holder is not None:
            counts[holder] = counts.get(holder, 0) + 1
    found = twin.get_many(sorted(counts)) if counts else {}
    out = []
    for pid, n in sorted(counts.items()):
        parent = found.get(pid)
        centre = _centre(parent) if parent is not None else None
        if parent is not None and centre is not None:
            out.append(Marker(pid, parent.type, _name(parent, lang), centre[0], centre[1], float(n)))
    return out


def _station_label(twin: Twin, m: Marker, lang: str) -> str:
    label = twin.types.get(m.type).label if m.type in twin.types else ("", "")
    return f"{m.name} · {(pick(label, lang) if label else '') or m.type}"


def _meter_label(twin: Twin, m: Marker, lang: str) -> str:
    n = f"{m.value or 0:,.0f}"
    return pick((f"{m.name}：{n} 块计量表", f"{m.name}: {n} meters"), lang)


LAYERS = (
    MapLayer("stations", ("充电站与加氢站", "EV charging & hydrogen stations"), "#00897b", station_markers,
             _station_label),
    MapLayer("meters", ("计量表（按所在建筑）", "Meters (by building)"), "#6d4c41", meter_markers, _meter_label,
             radius=4),
)


# -- words ------------------------------------------------------------------------------------------------------
def words() -> dict[str, Words]:
    """The pack's property names (``prop.<name>``) and enumerated values (``value.<property>.<value>``, the
    carriers among them) in Chinese and English."""
    from lingang_twin.energy.carriers import CARRIER_LABELS
    from lingang_twin.energy.types import PROPERTY_LABELS, VALUE_LABELS

    return {**{f"prop.{name}": pair for name, pair in PROPERTY_LABELS.items()},
            **{f"value.{name}.{value}": pair for name, values in VALUE_LABELS.items()
               for value, pair in values.items()},
            **{f"value.carrier.{c}": pair for c, pair in CARRIER_LABELS.items()}}


__all__ = ["LAYERS", "METRICS", "TILES", "electricity_intensity_today", "meter_markers", "station_markers",
           "words"]
