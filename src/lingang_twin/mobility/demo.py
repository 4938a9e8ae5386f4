"""The mobility pack's part of the demo district (示范孪生中的出行部分): car parks with their spots, and the
driverless minibus loop with its stops and vehicles.

The demo (:mod:`lingang_twin.demo`) owns where things are — it places the car parks and draws the loop along its
street grid — and hands this pack the plan as plain data (:class:`~lingang_twin.core.packs.DemoCarPark`,
:class:`~lingang_twin.core.packs.DemoPlan`); :data:`DEMO_LAYOUT` turns it into entities.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
from shapely.geometry import Point

from lingang_twin.core.packs import DemoCarPark, DemoLayout, DemoPlan, demo_entity

ROUTE_ID = "urn:ngsi-ld:TransitRoute:driverless-loop"
ROUTE_SINCE = date(2022, 8, 1)
N_SHUTTLES = 5
SHUTTLE_SEATS = 12


def car_park_entities(park: DemoCarPark, geo: Callable[[Any], dict[str, Any]]) -> list[dict[str, Any]]:
    """A car park and its spots on a grid inside the lot (inset 3 m), row by row: EV spots first, then
    accessible ones, then normal ones."""
    since, n, key = park.since, park.spots, park.key
    out = [demo_entity(park.id, "OffStreetParking", {
        "name": park.name, "nameEn": park.name_en, "totalSpotNumber": n, "availableSpotNumber": n,
        "category": ["public", "feeCharged", "parkingGuidance"], "allowedVehicleType": ["car"],
        "chargeType": ["temporaryFee"], "serves": park.serves}, rels={"containedIn": park.parcel_id},
        geo=geo(park.lot), since=since)]
    minx, miny, maxx, maxy = park.lot.bounds
    cols = max(1, math.ceil(math.sqrt(n * (maxx - minx) / (maxy - miny))))
    rows = math.ceil(n / cols)
    xs = np.linspace(minx + 3, maxx - 3, cols)
    ys = np.linspace(miny + 3, maxy - 3, rows)
    for k in range(n):
        cat = "ev" if k < park.ev_spots else "accessible" if k < park.ev_spots + park.accessible_spots else "normal"
        props: dict[str, Any] = {"name": f"{park.name} {k + 1:03d} 号车位",
                                 "nameEn": f"{park.name_en} spot {k + 1:03d}", "category": cat}
        if cat == "ev":
            props["chargingPower"] = (park.socket_kw, "kW")
        out.append(demo_entity(f"urn:ngsi-ld:ParkingSpot:{key}-{k + 1:03d}", "ParkingSpot", props,
                               rels={"containedIn": park.id}, geo=geo(Point(xs[k % cols], ys[k // cols])),
                               since=since))
    return out


def route_entities(plan: DemoPlan) -> list[dict[str, Any]]:
    """The driverless minibus loop of the smart-park pilot along the plan's path, its stops and vehicles."""
    path = plan.route_path
    out = [demo_entity(ROUTE_ID, "TransitRoute", {
        "name": "临港无人驾驶小巴环线", "nameEn": "Lingang Driverless Minibus Loop", "routeShortName": "AD1",
        "routeLongName": "创晶科技中心—临港中心—科创总部湾环线 / Chuangjing – Lingang Center – HQ Bay loop",
        "routeType": 3, "length": (round(path.length / 1000, 3), "km")},
        rels={"containedIn": plan.district_id}, geo=plan.geo(path), since=ROUTE_SINCE)]
    for k, stop in enumerate(plan.route_stops):
        out.append(demo_entity(f"urn:ngsi-ld:TransitStop:driverless-loop-{k + 1:02d}", "TransitStop", {
            "name": stop.name, "nameEn": stop.name_en, "code": f"AD1-{k + 1:02d}", "stopSequence": k + 1,
            "distanceAlongRoute": (round(stop.distance_m, 1), "m")},
            rels={"onRoute": ROUTE_ID, "containedIn": stop.zone_id}, geo=plan.geo(stop.point), since=ROUTE_SINCE))
    for k in range(1, N_SHUTTLES + 1):
        out.append(demo_entity(f"urn:ngsi-ld:Vehicle:minibus-{k:02d}", "Vehicle", {
            "name": f"无人驾驶小巴 {k:02d}", "nameEn": f"Driverless minibus {k:02d}", "vehicleType": "minibus",
            "category": ["autonomous", "public"], "fleetVehicleId": f"AD1-{k:02d}",
            "vehiclePlateIdentifier": f"沪A·D{7200 + k}", "seats": SHUTTLE_SEATS,
            "batteryCapacity": (100.0, "kWh"), "maxSpeed": (30.0, "km/h")},
            rels={"servesRoute": ROUTE_ID, "containedIn": plan.district_id}, geo=plan.geo(Point(path.coords[0])),
            since=ROUTE_SINCE))
    return out


DEMO_LAYOUT = DemoLayout(car_park=car_park_entities, district=route_entities)
"""The mobility pack's entities in the demo district."""

__all__ = ["DEMO_LAYOUT", "N_SHUTTLES", "ROUTE_ID", "SHUTTLE_SEATS"]
