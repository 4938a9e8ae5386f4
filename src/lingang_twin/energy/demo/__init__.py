"""The energy pack's part of the demo district (示范孪生中的能源部分): meters, chargers, the hydrogen station,
the incubator's tenants and the demo's illustrative energy settings.

The demo (:mod:`lingang_twin.demo`) owns the district's geometry and programme and hands this pack its plan as plain
data (:class:`~lingang_twin.core.packs.DemoPlan` and friends); :data:`DEMO_LAYOUT` turns it into entities, and
:func:`demo` stores :data:`DEMO_ENERGY_CONFIG` once the layout is in the twin. :mod:`.profiles` is the table of
assumptions of how each kind of building uses energy (which meters a building gets here, what they read in the
demo's simulator).

The demo's energy settings are illustrative, not published. The demo meters water and hydrogen, whose CO₂ factors
no reference table of ours holds (see :mod:`lingang_twin.energy.factors`), so without settings every CO₂ figure,
tenant statement and report of the demo would be refused. :func:`demo` stores them in the twin (the district's
``energyConfig``, :mod:`lingang_twin.energy.settings`) unless the twin already holds settings; an operator's
``LINGANG_ENERGY_CONFIG`` or ``--config`` still takes precedence. They are marked ``illustrative``: every figure
they produce says so, and the console shows a notice while they are in force. The two values are round orders of
magnitude, not figures from any source:

* water 0.21 kg CO₂/m³ ≈ 0.5 kWh/m³ to supply and treat tap water × Shanghai's 0.42 kg CO₂/kWh;
* hydrogen 23.1 kg CO₂/kg ≈ 55 kWh/kg for grid electrolysis × the same 0.42 kg CO₂/kWh.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from shapely.geometry import Point

from lingang_twin.core.packs import DemoBuilding, DemoCarPark, DemoLayout, DemoPlan, demo_entity
from lingang_twin.energy.demo.profiles import CARRIER_LABELS, CARRIER_SHORT, CARRIER_UNITS, END_USES, USES
from lingang_twin.energy.factors import EnergyConfig

if TYPE_CHECKING:
    from lingang_twin.core.twin import Twin

DEMO_ENERGY_CONFIG = EnergyConfig(
    water_kgco2_per_m3=0.21,
    hydrogen_route="grid-electrolysis",
    hydrogen_kgco2_per_kg=23.1,
    illustrative=True,
    source="Lingang Twin demo: illustrative placeholders, not published figures / 示范孪生示意值，非公开发布数据",
)
"""The demo's illustrative energy settings [kg CO₂ per m³ of water, per kg of hydrogen]."""

HYDROGEN_STATION_ID = "urn:ngsi-ld:HydrogenStation:lingang-h2"
HYDROGEN_METER_ID = "urn:ngsi-ld:Meter:lingang-h2-dispensed"
HYDROGEN_SINCE = date(2021, 9, 1)
HUB_ID = "urn:ngsi-ld:EVChargingStation:lingang-supercharging-hub"


def demo(twin: Twin, seed: int) -> None:
    """Store the demo's illustrative energy settings in ``twin`` (keeps settings already there: the user's, or an
    earlier build's). ``seed`` does not change them."""
    from lingang_twin.energy.settings import store_config

    store_config(twin, DEMO_ENERGY_CONFIG)


# -- meters -----------------------------------------------------------------------------------------------------
_SUBMETER_MIN_AREA = {"electricity": 8_000.0, "water": 8_000.0, "natural_gas": 15_000.0}


def meter_entities(b: DemoBuilding, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Main meters for every carrier the building uses, and sub-meters for its end uses if it is large enough.
    The draws from ``rng`` (the demo plan's generator) decide the registers; their number and order are part of
    the plan's sequence."""
    use = USES[b.use]
    assert b.operation_since is not None
    since = b.operation_since
    carriers = dict(use.end_uses)
    if use.generator_kw_per_m2 > 0:
        carriers["diesel"] = {"generator": 1.0}
    entities: list[dict[str, Any]] = []
    for carrier, end_uses in carriers.items():
        unit = CARRIER_UNITS[carrier]
        short = CARRIER_SHORT[carrier]
        zh_c, en_c = CARRIER_LABELS[carrier]
        annual = use.intensity.get(carrier, 0.0) * b.floor_area_m2
        main_id = f"urn:ngsi-ld:Meter:{b.key}-{short}-main"
        register, register_max = "interval", None
        if carrier == "natural_gas" or (carrier == "electricity" and rng.random() < 0.5) or (
                carrier == "water" and rng.random() < 0.4):
            register = "cumulative"
            register_max = 1e7 if annual > 3e6 else 1e6
            if b.use == "data_centre" and carrier == "electricity":
                # A legacy five-digit register: it rolls over about once a day, which the delta aggregate must handle.
                register_max = 1e5
        props: dict[str, Any] = {"name": f"{b.name} {zh_c}总表", "nameEn": f"{b.name_en} {en_c} main meter",
                                 "carrier": carrier, "unit": unit, "register": register, "endUse": "main"}
        if register_max is not None:
            props["registerMax"] = register_max
        entities.append({"id": main_id, "type": "Meter", "properties": props,
                         "relationships": {"containedIn": b.id}, "phase": "operation", "phase_since": since})
        if b.floor_area_m2 < _SUBMETER_MIN_AREA.get(carrier, math.inf) or len(end_uses) < 2:
            continue
        for end_use in end_uses:
            if end_use == "other":
                continue
            sub_id = f"urn:ngsi-ld:Meter:{b.key}-{short}-{end_use.replace('_', '-')}"
            zh_e, en_e = END_USES[end_use].label
            sub_register, sub_max = ("cumulative", 1e7) if rng.random() < 0.2 else ("interval", None)
            props = {"name": f"{b.name} {zh_c} {zh_e}分表", "nameEn": f"{b.name_en} {en_c} sub-meter ({en_e})",
                     "carrier": carrier, "unit": unit, "register": sub_register, "endUse": end_use}
            if sub_max is not None:
                props["registerMax"] = sub_max
            entities.append({"id": sub_id, "type": "Meter", "properties": props,
                             "relationships": {"containedIn": b.id, "submeterOf": main_id},
                             "phase": "operation", "phase_since": since})
    return entities


# -- charging and hydrogen --------------------------------------------------------------------------------------
def charger_entities(park: DemoCarPark, geo: Callable[[Any], dict[str, Any]]) -> list[dict[str, Any]]:
    """The EV charging station of a car park: one socket per EV spot, in a corner of the lot."""
    fast = park.socket_kw >= 50
    kw, n_ev = park.socket_kw, park.ev_spots
    minx, miny, _, _ = park.lot.bounds
    return [demo_entity(f"urn:ngsi-ld:EVChargingStation:{park.key}", "EVChargingStation", {
        "name": f"{park.name}充电站", "nameEn": f"{park.name_en} EV charging", "socketNumber": n_ev, "capacity": n_ev,
        "socketType": ["GB/T DC"] if fast else ["GB/T AC"], "chargeType": ["fast"] if fast else ["slow"],
        "socketPower": (kw, "kW"), "ratedPower": (kw * n_ev, "kW")}, rels={"containedIn": park.id},
        geo=geo(Point(minx + 2, miny + 2)), since=park.since)]


def _stations(plan: DemoPlan) -> list[dict[str, Any]]:
    """The hydrogen refuelling station (with its dispensing meter) and a supercharging hub beside it, on the
    utility site the plan reserved."""
    parcel_id, site = plan.utility_site
    out = [demo_entity(HYDROGEN_STATION_ID, "HydrogenStation", {
        "name": "临港氢能综合能源站", "nameEn": "Lingang Hydrogen Refuelling Station",
        "capacity": (1000.0, "kg/day"), "storageCapacity": (1500.0, "kg"), "dispenserNumber": 3,
        "dispensingPressure": [35.0, 35.0, 70.0]}, rels={"containedIn": parcel_id}, geo=plan.geo(site),
        since=HYDROGEN_SINCE)]
    out.append({"id": HYDROGEN_METER_ID, "type": "Meter", "properties": {
        "name": "临港氢能综合能源站 加氢计量", "nameEn": "Lingang Hydrogen Station dispensed hydrogen",
        "carrier": "hydrogen", "unit": "kg", "register": "interval", "endUse": "main"},
        "relationships": {"containedIn": HYDROGEN_STATION_ID}, "phase": "operation", "phase_since": HYDROGEN_SINCE})
    out.append(demo_entity(HUB_ID, "EVChargingStation", {
        "name": "临港超级充电站", "nameEn": "Lingang Supercharging Hub", "socketNumber": 8, "capacity": 8,
        "socketType": ["GB/T DC"], "chargeType": ["fast"], "socketPower": (120.0, "kW"),
        "ratedPower": (960.0, "kW")}, rels={"containedIn": parcel_id},
        geo=plan.geo(Point(site.bounds[0] - 20, site.bounds[1] + 10)), since=date(2022, 6, 30)))
    return out


# -- tenants ----------------------------------------------------------------------------------------------------
# The latest batch of 16 enterprises that joined at the Innovation Magic Cube (DOMAIN.md), each in a suite, and
# three firms that take a whole R&D building. Names are invented. (key, 中文, English)
_INCUBATED = [
    ("deepharbor-ai", "深港智能", "DeepHarbor AI"), ("bluewave-chips", "蓝浪芯片", "BlueWave Chips"),
    ("gene-isle", "基因岛生物", "GeneIsle Bio"), ("nano-reef", "纳礁新材", "NanoReef Materials"),
    ("tidal-robotics", "潮汐机器人", "Tidal Robotics"), ("orca-vision", "虎鲸视觉", "Orca Vision"),
    ("lumen-photonics", "流明光电", "Lumen Photonics"), ("cellforge", "细胞工坊", "CellForge"),
    ("quarkgrid", "夸克电网", "QuarkGrid"), ("seabird-drones", "海鸟无人机", "Seabird Drones"),
    ("mosaic-data", "镶嵌数据", "Mosaic Data"), ("helix-pharma", "螺旋医药", "Helix Pharma"),
    ("kelp-carbon", "海藻碳汇", "Kelp Carbon"), ("argo-autonomy", "阿尔戈自动驾驶", "Argo Autonomy"),
    ("pearl-quantum", "明珠量子", "Pearl Quantum"), ("tern-batteries", "燕鸥电池", "Tern Batteries"),
]
_WHOLE_BUILDING = [("stc-rnd-01", "hengsha-semiconductor", "横沙半导体", "Hengsha Semiconductor"),
                   ("stc-rnd-02", "dishui-biologics", "滴水湖生物制药", "Dishui Biologics"),
                   ("stc-rnd-03", "yangshan-logistics-ai", "洋山物流智能", "Yangshan Logistics AI")]


def _tenants(plan: DemoPlan) -> list[dict[str, Any]]:
    """Suites of the incubator and the enterprises leasing them; whole-building tenants. A generator of its own
    so that adding tenants leaves every other part of the layout as it was for the same seed."""
    rng = np.random.default_rng([plan.seed, 0x7E4A])
    cube = plan.buildings["innovation-magic-cube"]
    assert cube.operation_since is not None
    out: list[dict[str, Any]] = []
    # Suites take 60-70 % of the incubator; the rest is corridors, shared labs and meeting rooms.
    areas = rng.dirichlet(np.full(len(_INCUBATED), 4.0)) * cube.floor_area_m2 * float(rng.uniform(0.6, 0.7))
    on_floor: dict[int, int] = {}
    for k, ((key, zh, en), area) in enumerate(zip(_INCUBATED, areas, strict=True)):
        floor = 1 + k * 6 // len(_INCUBATED)
        on_floor[floor] = on_floor.get(floor, 0) + 1
        suite = f"F{floor}-{on_floor[floor]:02d}"
        sid = f"urn:ngsi-ld:Space:innovation-magic-cube-{suite.lower()}"
        joined = cube.operation_since + timedelta(days=int(rng.integers(30, 900)))
        out.append(demo_entity(sid, "Space", {
            "name": f"创新魔方 {suite} 室", "nameEn": f"Innovation Magic Cube suite {suite}",
            "floorArea": (round(float(area), -1), "m2"), "floor": floor},
            rels={"containedIn": cube.id}, since=cube.operation_since))
        zh_sector, en_sector = plan.sectors[k % len(plan.sectors)]
        out.append(demo_entity(f"urn:ngsi-ld:Enterprise:{key}", "Enterprise", {
            "name": f"{zh}科技有限公司", "nameEn": f"{en} Co., Ltd.", "industry": en_sector, "industryZh": zh_sector,
            "employees": int(rng.integers(8, 120)), "incubated": True},
            rels={"occupies": sid, "containedIn": plan.district_id}, since=joined))
    for bkey, key, zh, en in _WHOLE_BUILDING:
        b = plan.buildings[bkey]
        if b.operation_since is None:
            continue
        out.append(demo_entity(f"urn:ngsi-ld:Enterprise:{key}", "Enterprise", {
            "name": f"{zh}有限公司", "nameEn": f"{en} Co., Ltd.", "employees": int(rng.integers(150, 900))},
            rels={"occupies": b.id, "containedIn": plan.district_id}, since=b.operation_since))
    return out


def district_entities(plan: DemoPlan) -> list[dict[str, Any]]:
    """The pack's entities once the plan is placed: the hydrogen station and the hub, then the tenants."""
    return _stations(plan) + _tenants(plan)


DEMO_LAYOUT = DemoLayout(building=meter_entities, car_park=charger_entities, district=district_entities)
"""The energy pack's entities in the demo district."""

__all__ = ["DEMO_ENERGY_CONFIG", "DEMO_LAYOUT", "HYDROGEN_METER_ID", "HYDROGEN_STATION_ID", "demo"]
