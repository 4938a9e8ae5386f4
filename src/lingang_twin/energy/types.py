"""Entity types of the energy pack: EV charging and hydrogen refuelling.

Meters of every carrier stay the core ``Meter`` type (``carrier``, ``unit``, ``register``; series ``reading``);
this pack adds the stations that turn energy into mobility:

==================  =================================================  ==========================================
type                series                                             meaning
==================  =================================================  ==========================================
EVChargingStation   ``power`` [kW], ``energy`` [kWh],                  mean power over the interval ending at the
                    ``availableCapacity`` [1]                          reading, energy delivered in it, free sockets
HydrogenStation     ``dispensed`` [kg], ``storageLevel`` [kg]          hydrogen dispensed in the interval ending at
                                                                       the reading; hydrogen in storage
==================  =================================================  ==========================================

``EVChargingStation`` follows FIWARE ``EVChargingStation`` (``socketNumber``, ``socketType``, ``chargeType``,
``capacity``); the rated power is ``ratedPower`` so that it cannot be mistaken for the measured ``power`` series.
``HydrogenStation`` is our own type (no Smart Data Model exists for it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field

from lingang_twin.core.findings import register_alert_type
from lingang_twin.core.types import NamedProperties, Unit

if TYPE_CHECKING:
    from lingang_twin.core.twin import Twin




class EVChargingStationProperties(NamedProperties):
    """An EV charging station: ``socketNumber`` sockets of ``socketPower`` each, ``ratedPower`` in all."""

    socketNumber: Annotated[int, Field(ge=0)] | None = None
    socketType: list[str] | None = None
    chargeType: list[str] | None = None
    socketPower: Annotated[float, Unit("kW"), Field(ge=0)] | None = None
    ratedPower: Annotated[float, Unit("kW"), Field(ge=0)] | None = None
    capacity: Annotated[int, Field(ge=0)] | None = None


class HydrogenStationProperties(NamedProperties):
    """A hydrogen refuelling station: daily ``capacity`` [kg/day], on-site ``storageCapacity`` [kg]."""

    capacity: Annotated[float, Unit("kg/day"), Field(gt=0)] | None = None
    storageCapacity: Annotated[float, Unit("kg"), Field(gt=0)] | None = None
    dispenserNumber: Annotated[int, Field(ge=0)] | None = None
    dispensingPressure: list[Annotated[float, Field(gt=0)]] | None = None  # [MPa], e.g. [35, 70]


PROPERTY_LABELS: dict[str, tuple[str, str]] = {
    "socketNumber": ("插座数", "Sockets"), "socketType": ("插座类型", "Socket types"),
    "chargeType": ("充电方式", "Charge types"), "socketPower": ("单枪功率", "Power per socket"),
    "ratedPower": ("额定功率", "Rated power"), "capacity": ("容量", "Capacity"),
    "storageCapacity": ("储氢容量", "Storage capacity"), "dispenserNumber": ("加注机数", "Dispensers"),
    "dispensingPressure": ("加注压力（MPa）", "Dispensing pressure (MPa)"),
    "power": ("功率", "Power"), "energy": ("电量", "Energy"), "availableCapacity": ("空闲插座", "Free sockets"),
    "dispensed": ("加注量", "Dispensed"), "storageLevel": ("储氢量", "Storage level"),
}
"""Property and series names of this pack's types → (中文, English), handed to the console through ``PACK.words``
under ``prop.<name>``."""

VALUE_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "chargeType": {"fast": ("快充", "Fast"), "slow": ("慢充", "Slow")},
}
"""Enumerated values of this pack's properties → (中文, English), handed to the console through ``PACK.words``
under ``value.<property>.<value>``."""


CLASSIFICATION: dict[str, dict[str, tuple[str, str]]] = {
    "EVChargingStation": {
        "*": ("public", "charging stations, sockets and power are published to drivers (charging maps)"),
        "power": ("internal", "the load a station draws is the operator's working data"),
        "energy": ("internal", "energy delivered is the operator's commercial data"),
    },
    "HydrogenStation": {
        "*": ("internal", "a refuelling station's equipment is the operator's working data"),
        "storageCapacity": ("sensitive", "how much hydrogen is stored where is hazardous-chemicals information "
                            "for the emergency services, not for general release (危险化学品安全管理条例 art. 2)"),
        "storageLevel": ("sensitive", "as storageCapacity"),
    },
}
"""The grade of each energy type and of its attributes (数据分级), with the reason; the deployment's classification
file overrides it (see :mod:`lingang_twin.core.classification`)."""


def register_energy_types(twin: Twin) -> None:
    """Register the energy types on ``twin`` (idempotent: a type already registered is left alone)."""
    specs: list[tuple[str, type[BaseModel], dict[str, str], tuple[str, str], str | None]] = [
        ("EVChargingStation", EVChargingStationProperties,
         {"power": "kW", "energy": "kWh", "availableCapacity": "1"}, ("充电站", "EV charging station"),
         "EVChargingStation"),
        ("HydrogenStation", HydrogenStationProperties, {"dispensed": "kg", "storageLevel": "kg"},
         ("加氢站", "Hydrogen refuelling station"), None),
    ]
    for name, model, series, label, sdm in specs:
        if name not in twin.types:
            twin.register_type(name, model, series=series, label=label, smart_data_model=sdm,
                               classification=CLASSIFICATION.get(name))
    register_alert_type(twin)  # the core's Alert type: the data-quality findings are raised as alerts
