"""The Lingang IICZ demo twin: district, zones, parcels, roads, buildings, meters, parking, shuttle, stations.

Everything is generated from one random seed, deterministically: the same seed gives the same layout, byte for
byte. The geography is **illustrative, not surveyed** (示意，非测绘): three functional areas totalling 6.9 km² on
land north-west of Dishui Lake (滴水湖, centre ≈ 121.93 °E, 30.90 °N, radius ≈ 1.33 km), a street grid with the
lake's ring road, and a building programme following the newspaper feature in ``DOMAIN.md`` — Lingang Center (the
World Laureates Forum venue), the 100,000 m² International Joint Laboratory, labs and tech platforms, 9 schools,
2 community service centres, 1 health service centre, public rental housing, retail, Möbius Park, the Sci-Tech
Headquarters Bay towers and the Science & Technology City with the Chuangjing Tech Centre and the Innovation Magic
Cube. Road and building names other than those are invented.

Geometry is built in metres on a local azimuthal equidistant projection centred on the lake and turned into WGS84
lon/lat at the end, so every distance and area below is in real metres.

:func:`plan_layout` returns a :class:`LayoutPlan` (the entity dicts plus what the telemetry simulator needs to know
about each building, meter and station); :func:`build_layout` returns just the entity dicts, parents before
children, ready for ``twin.upsert``.
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, Polygon, box

from lingang_twin.core.geometry import geodesic_area_m2
from lingang_twin.core.packs import DemoBuilding, DemoCarPark, DemoLayout, DemoPlan, DemoStop, Pack, ordered
from lingang_twin.energy import PACK as ENERGY_PACK
from lingang_twin.energy.demo import HYDROGEN_METER_ID, HYDROGEN_SINCE, HYDROGEN_STATION_ID
from lingang_twin.energy.demo.profiles import USES
from lingang_twin.mobility import PACK as MOBILITY_PACK
from lingang_twin.mobility.demo import ROUTE_ID

DEMO_DISTRICT_ID = "urn:ngsi-ld:District:lingang-iicz"
DEFAULT_SEED = 2022
LAKE_CENTRE = (121.93, 30.90)  # Dishui Lake [lon, lat degrees]
LAKE_RADIUS_M = 1330.0
SHORE_RADIUS_M = 1500.0  # the lake plus its shore park and ring road: no zone reaches inside
GEOMETRY_NOTE = "illustrative, not surveyed / 示意，非测绘"
LINGANG_SPECIAL_AREA_FOUNDED = date(2019, 8, 20)
LATEST_LIFECYCLE_DATE = date(2026, 6, 30)  # no lifecycle change after this: the layout must not depend on "today"

ZONE_IDS = {
    "hq": "urn:ngsi-ld:Zone:sci-tech-hq-bay",
    "tsc": "urn:ngsi-ld:Zone:top-scientists-community",
    "stc": "urn:ngsi-ld:Zone:science-technology-city",
}
LINGANG_CENTER_ID = "urn:ngsi-ld:Building:lingang-center"
JOINT_LAB_ID = "urn:ngsi-ld:Building:international-joint-lab"
WEATHER_STATION_ID = "urn:ngsi-ld:WeatherStation:lingang-iicz-aws"
DEMO_PACKS: list[Pack] = [MOBILITY_PACK, ENERGY_PACK]
"""The packs of the demo district: each adds its entities over the demo's plan (``Pack.demo_layout``)."""

_ROAD_GAP_M = 12.0  # parcels stop this far from the grid lines (half a road)
_BUILDING_SPACING_M = 15.0
_SETBACK_M = 8.0


# -- projection -------------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _to_lonlat() -> Transformer:
    aeqd = f"+proj=aeqd +lat_0={LAKE_CENTRE[1]} +lon_0={LAKE_CENTRE[0]} +datum=WGS84 +units=m"
    return Transformer.from_crs(aeqd, "EPSG:4326", always_xy=True)


def lonlat(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Local metres east/north of the lake centre → (lon, lat) degrees (arrays in, arrays out)."""
    lon, lat = _to_lonlat().transform(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return np.asarray(lon), np.asarray(lat)


def _coords(xy: Any) -> list[list[float]]:
    arr = np.asarray(xy, dtype=np.float64)
    lon, lat = lonlat(arr[:, 0], arr[:, 1])
    # 7 decimals ≈ 1 cm: plenty, and keeps the JSON small.
    return [[round(float(a), 7), round(float(b), 7)] for a, b in zip(lon, lat, strict=True)]


def to_geojson(geom: shapely.Geometry) -> dict[str, Any]:
    """A shapely geometry in local metres → GeoJSON in lon/lat."""
    if isinstance(geom, Point):
        return {"type": "Point", "coordinates": _coords([[geom.x, geom.y]])[0]}
    if isinstance(geom, LineString):
        return {"type": "LineString", "coordinates": _coords(geom.coords)}
    if isinstance(geom, Polygon):
        rings = [geom.exterior, *geom.interiors]
        return {"type": "Polygon", "coordinates": [_coords(r.coords) for r in rings]}
    raise TypeError(f"unsupported geometry {geom.geom_type}")


# -- the plan ---------------------------------------------------------------------------------------------------
@dataclass
class BuildingPlan:
    """A building as the simulator needs it. ``operation_since`` is ``None`` unless it is in operation."""

    id: str
    key: str
    use: str
    zone: str
    floor_area_m2: float
    phase: str
    operation_since: date | None
    footprint: Polygon
    parcel_id: str = ""


@dataclass
class MeterPlan:
    """A meter: ``end_use`` is ``"main"`` for a building's main meter (the sum of all its end uses of the carrier)."""

    id: str
    building_id: str
    carrier: str
    end_use: str
    register: str
    register_max: float | None
    operation_since: date


@dataclass
class ParkingPlan:
    """A car park with its spots (ids and categories) and the pattern its users follow."""

    id: str
    kind: str
    spot_ids: list[str]
    spot_categories: list[str]
    operation_since: date


@dataclass
class ChargerPlan:
    """An EV charging station: sockets of ``socket_kw`` each, used like car park ``kind``."""

    id: str
    sockets: int
    socket_kw: float
    kind: str
    operation_since: date


@dataclass
class RoutePlan:
    """The shuttle loop in local metres, its stops' distances along it [m] and the vehicles serving it."""

    id: str
    path: LineString
    stop_ids: list[str]
    stop_distances_m: list[float]
    vehicle_ids: list[str]
    seats: int


@dataclass
class LayoutPlan:
    """The demo layout: ``entities`` (dicts for ``twin.upsert``, parents first) and the simulator's view of it."""

    seed: int
    entities: list[dict[str, Any]]
    buildings: list[BuildingPlan]
    meters: list[MeterPlan]
    parking: list[ParkingPlan]
    chargers: list[ChargerPlan]
    route: RoutePlan
    hydrogen_station_id: str = HYDROGEN_STATION_ID
    hydrogen_meter_id: str = HYDROGEN_METER_ID
    hydrogen_capacity_kg_day: float = 1000.0
    hydrogen_storage_kg: float = 1500.0
    hydrogen_since: date = HYDROGEN_SINCE
    weather_station_id: str = WEATHER_STATION_ID
    zone_areas_km2: dict[str, float] = field(default_factory=dict)


# -- geography (local metres; x east, y north of the lake centre) -----------------------------------------------
_X_LINES = (-3350.0, -2750.0, -2200.0, -1600.0, -900.0, -200.0, 500.0)
_Y_LINES = (-300.0, 500.0, 1200.0, 1900.0, 2550.0)


def _lake_shore() -> Polygon:
    return Point(0, 0).buffer(SHORE_RADIUS_M, quad_segs=64)


def zone_polygons() -> dict[str, Polygon]:
    """The three functional areas in local metres (fixed geography, independent of the seed)."""
    shore = _lake_shore()
    return {
        "stc": box(-3350, -300, -2200, 1900),
        "tsc": box(-2200, -300, 0, 1900).difference(shore),
        "hq": box(-2200, 1900, 500, 2550),
    }


_ZONE_NAMES = {
    "hq": ("科创总部湾", "Sci-Tech Headquarters Bay", "headquarters economy, AI and IC company headquarters"),
    "tsc": ("顶尖科学家社区", "Top Scientists Community",
            "World Laureates Forum venue, international joint laboratory, labs, schools, housing"),
    "stc": ("科技城", "Science & Technology City", "R&D, incubation, pilot plants, computing"),
}


def _arc(radius: float, start_deg: float, end_deg: float, step_deg: float = 2.5) -> list[tuple[float, float]]:
    n = max(2, int(abs(end_deg - start_deg) / step_deg) + 1)
    return [(radius * math.cos(math.radians(a)), radius * math.sin(math.radians(a)))
            for a in np.linspace(start_deg, end_deg, n)]


def _shore_y(x: float) -> float:
    return math.sqrt(max(SHORE_RADIUS_M**2 - x * x, 0.0))


def _shore_x(y: float) -> float:
    return -math.sqrt(max(SHORE_RADIUS_M**2 - y * y, 0.0))


# (key, 中文, English, roadClass, lanes, speed limit [km/h], path in metres)
def _roads() -> list[tuple[str, str, str, str, int, float, list[tuple[float, float]]]]:
    return [
        ("huanhu-west-1st-road", "环湖西一路", "Huanhu West 1st Road", "secondary", 4, 40.0,
         _arc(SHORE_RADIUS_M, 80.0, 192.0)),
        ("shengang-avenue", "申港大道", "Shengang Avenue", "primary", 6, 60.0,
         [(-3350, 500), (_shore_x(500), 500)]),
        ("kechuang-road", "科创路", "Kechuang Road", "secondary", 4, 50.0, [(-3350, 1200), (-900, 1200)]),
        ("zongbuwan-road", "总部湾路", "Zongbuwan Road", "secondary", 4, 50.0, [(-3350, 1900), (500, 1900)]),
        ("wanbei-road", "湾北路", "Wanbei Road", "tertiary", 2, 40.0, [(-2200, 2550), (500, 2550)]),
        ("linhu-south-road", "临湖南路", "Linhu South Road", "secondary", 4, 50.0,
         [(-3350, -300), (_shore_x(-300), -300)]),
        ("kejicheng-west-road", "科技城西路", "Kejicheng West Road", "secondary", 4, 50.0,
         [(-3350, -300), (-3350, 1900)]),
        ("kejicheng-middle-road", "科技城中路", "Kejicheng Middle Road", "tertiary", 2, 40.0,
         [(-2750, -300), (-2750, 1900)]),
        ("dingke-road", "顶科路", "Dingke Road", "secondary", 4, 50.0, [(-2200, -300), (-2200, 2550)]),
        ("shuyuan-road", "书院路", "Shuyuan Road", "tertiary", 2, 40.0, [(-1600, -300), (-1600, 2550)]),
        ("xuelin-road", "学林路", "Xuelin Road", "residential", 2, 30.0, [(-900, _shore_y(-900)), (-900, 2550)]),
        ("hujing-road", "湖景路", "Hujing Road", "tertiary", 2, 40.0, [(-200, _shore_y(-200)), (-200, 2550)]),
        ("wandong-road", "湾东路", "Wandong Road", "tertiary", 2, 40.0, [(500, _shore_y(500)), (500, 2550)]),
    ]


# -- the building programme -------------------------------------------------------------------------------------
@dataclass
class _Spec:
    key: str
    name: str
    name_en: str
    use: str
    zone: str
    floor_area: float
    floors: int
    land_use: str
    phase: str = "operation"
    lifecycle: list[tuple[str, date]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    aspect: tuple[float, float] = (1.0, 2.2)
    near_lake: bool = False


_LAB_FIELDS = [
    ("人工智能", "Artificial Intelligence", "ai"), ("集成电路", "Integrated Circuits", "ic"),
    ("生物医药", "Biomedicine", "biomed"), ("新材料", "New Materials", "materials"),
    ("脑科学", "Brain Science", "brain"), ("量子信息", "Quantum Information", "quantum"),
    ("海洋科学", "Marine Science", "marine"), ("合成生物学", "Synthetic Biology", "synbio"),
]
_SECTORS = [("人工智能", "AI"), ("集成电路", "IC"), ("生物医药", "Biomedicine"), ("新材料", "New Materials"),
            ("数字经济", "Digital Economy"), ("总部经济", "Headquarters")]


def _programme(rng: np.random.Generator) -> list[_Spec]:
    """The buildings of the IICZ (named ones with fixed sizes, the rest sized from the seed)."""
    u = rng.uniform
    specs: list[_Spec] = [
        _Spec("lingang-center", "临港中心", "Lingang Center", "venue", "tsc", 120_000, 8, "public",
              lifecycle=[("planned", date(2019, 9, 1)), ("design", date(2019, 12, 1)),
                         ("construction", date(2020, 9, 1)), ("operation", date(2023, 10, 15))],
              extra={"functions": ["conference", "hotel", "library", "theatre"],
                     "description": "World Laureates Forum permanent venue (the 'egret' facing Dishui Lake): "
                                    "conference halls, digital library, theatre, hotel / 世界顶尖科学家论坛永久会址"},
              aspect=(1.6, 2.0), near_lake=True),
        _Spec("international-joint-lab", "国际联合实验室", "International Joint Laboratory", "lab", "tsc", 100_000, 6,
              "research", lifecycle=[("planned", date(2019, 10, 1)), ("design", date(2020, 5, 1)),
                                     ("construction", date(2021, 6, 1)), ("operation", date(2025, 3, 31))],
              aspect=(1.2, 1.5), near_lake=True),
        _Spec("mobius-park", "莫比乌斯公园", "Möbius Park", "park", "tsc", 2_400, 2, "public",
              lifecycle=[("planned", date(2019, 11, 1)), ("design", date(2020, 3, 1)),
                         ("construction", date(2021, 3, 1)), ("operation", date(2022, 9, 28))],
              extra={"description": "park pavilion and visitor centre of Möbius Park / 莫比乌斯公园服务中心"},
              near_lake=True),
    ]
    # Top Scientists Community: labs (two still being built, one in design), tech platforms, workstations.
    for i, (zh, en, code) in enumerate(_LAB_FIELDS):
        phase = "construction" if i in (5, 6) else "design" if i == 7 else "operation"
        specs.append(_Spec(f"tsc-lab-{code}", f"顶科{zh}实验室", f"Top Scientists {en} Laboratory", "lab", "tsc",
                           round(u(15_000, 40_000), -2), int(rng.integers(4, 8)), "research", phase=phase,
                           extra={"field": en}))
    platforms = [("ai-compute", "人工智能公共算力平台", "AI Public Computing Platform"),
                 ("ic-design", "集成电路设计服务平台", "IC Design Service Platform"),
                 ("biomed-service", "生物医药公共服务平台", "Biomedicine Public Service Platform"),
                 ("materials-testing", "新材料检测平台", "New Materials Testing Platform"),
                 ("science-data", "科学数据平台", "Scientific Data Platform")]
    for code, zh, en in platforms:
        specs.append(_Spec(f"tsc-platform-{code}", zh, en, "tech_platform", "tsc", round(u(8_000, 25_000), -2),
                           int(rng.integers(3, 7)), "research"))
    for i in range(1, 9):
        area = round(u(2_500, 4_500), -2)
        specs.append(_Spec(f"tsc-workstation-{i}", f"科学家工作站 {i} 号", f"Scientist Workstation {i}", "office",
                           "tsc", area, 3, "research", extra={"subtype": "scientist_workstation"}))
    schools = [("kindergarten-1", "临港顶科实验幼儿园", "Lingang Top Scientists Experimental Kindergarten",
                "kindergarten", 6_000, 3),
               ("kindergarten-2", "湖畔幼儿园", "Lakeside Kindergarten", "kindergarten", 5_000, 3),
               ("kindergarten-3", "书院幼儿园", "Shuyuan Kindergarten", "kindergarten", 5_500, 3),
               ("primary-1", "顶科实验小学", "Top Scientists Experimental Primary School", "primary", 22_000, 4),
               ("primary-2", "湖畔小学", "Lakeside Primary School", "primary", 20_000, 4),
               ("middle-1", "顶科实验中学", "Top Scientists Experimental Middle School", "middle", 28_000, 5),
               ("high-1", "临港科技高级中学", "Lingang Science High School", "high", 35_000, 5),
               ("international", "临港国际学校", "Lingang International School", "k12", 40_000, 5),
               ("nine-year", "临港九年一贯制学校", "Lingang Nine-Year School", "nine_year", 30_000, 5)]
    for i, (code, zh, en, level, area, floors) in enumerate(schools):
        specs.append(_Spec(f"tsc-school-{code}", zh, en, "school", "tsc", area, floors, "education",
                           phase="construction" if i == 8 else "operation", extra={"schoolLevel": level}))
    specs += [
        _Spec("tsc-community-centre-1", "顶科社区综合服务中心", "Top Scientists Community Service Centre",
              "community_centre", "tsc", 9_000, 4, "community"),
        _Spec("tsc-community-centre-2", "湖畔社区服务中心", "Lakeside Community Service Centre", "community_centre",
              "tsc", 7_000, 4, "community"),
        _Spec("tsc-health-centre", "顶科社区卫生服务中心", "Top Scientists Community Health Service Centre",
              "health_centre", "tsc", 12_000, 5, "community"),
    ]
    for i in range(1, 41):
        phase = "construction" if i > 37 else "operation"
        specs.append(_Spec(f"tsc-housing-{i:02d}", f"顶科人才公寓 {i} 号楼", f"Top Scientists Public Rental Housing "
                           f"Block {i}", "residential", "tsc", round(u(11_000, 20_000), -2), int(rng.integers(12, 25)),
                           "residential", phase=phase, extra={"tenure": "public_rental"}, aspect=(2.4, 3.4)))
    retail = [("neighbourhood-centre", "顶科邻里中心", "Top Scientists Neighbourhood Centre", 15_000, 3),
              ("retail-street-1", "顶科商业街 A 区", "Dingke Retail Street A", 6_000, 2),
              ("retail-street-2", "顶科商业街 B 区", "Dingke Retail Street B", 5_000, 2),
              ("lakeside-market", "湖畔生活超市", "Lakeside Market", 3_500, 2),
              ("book-cafe", "顶科书咖", "Dingke Book Café", 2_000, 2)]
    for code, zh, en, area, floors in retail:
        specs.append(_Spec(f"tsc-{code}", zh, en, "retail", "tsc", area, floors, "community"))
    # Sci-Tech Headquarters Bay: towers (some in design or construction), a hotel, an exhibition centre, retail.
    for i in range(1, 31):
        zh_sector, en_sector = _SECTORS[(i - 1) % len(_SECTORS)]
        phase = "design" if i > 27 else "construction" if i > 22 else "planned" if i == 22 else "operation"
        floors = int(rng.integers(10, 36))
        specs.append(_Spec(f"hq-tower-{i:02d}", f"科创总部湾 {i} 号楼（{zh_sector}总部）",
                           f"HQ Bay Tower {i} ({en_sector} headquarters)", "office", "hq",
                           round(u(25_000, 80_000), -2), floors, "commercial", phase=phase,
                           extra={"sector": en_sector}, aspect=(1.0, 1.6)))
    specs += [
        _Spec("hq-exhibition-centre", "科创总部湾展示中心", "HQ Bay Exhibition Centre", "office", "hq", 12_000, 3,
              "commercial"),
        _Spec("hq-hotel", "总部湾酒店", "HQ Bay Hotel", "hotel", "hq", 45_000, 20, "commercial"),
        _Spec("hq-retail-1", "总部湾商业中心", "HQ Bay Shopping Centre", "retail", "hq", 30_000, 4, "commercial"),
        _Spec("hq-retail-2", "总部湾美食广场", "HQ Bay Food Court", "retail", "hq", 6_000, 2, "commercial"),
        _Spec("hq-retail-3", "总部湾便利中心", "HQ Bay Convenience Centre", "retail", "hq", 2_500, 2, "commercial"),
    ]
    # Science & Technology City: Chuangjing Tech Centre, the incubator, the computing centre, R&D, pilot plants.
    for i in range(1, 7):
        specs.append(_Spec(f"stc-chuangjing-{i}", f"创晶科技中心 {i} 号楼", f"Chuangjing Tech Centre Building {i}",
                           "office", "stc", round(u(15_000, 25_000), -2), int(rng.integers(6, 13)), "research",
                           extra={"park": "Chuangjing Tech Centre / 创晶科技中心"}))
    specs += [
        _Spec("innovation-magic-cube", "创新魔方", "Innovation Magic Cube", "incubator", "stc", 18_000, 6, "research",
              lifecycle=[("planned", date(2019, 10, 1)), ("design", date(2020, 1, 1)),
                         ("construction", date(2020, 8, 1)), ("operation", date(2021, 12, 1))],
              extra={"description": "incubator where new enterprises join the zone / 企业入驻孵化器"}),
        _Spec("stc-ai-computing-centre", "临港智算中心", "Lingang AI Computing Centre", "data_centre", "stc", 12_000, 4,
              "utility", lifecycle=[("planned", date(2020, 3, 1)), ("design", date(2020, 9, 1)),
                                    ("construction", date(2021, 6, 1)), ("operation", date(2023, 3, 1))]),
    ]
    for i in range(1, 19):
        zh_sector, en_sector = _SECTORS[i % 5]
        phase = "construction" if i > 15 else "operation"
        specs.append(_Spec(f"stc-rnd-{i:02d}", f"科技城研发楼 {i} 号（{zh_sector}）",
                           f"S&T City R&D Building {i} ({en_sector})", "office", "stc",
                           round(u(10_000, 30_000), -2), int(rng.integers(5, 15)), "research", phase=phase,
                           extra={"sector": en_sector}))
    for i, (zh, en, _code) in enumerate(_LAB_FIELDS[:6], start=1):
        specs.append(_Spec(f"stc-pilot-{i}", f"{zh}中试基地", f"{en} Pilot Plant", "lab", "stc",
                           round(u(8_000, 20_000), -2), int(rng.integers(2, 5)), "research",
                           phase="design" if i == 6 else "operation", extra={"field": en}))
    for i in range(1, 9):
        specs.append(_Spec(f"stc-apartments-{i}", f"科技城人才公寓 {i} 号楼", f"S&T City Talent Apartments {i}",
                           "residential", "stc", round(u(12_000, 18_000), -2), int(rng.integers(12, 20)),
                           "residential", extra={"tenure": "public_rental"}, aspect=(2.4, 3.4)))
    specs += [
        _Spec("stc-canteen", "科技城员工餐厅", "S&T City Staff Canteen", "retail", "stc", 4_000, 2, "research"),
        _Spec("stc-retail", "科技城生活广场", "S&T City Lifestyle Plaza", "retail", "stc", 9_000, 3, "residential"),
    ]
    return specs


_ZONE_LAND_USES = {
    # Parcels of each zone, nearest the lake first, take these land uses in turn (the last one repeats).
    "tsc": ["public", "research", "research", "education", "residential", "community", "residential",
            "education", "research", "residential", "residential", "education", "residential"],
    "hq": ["commercial"],
    "stc": ["research", "research", "residential", "research", "utility", "research", "residential", "research"],
}


def _parcels(rng: np.random.Generator, zones: dict[str, Polygon]) -> list[tuple[str, str, Polygon]]:
    """(zone, land use, polygon) of every parcel: street-grid blocks, some split in two, set back from the roads."""
    out: list[tuple[str, Polygon]] = []
    for code in ("stc", "tsc", "hq"):
        zone = zones[code]
        for x0, x1 in itertools.pairwise(_X_LINES):
            for y0, y1 in itertools.pairwise(_Y_LINES):
                cell = box(x0, y0, x1, y1).intersection(zone)
                if cell.area < 60_000:
                    continue
                parts = [cell]
                if cell.area > 250_000:
                    cut = float(rng.uniform(0.4, 0.6))
                    minx, miny, maxx, maxy = cell.bounds
                    if maxx - minx >= maxy - miny:
                        xm = minx + cut * (maxx - minx)
                        halves = [box(minx, miny, xm, maxy), box(xm, miny, maxx, maxy)]
                    else:
                        ym = miny + cut * (maxy - miny)
                        halves = [box(minx, miny, maxx, ym), box(minx, ym, maxx, maxy)]
                    parts = [cell.intersection(h) for h in halves]
                for part in parts:
                    inner = part.buffer(-_ROAD_GAP_M, join_style="mitre")
                    if isinstance(inner, shapely.MultiPolygon):
                        inner = max(inner.geoms, key=lambda g: g.area)
                    if isinstance(inner, Polygon) and inner.area >= 20_000:
                        out.append((code, shapely.set_precision(inner, 0.01)))
    result: list[tuple[str, str, Polygon]] = []
    for code in ("stc", "tsc", "hq"):
        mine = sorted((p for c, p in out if c == code), key=lambda p: (p.centroid.distance(Point(0, 0)), p.bounds))
        uses = _ZONE_LAND_USES[code]
        for i, poly in enumerate(mine):
            result.append((code, uses[min(i, len(uses) - 1)], poly))
    return result


class _Placer:
    """Places rectangles inside parcels, keeping them apart (non-overlapping footprints by construction)."""

    def __init__(self, rng: np.random.Generator, parcels: list[tuple[str, str, Polygon]]) -> None:
        self.rng = rng
        self.parcels = parcels
        self.inner = [p.buffer(-_SETBACK_M, join_style="mitre") for _, _, p in parcels]
        self.placed: list[list[Polygon]] = [[] for _ in parcels]

    def _fits(self, i: int, rect: Polygon) -> bool:
        if not self.inner[i].contains(rect):
            return False
        return all(rect.distance(other) >= _BUILDING_SPACING_M for other in self.placed[i])

    def place(self, zone: str, land_use: str, w: float, h: float, *, near_lake: bool = False,
              parcel: int | None = None, tries: int = 80) -> tuple[int, Polygon]:
        """Put a w × h [m] rectangle into a parcel of ``zone`` with ``land_use`` (or any parcel of the zone)."""
        if parcel is not None:
            candidates = [parcel]
        else:
            same = [i for i, (z, lu, _) in enumerate(self.parcels) if z == zone and lu == land_use]
            other = [i for i, (z, lu, _) in enumerate(self.parcels) if z == zone and lu != land_use]
            if near_lake:
                same.sort(key=lambda i: self.parcels[i][2].distance(Point(0, 0)))
            else:
                same = [same[j] for j in self.rng.permutation(len(same))]
            candidates = same + [other[j] for j in self.rng.permutation(len(other))]
        for i in candidates:
            minx, miny, maxx, maxy = self.inner[i].bounds
            if maxx - minx < w or maxy - miny < h:
                continue
            xs = self.rng.uniform(minx + w / 2, maxx - w / 2, tries)
            ys = self.rng.uniform(miny + h / 2, maxy - h / 2, tries)
            order = np.argsort(np.hypot(xs, ys)) if near_lake else np.arange(tries)
            for k in order:
                rect = box(xs[k] - w / 2, ys[k] - h / 2, xs[k] + w / 2, ys[k] + h / 2)
                rect = shapely.set_precision(rect, 0.01)
                if self._fits(i, rect):
                    self.placed[i].append(rect)
                    return i, rect
        raise RuntimeError(f"no room for a {w:.0f} × {h:.0f} m footprint in zone {zone} ({land_use})")


def _lifecycle(rng: np.random.Generator, phase: str) -> list[tuple[str, date]]:
    """A dated phase history ending in ``phase``: planned → design → construction → operation, 2019–2026."""

    def day(lo: date, hi: date) -> date:
        return lo + timedelta(days=int(rng.integers(0, max((hi - lo).days, 1))))

    earliest = date(2019, 1, 15)
    if phase == "operation":
        op = day(date(2020, 10, 1), LATEST_LIFECYCLE_DATE)
        con = op - timedelta(days=int(rng.integers(540, 900)))
        des = con - timedelta(days=int(rng.integers(180, 360)))
        pla = des - timedelta(days=int(rng.integers(90, 240)))
        steps = [("planned", pla), ("design", des), ("construction", con), ("operation", op)]
    elif phase == "construction":
        con = day(date(2024, 1, 1), LATEST_LIFECYCLE_DATE)
        des = con - timedelta(days=int(rng.integers(200, 420)))
        steps = [("planned", des - timedelta(days=int(rng.integers(90, 300)))), ("design", des),
                 ("construction", con)]
    elif phase == "design":
        des = day(date(2025, 1, 1), LATEST_LIFECYCLE_DATE)
        steps = [("planned", des - timedelta(days=int(rng.integers(120, 400)))), ("design", des)]
    else:
        steps = [("planned", day(date(2025, 6, 1), LATEST_LIFECYCLE_DATE))]
    # Squeeze anything before the start of the programme into its first months, keeping the order.
    out: list[tuple[str, date]] = []
    for i, (ph, d) in enumerate(steps):
        d = max(d, earliest + timedelta(days=30 * i))
        if out and d <= out[-1][1]:
            d = out[-1][1] + timedelta(days=30)
        out.append((ph, d))
    return out


def _life(steps: list[tuple[str, date]]) -> list[dict[str, Any]]:
    return [{"phase": p, "since": d} for p, d in steps]


def _rect_dims(rng: np.random.Generator, area: float, aspect: tuple[float, float]) -> tuple[float, float]:
    r = float(rng.uniform(*aspect))
    long_side = math.sqrt(area * r)
    short_side = area / long_side
    return (long_side, short_side) if rng.random() < 0.5 else (short_side, long_side)


# -- parking and the shuttle loop: where they are (their entities are the packs') -------------------------------
# (key, 中文, English, building key, spots, EV spots, accessible spots, charger kW per socket, users' pattern)
_CAR_PARKS = [
    ("lingang-center", "临港中心停车场", "Lingang Center Car Park", "lingang-center", 80, 12, 4, 7.0, "venue"),
    ("joint-lab", "国际联合实验室停车场", "International Joint Laboratory Car Park", "international-joint-lab", 50, 8,
     2, 7.0, "office"),
    ("chuangjing", "创晶科技中心智慧停车场", "Chuangjing Tech Centre Smart Car Park", "stc-chuangjing-1", 70, 12, 3,
     60.0, "office"),
    ("magic-cube", "创新魔方停车场", "Innovation Magic Cube Car Park", "innovation-magic-cube", 40, 6, 2, 7.0,
     "office"),
    ("hq-bay", "总部湾公共停车场", "HQ Bay Public Car Park", "hq-exhibition-centre", 60, 10, 3, 60.0, "office"),
    ("community-centre", "顶科社区服务中心停车场", "Community Service Centre Car Park", "tsc-community-centre-1", 30,
     4, 2, 7.0, "community"),
    ("health-centre", "社区卫生服务中心停车场", "Health Service Centre Car Park", "tsc-health-centre", 25, 2, 3, 7.0,
     "community"),
]
_SPOT_AREA_M2 = 28.0  # one spot with its share of the aisle
_HUB_KIND = "hub"  # the users' pattern of a charger that belongs to no car park (the supercharging hub)


def _loop_path() -> LineString:
    # Along the street grid: Shengang Ave → Shuyuan Rd → Kechuang Rd → Xuelin Rd → Zongbuwan Rd → Kejicheng Middle Rd.
    return LineString([(-2750, 500), (-1600, 500), (-1600, 1200), (-900, 1200), (-900, 1900), (-2750, 1900),
                       (-2750, 500)])


_STOPS = [
    ("创晶科技中心", "Chuangjing Tech Centre", (-2750, 500)),
    ("申港大道顶科路", "Shengang Ave / Dingke Rd", (-2200, 500)),
    ("临港中心", "Lingang Center", (-1600, 850)),
    ("顶科社区中心", "Top Scientists Community Centre", (-1250, 1200)),
    ("顶科学校", "Top Scientists Schools", (-900, 1550)),
    ("科创总部湾", "Sci-Tech HQ Bay", (-1500, 1900)),
    ("顶科路人才公寓", "Dingke Rd Talent Housing", (-2200, 1900)),
    ("创新魔方", "Innovation Magic Cube", (-2750, 1200)),
]


# -- the layout -------------------------------------------------------------------------------------------------
def _entity(eid: str, etype: str, props: dict[str, Any], *, rels: dict[str, Any] | None = None,
            geo: shapely.Geometry | None = None, lifecycle: list[tuple[str, date]] | None = None,
            since: date | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": eid, "type": etype, "properties": props}
    if rels:
        out["relationships"] = rels
    if geo is not None:
        out["geo"] = {"location": to_geojson(geo)}
    if lifecycle:
        out["lifecycle"] = _life(lifecycle)
    else:
        out["phase"] = "operation"
        out["phase_since"] = since or LINGANG_SPECIAL_AREA_FOUNDED
    return out


@lru_cache(maxsize=4)
def _cached_plan(seed: int) -> LayoutPlan:
    return _plan(seed, ordered(DEMO_PACKS))


def plan_layout(seed: int = DEFAULT_SEED) -> LayoutPlan:
    """The demo layout for ``seed`` with the simulator's view of it (cached per seed; treat it as read-only)."""
    return _cached_plan(int(seed))


def build_layout(seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """The demo twin's entities for ``seed``, parents before children, ready for ``twin.upsert``.

    Deterministic: the same seed gives an identical list (a fresh copy each call). Ids are stable across seeds;
    positions, sizes, dates, meter registers and the like change with the seed.
    """
    return copy.deepcopy(plan_layout(seed).entities)


def plan_for(seed: int, packs: list[Pack] | tuple[Pack, ...]) -> LayoutPlan:
    """The layout of ``seed`` with only ``packs``' parts (not cached). Without a pack whose building hook draws
    from the plan's generator (the energy pack's meters) the rest of the district is drawn differently."""
    return _plan(int(seed), ordered(packs))


def _parts(packs: tuple[Pack, ...]) -> list[DemoLayout]:
    return [p.demo_layout for p in packs if p.demo_layout is not None]


def _plan(seed: int, packs: tuple[Pack, ...]) -> LayoutPlan:
    """The district (the demo's own part: geometry and programme, one random generator) and each pack's entities
    over it, in the packs' order. The generator's draws keep the order they always had — the packs' building
    hooks draw between buildings — so the same seed gives the same district."""
    parts = _parts(packs)
    rng = np.random.default_rng(seed)
    zones = zone_polygons()
    entities: list[dict[str, Any]] = []
    district_shape = shapely.union_all(list(zones.values()))
    zone_geo = {code: to_geojson(poly) for code, poly in zones.items()}
    zone_areas = {code: geodesic_area_m2(g) / 1e6 for code, g in zone_geo.items()}
    entities.append(_entity(DEMO_DISTRICT_ID, "District", {
        "name": "临港新片区国际创新协同区", "nameEn": "Lingang International Innovation Collaborative Zone (IICZ)",
        "area": (round(sum(zone_areas.values()), 3), "km2"), "geometryNote": GEOMETRY_NOTE, "demoSeed": seed,
        "description": "Pilot of the Lingang digital-twin city / 临港数字孪生城市先行区"},
        geo=district_shape, since=LINGANG_SPECIAL_AREA_FOUNDED))
    for code in ("hq", "tsc", "stc"):
        zh, en, focus = _ZONE_NAMES[code]
        entities.append({"id": ZONE_IDS[code], "type": "Zone", "properties": {
            "name": zh, "nameEn": en, "area": (round(zone_areas[code], 3), "km2"), "focus": focus,
            "geometryNote": GEOMETRY_NOTE}, "relationships": {"containedIn": DEMO_DISTRICT_ID},
            "geo": {"location": zone_geo[code]}, "phase": "operation", "phase_since": LINGANG_SPECIAL_AREA_FOUNDED})
    for key, zh, en, road_class, lanes, speed, path in _roads():
        line = LineString(path)
        entities.append(_entity(f"urn:ngsi-ld:Road:{key}", "Road", {
            "name": zh, "nameEn": en, "roadClass": road_class, "totalLaneNumber": lanes,
            "maximumAllowedSpeed": (speed, "km/h"), "length": (round(line.length, 1), "m"),
            "width": (lanes * 3.5 + 4.0, "m")}, rels={"containedIn": DEMO_DISTRICT_ID}, geo=line,
            since=date(2020, 6, 30)))

    parcels = _parcels(rng, zones)
    parcel_ids: list[str] = []
    counters: dict[str, int] = {}
    for code, land_use, poly in parcels:
        counters[code] = counters.get(code, 0) + 1
        pid = f"urn:ngsi-ld:Parcel:{code}-{counters[code]:02d}"
        parcel_ids.append(pid)
        entities.append(_entity(pid, "Parcel", {"name": f"{_ZONE_NAMES[code][0]} {counters[code]:02d} 地块",
                                                "nameEn": f"{_ZONE_NAMES[code][1]} parcel {counters[code]:02d}",
                                                "landUse": land_use, "area": (round(poly.area, 1), "m2")},
                                rels={"containedIn": ZONE_IDS[code]}, geo=poly))

    placer = _Placer(rng, parcels)
    buildings: list[BuildingPlan] = []
    demo_buildings: dict[str, DemoBuilding] = {}
    building_entities: list[dict[str, Any]] = []
    pack_entities: list[dict[str, Any]] = []
    specs = _programme(rng)
    # Large and lakeside buildings first: they need the room.
    order = sorted(range(len(specs)), key=lambda i: (not specs[i].near_lake, -specs[i].floor_area / specs[i].floors))
    placed: dict[int, tuple[int, Polygon]] = {}
    for i in order:
        s = specs[i]
        w, h = _rect_dims(rng, s.floor_area / s.floors, s.aspect)
        placed[i] = placer.place(s.zone, s.land_use, w, h, near_lake=s.near_lake)
    for i, s in enumerate(specs):
        parcel_index, footprint = placed[i]
        use = USES[s.use]
        steps = s.lifecycle or _lifecycle(rng, s.phase)
        phase = steps[-1][0]
        bid = f"urn:ngsi-ld:Building:{s.key}"
        height = round(s.floors * use.floor_height_m + float(rng.uniform(0.5, 3.0)), 1)
        props: dict[str, Any] = {
            "name": s.name, "nameEn": s.name_en, "use": s.use, "floorArea": (s.floor_area, "m2"),
            "floors": s.floors, "height": (height, "m"),
            "occupants": int(s.floor_area / use.m2_per_person * float(rng.uniform(0.6, 0.95))), **s.extra}
        building_entities.append(_entity(bid, "Building", props, rels={"containedIn": parcel_ids[parcel_index]},
                                         geo=footprint, lifecycle=steps))
        plan = BuildingPlan(bid, s.key, s.use, s.zone, s.floor_area, phase,
                            steps[-1][1] if phase == "operation" else None, footprint, parcel_ids[parcel_index])
        buildings.append(plan)
        demo_buildings[s.key] = DemoBuilding(bid, s.key, s.use, s.name, s.name_en, s.floor_area,
                                             plan.operation_since)
        if plan.operation_since is not None:
            # The packs' draws for a building in operation (the energy pack's meter registers) come here, between
            # this building's and the next one's: that is where they have always been in the generator's sequence.
            for part in parts:
                if part.building is not None:
                    pack_entities.extend(part.building(demo_buildings[s.key], rng))
    entities.extend(building_entities)
    entities.extend(pack_entities)

    by_key = {b.key: b for b in buildings}
    footprint_parcel = {b.key: parcel_ids.index(b.parcel_id) for b in buildings}
    car_parks: list[DemoCarPark] = []
    for key, zh, en, bkey, n, n_ev, n_acc, kw, kind in _CAR_PARKS:
        b = by_key[bkey]
        assert b.operation_since is not None, f"car park {key} belongs to {bkey}, which is not in operation"
        w, h = _rect_dims(rng, n * _SPOT_AREA_M2, (1.3, 2.0))
        try:
            pi, lot = placer.place(b.zone, "", w, h, parcel=footprint_parcel[bkey])
        except RuntimeError:
            pi, lot = placer.place(b.zone, "", w, h)
        park = DemoCarPark(f"urn:ngsi-ld:OffStreetParking:{key}", key, zh, en, b.id, parcel_ids[pi], lot, n, n_ev,
                           n_acc, kw, kind, b.operation_since)
        car_parks.append(park)
        for part in parts:
            if part.car_park is not None:
                entities.extend(part.car_park(park, to_geojson))

    # A utility site of the S&T City for an energy station (the energy pack's hydrogen station and hub).
    pi, site = placer.place("stc", "utility", 70, 50)

    # The automatic weather station stands in Möbius Park.
    park_building = by_key["mobius-park"]
    wx = park_building.footprint.centroid
    entities.append(_entity(WEATHER_STATION_ID, "WeatherStation", {
        "name": "临港国际创新协同区自动气象站", "nameEn": "IICZ automatic weather station", "stationCode": "LG-AWS-01",
        "altitude": (4.0, "m")}, rels={"containedIn": park_building.parcel_id},
        geo=Point(wx.x + 35, wx.y), since=date(2021, 1, 1)))

    # The driverless minibus loop of the smart-park pilot, along the street grid.
    path = _loop_path()
    stops = []
    for zh, en, xy in _STOPS:
        pt = Point(xy)
        zone = next((c for c, poly in zones.items() if poly.buffer(20).contains(pt)), "tsc")
        stops.append(DemoStop(zh, en, pt, ZONE_IDS[zone], float(path.project(pt))))
    district = DemoPlan(seed, DEMO_DISTRICT_ID, ZONE_IDS, demo_buildings, (parcel_ids[pi], site), path, stops,
                        _SECTORS, to_geojson)
    for part in parts:
        if part.district is not None:
            entities.extend(part.district(district))
    return _simulator_view(seed, entities, buildings, car_parks, path, stops, zone_areas)


def _simulator_view(seed: int, entities: list[dict[str, Any]], buildings: list[BuildingPlan],
                    car_parks: list[DemoCarPark], path: LineString, stops: list[DemoStop],
                    zone_areas: dict[str, float]) -> LayoutPlan:
    """What the simulator needs to know, read off the entities the packs made (meters, spots, chargers, stops,
    vehicles) and the plan (car parks' patterns, the loop's exact stop distances)."""
    meters: list[MeterPlan] = []
    spots: dict[str, list[tuple[str, str]]] = {c.id: [] for c in car_parks}
    chargers: list[ChargerPlan] = []
    kind_of = {c.id: c.kind for c in car_parks}
    stop_ids: list[str] = []
    stop_distances: list[float] = []
    vehicle_ids: list[str] = []
    seats = 0
    hydrogen_since = HYDROGEN_SINCE
    for e in entities:
        props, rels = e["properties"], e.get("relationships", {})
        if e["type"] == "Meter":
            meters.append(MeterPlan(e["id"], rels["containedIn"], props["carrier"], props["endUse"],
                                    props["register"], props.get("registerMax"), e["phase_since"]))
        elif e["type"] == "ParkingSpot" and rels.get("containedIn") in spots:
            spots[rels["containedIn"]].append((e["id"], props["category"]))
        elif e["type"] == "EVChargingStation":
            chargers.append(ChargerPlan(e["id"], props["socketNumber"], props["socketPower"][0],
                                        kind_of.get(rels.get("containedIn", ""), _HUB_KIND), e["phase_since"]))
        elif e["type"] == "TransitStop" and rels.get("onRoute") == ROUTE_ID:
            stop_ids.append(e["id"])
            stop_distances.append(stops[props["stopSequence"] - 1].distance_m)  # exact, not the rounded property
        elif e["type"] == "Vehicle" and rels.get("servesRoute") == ROUTE_ID:
            vehicle_ids.append(e["id"])
            seats = props["seats"]
        elif e["type"] == "HydrogenStation" and e["id"] == HYDROGEN_STATION_ID:
            hydrogen_since = e["phase_since"]
    parking = [ParkingPlan(c.id, c.kind, [s for s, _ in spots[c.id]], [k for _, k in spots[c.id]], c.since)
               for c in car_parks if spots[c.id]]
    route = RoutePlan(ROUTE_ID, path, stop_ids, stop_distances, vehicle_ids, seats)
    return LayoutPlan(seed, entities, buildings, meters, parking, chargers, route, hydrogen_since=hydrogen_since,
                      zone_areas_km2=zone_areas)
