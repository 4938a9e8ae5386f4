"""Entity types of the mobility pack: smart parking, the driverless shuttle and its route.

FIWARE Smart Data Models where one fits (``OffStreetParking``, ``ParkingSpot``, ``Vehicle``); the shuttle line and
its stops are our own ``TransitRoute`` / ``TransitStop``, with GTFS names for their fields (``routeShortName``,
``routeType`` …) so that a GTFS export is a renaming, not a redesign.

Relationships (open, like every type): a parking spot is ``containedIn`` its car park, a car park in its parcel or
building; a vehicle ``servesRoute`` its route; a stop is ``onRoute`` its route and ``containedIn`` its zone.

Series (observed attributes) and their units:

=================  =======================================  ==========================================
type               series                                   meaning
=================  =======================================  ==========================================
OffStreetParking   ``occupancy`` [%], ``availableSpotNumber``  share of spots taken; free spots [1]
ParkingSpot        ``occupied`` [1]                          1 taken, 0 free
Vehicle            ``speed`` [km/h], ``lon`` / ``lat``       position as two series [degree]
                   [degree], ``passengers`` [1],
                   ``batteryLevel`` [%]
=================  =======================================  ==========================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field

from lingang_twin.core.types import NamedProperties, Unit

if TYPE_CHECKING:
    from lingang_twin.core.twin import Twin




class OffStreetParkingProperties(NamedProperties):
    """A car park off the street (FIWARE ``OffStreetParking``)."""

    totalSpotNumber: Annotated[int, Field(ge=0)] | None = None
    availableSpotNumber: Annotated[int, Field(ge=0)] | None = None
    category: list[str] | None = None
    allowedVehicleType: list[str] | None = None
    chargeType: list[str] | None = None
    maximumAllowedHeight: Annotated[float, Unit("m"), Field(gt=0)] | None = None


class ParkingSpotProperties(NamedProperties):
    """One parking spot (FIWARE ``ParkingSpot``); ``category`` e.g. ``normal``, ``ev``, ``accessible``."""

    category: str | list[str] | None = None
    chargingPower: Annotated[float, Unit("kW"), Field(ge=0)] | None = None


class VehicleProperties(NamedProperties):
    """A vehicle (FIWARE ``Vehicle``): ``vehicleType`` e.g. ``minibus``, ``category`` e.g. ``["autonomous"]``."""

    vehicleType: str | None = None
    category: str | list[str] | None = None
    vehiclePlateIdentifier: str | None = None
    fleetVehicleId: str | None = None
    seats: Annotated[int, Field(ge=0, le=200)] | None = None
    batteryCapacity: Annotated[float, Unit("kWh"), Field(gt=0)] | None = None
    maxSpeed: Annotated[float, Unit("km/h"), Field(gt=0, le=300)] | None = None


class TransitRouteProperties(NamedProperties):
    """A public transport line (GTFS route fields); the geometry is the route's LineString."""

    routeShortName: str | None = None
    routeLongName: str | None = None
    routeType: Annotated[int, Field(ge=0)] | None = None  # GTFS route_type: 3 = bus
    length: Annotated[float, Unit("km"), Field(gt=0)] | None = None
    headway: Annotated[float, Unit("min"), Field(gt=0)] | None = None


class TransitStopProperties(NamedProperties):
    """A stop on a line (GTFS stop fields); ``stopSequence`` is its order along the route."""

    code: str | None = None
    stopSequence: Annotated[int, Field(ge=0)] | None = None
    distanceAlongRoute: Annotated[float, Unit("m"), Field(ge=0)] | None = None


PROPERTY_LABELS: dict[str, tuple[str, str]] = {
    "totalSpotNumber": ("车位总数", "Total spots"), "availableSpotNumber": ("空闲车位", "Free spots"),
    "category": ("类别", "Category"), "allowedVehicleType": ("允许车型", "Allowed vehicles"),
    "chargeType": ("充电方式", "Charge types"), "maximumAllowedHeight": ("限高", "Height limit"),
    "chargingPower": ("充电功率", "Charging power"), "vehicleType": ("车型", "Vehicle type"),
    "vehiclePlateIdentifier": ("车牌", "Plate"), "fleetVehicleId": ("车队编号", "Fleet id"), "seats": ("座位", "Seats"),
    "batteryCapacity": ("电池容量", "Battery capacity"), "maxSpeed": ("最高车速", "Top speed"),
    "routeShortName": ("线路简称", "Route"), "routeLongName": ("线路全称", "Route name"),
    "routeType": ("线路类型", "Route type"), "length": ("长度", "Length"), "headway": ("发车间隔", "Headway"),
    "code": ("编码", "Code"), "stopSequence": ("站序", "Stop sequence"),
    "distanceAlongRoute": ("距起点", "Distance along route"), "occupancy": ("占用率", "Occupancy"),
    "occupied": ("占用", "Occupied"), "speed": ("速度", "Speed"), "lon": ("经度", "Longitude"),
    "lat": ("纬度", "Latitude"), "passengers": ("乘客", "Passengers"), "batteryLevel": ("电量", "Battery level"),
    "serves": ("服务对象", "Serves"),
}
"""Property and series names of this pack's types → (中文, English), handed to the console through ``PACK.words``."""

VALUE_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "category": {"public": ("公共", "Public"), "feeCharged": ("收费", "Fee charged"),
                 "parkingGuidance": ("停车诱导", "Parking guidance"), "accessible": ("无障碍", "Accessible"),
                 "ev": ("充电车位", "EV charging"), "normal": ("普通", "Normal"),
                 "autonomous": ("自动驾驶", "Autonomous")},
    "allowedVehicleType": {"car": ("小汽车", "Car"), "bus": ("公交车", "Bus"), "motorcycle": ("摩托车", "Motorcycle"),
                           "bicycle": ("自行车", "Bicycle"), "lorry": ("货车", "Lorry")},
    "chargeType": {"temporaryFee": ("临时收费", "Temporary fee"), "free": ("免费", "Free")},
    "vehicleType": {"minibus": ("小巴", "Minibus"), "bus": ("公交车", "Bus"), "car": ("小汽车", "Car"),
                    "lorry": ("货车", "Lorry")},
}
"""Enumerated values of this pack's properties (Smart Data Models' vocabularies as the demo uses them) →
(中文, English), handed to the console through ``PACK.words`` under ``value.<property>.<value>``."""


_TRACK = ("PIPL art. 28: where a privately driven vehicle goes is its driver's whereabouts (行踪轨迹, sensitive "
          "personal information)")
CLASSIFICATION: dict[str, dict[str, tuple[str, str]]] = {
    "OffStreetParking": {"*": ("public", "car parks and their free spots are published to drivers (parking "
                               "guidance)")},
    "ParkingSpot": {"*": ("public", "spot availability is published to drivers (parking guidance)")},
    "Vehicle": {
        "*": ("internal", "the district's fleet and its operation are the operator's working data"),
        "vehiclePlateIdentifier": ("personal", "PIPL art. 4: a plate identifies the person who keeps the vehicle "
                                   "(MPS: plates are personal information when linked to an owner)"),
        "lon": ("internal", "the driverless shuttle carries no driver; a deployment with private vehicles "
                "grades it personal: " + _TRACK),
        "lat": ("internal", "as lon"),
    },
    "TransitRoute": {"*": ("public", "lines and timetables are published to riders (GTFS)")},
    "TransitStop": {"*": ("public", "stops are published to riders (GTFS)")},
}
"""The grade of each mobility type and of its attributes (数据分级), with the reason; the deployment's
classification file overrides it (see :mod:`lingang_twin.core.classification`)."""


def register_mobility_types(twin: Twin) -> None:
    """Register the mobility types on ``twin`` (idempotent: a type already registered is left alone)."""
    specs: list[tuple[str, type[BaseModel], dict[str, str], tuple[str, str], str | None]] = [
        ("OffStreetParking", OffStreetParkingProperties, {"occupancy": "%", "availableSpotNumber": "1"},
         ("停车场", "Off-street parking"), "OffStreetParking"),
        ("ParkingSpot", ParkingSpotProperties, {"occupied": "1"}, ("停车位", "Parking spot"), "ParkingSpot"),
        ("Vehicle", VehicleProperties,
         {"speed": "km/h", "lon": "degree", "lat": "degree", "passengers": "1", "batteryLevel": "%"},
         ("车辆", "Vehicle"), "Vehicle"),
        ("TransitRoute", TransitRouteProperties, {}, ("公交线路", "Transit route"), None),
        ("TransitStop", TransitStopProperties, {}, ("站点", "Transit stop"), None),
    ]
    for name, model, series, label, sdm in specs:
        if name not in twin.types:
            twin.register_type(name, model, series=series, label=label, smart_data_model=sdm,
                               classification=CLASSIFICATION.get(name))
