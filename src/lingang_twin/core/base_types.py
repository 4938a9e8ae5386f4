"""The entity types every twin has: the containment tree and the meter convention of DESIGN.md.

District → Zone → Parcel → Building → Space, linked by ``containedIn``; meters of every carrier share one type,
``Meter`` (``carrier``, ``unit``, ``register``), and their readings are the series ``reading`` in the meter's own
unit. ``Enterprise`` (the tenants and innovators of the district) is here because energy accounting and the
innovation ecosystem both need it. Two pieces of district infrastructure that several packs share also live here:
``Road`` (mobility, operations and the map all need the street network) and ``WeatherStation`` (energy baselines,
alerts and forecasts all need the outdoor temperature). Packs add their own types with
:func:`lingang_twin.core.types.register_type`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from lingang_twin.core.findings import AlertProperties
from lingang_twin.core.observations import parse_instant
from lingang_twin.core.types import NamedProperties, TypeRegistry, Unit, register_type
from lingang_twin.core.units import check_unit

Carrier = Literal["electricity", "water", "natural_gas", "diesel", "gasoline", "hydrogen", "heat"]
CARRIERS: tuple[str, ...] = ("electricity", "water", "natural_gas", "diesel", "gasoline", "hydrogen", "heat")




class DistrictProperties(NamedProperties):
    area: Annotated[float, Unit("km2"), Field(gt=0)] | None = None


class ZoneProperties(NamedProperties):
    area: Annotated[float, Unit("km2"), Field(gt=0)] | None = None


class ParcelProperties(NamedProperties):
    area: Annotated[float, Unit("m2"), Field(gt=0)] | None = None
    landUse: str | None = None


class BuildingProperties(NamedProperties):
    floorArea: Annotated[float, Unit("m2"), Field(ge=0)] | None = None
    height: Annotated[float, Unit("m"), Field(ge=0, le=1000)] | None = None
    floors: Annotated[int, Field(ge=0, le=300)] | None = None
    use: str | None = None
    occupants: Annotated[int, Field(ge=0)] | None = None


class SpaceProperties(NamedProperties):
    floorArea: Annotated[float, Unit("m2"), Field(ge=0)] | None = None


class MeterProperties(NamedProperties):
    """A meter of any carrier. ``registerMax`` is the value at which a cumulative register rolls over;
    ``registerResets`` the instants (ISO 8601 with offset) at which its register was reset to zero — declared by
    whoever reset it, so that a register that runs backwards at any other time is an error, not consumption.
    ``readingInterval`` [min] is how often it reads (the energy pack's coverage; inferred when absent). A
    meter *replaced* by one whose register starts elsewhere is a new Meter entity (the old one retired)."""

    carrier: Carrier
    unit: str
    # "register" would shadow ABCMeta.register on the model class, hence the alias.
    register_kind: Literal["interval", "cumulative"] = Field(default="interval", alias="register")
    registerMax: Annotated[float, Field(gt=0)] | None = None
    registerResets: list[str] | None = None
    # How often the meter reads [min]: what an account's coverage expects of it (else inferred from its readings).
    readingInterval: Annotated[float, Unit("min"), Field(gt=0)] | None = None

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, v: str) -> str:
        return check_unit(v, "unit")

    @field_validator("registerResets")
    @classmethod
    def _instants(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        out = []
        for k, text in enumerate(v):
            instant = parse_instant(str(text), f"registerResets[{k}]")
            assert instant is not None
            out.append(instant.isoformat())
        return sorted(out)


class RoadProperties(NamedProperties):
    """A road or road segment (after FIWARE ``RoadSegment``: ``totalLaneNumber``, ``maximumAllowedSpeed``)."""

    roadClass: str | None = None
    totalLaneNumber: Annotated[int, Field(ge=1, le=20)] | None = None
    maximumAllowedSpeed: Annotated[float, Unit("km/h"), Field(gt=0, le=200)] | None = None
    length: Annotated[float, Unit("m"), Field(gt=0)] | None = None
    width: Annotated[float, Unit("m"), Field(gt=0)] | None = None


class WeatherStationProperties(NamedProperties):
    """An automatic weather station; its observations follow FIWARE ``WeatherObserved`` attribute names
    (``temperature`` [°C]; ``relativeHumidity`` in [%] here, where FIWARE uses a 0–1 fraction)."""

    stationCode: str | None = None
    altitude: Annotated[float, Unit("m")] | None = None


class EnterpriseProperties(NamedProperties):
    """An enterprise or institute in the district. Where it works is the relationship ``occupies`` (Spaces it
    leases, or whole Buildings); a meter that measures it alone points at it with ``tenant``. The energy pack
    accounts tenants by these; the innovation ecosystem adds its own attributes (the model is open)."""

    industry: str | None = None
    creditCode: Annotated[str, Field(pattern=r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")] | None = None
    employees: Annotated[int, Field(ge=0)] | None = None


def register_base_types(registry: TypeRegistry) -> None:
    """Register the base types (idempotent)."""
    specs: list[tuple[str, type[BaseModel], dict[str, str], tuple[str, str]]] = [
        ("District", DistrictProperties, {}, ("区域", "District")),
        ("Zone", ZoneProperties, {}, ("功能片区", "Zone")),
        ("Parcel", ParcelProperties, {}, ("地块", "Parcel")),
        ("Building", BuildingProperties, {}, ("建筑", "Building")),
        ("Space", SpaceProperties, {}, ("空间", "Space")),
        ("Meter", MeterProperties, {"reading": "@unit"}, ("计量表", "Meter")),
        ("Road", RoadProperties, {}, ("道路", "Road")),
        ("Enterprise", EnterpriseProperties, {}, ("企业", "Enterprise")),
        ("WeatherStation", WeatherStationProperties, {"temperature": "°C", "relativeHumidity": "%"},
         ("气象站", "Weather station")),
        # Every pack's checks raise alerts (core/findings.py): a twin that holds alerts must read them back as soon
        # as it opens, before anything has raised one in this process.
        ("Alert", AlertProperties, {}, ("告警", "Alert")),
    ]
    for name, model, series, label in specs:
        if name not in registry:
            # A meter reading is the consumption of (or the register at the end of) the interval it closes.
            period = ("reading",) if name == "Meter" else ()
            register_type(registry, name, model, series=series, period_series=period, label=label,
                          smart_data_model=_SMART_DATA_MODELS.get(name),
                          # Consumption in an interval and a register's value are never negative.
                          nonnegative_series=("reading",) if name == "Meter" else (),
                          register_series=("reading",) if name == "Meter" else ())


_SMART_DATA_MODELS = {"Alert": "Alert", "Building": "Building", "Road": "RoadSegment",
                      "WeatherStation": "WeatherObserved"}
