"""Energy carriers (能源品种) and their canonical units: every meter's unit is turned into its carrier's one.

==============  ==============  ==================================================================
carrier         canonical unit  how a meter's unit gets there
==============  ==============  ==================================================================
electricity     kWh             core units (Wh, MWh, MJ …)
water           m3              core units (L, m3 …)
natural_gas     m3              core units
diesel          kg              mass via core units; volume (L, m3) × density [kg/L]
gasoline        kg              mass via core units; volume (L, m3) × density [kg/L]
hydrogen        kg              mass via core units; Nm3 × 0.0899 [kg/Nm3]
heat            MJ              core units (kWh, GJ …)
==============  ==============  ==================================================================
"""

from __future__ import annotations

from lingang_twin.core.errors import ValidationError
from lingang_twin.core.meters import INTERVAL_Q
from lingang_twin.core.units import check_unit, conversion
from lingang_twin.energy.factors import EnergyConfig, fuel_density

CANONICAL_UNITS: dict[str, str] = {
    "electricity": "kWh",
    "water": "m3",
    "natural_gas": "m3",
    "diesel": "kg",
    "gasoline": "kg",
    "hydrogen": "kg",
    "heat": "MJ",
}
"""Carrier → the unit the pack accounts it in; every coefficient in :mod:`.factors` is per this unit."""

# INTERVAL_Q (q of the interval meters) lives in core.meters with the one register-aware read; named here too.

CARRIER_LABELS: dict[str, tuple[str, str]] = {
    "electricity": ("电", "Electricity"), "water": ("水", "Water"), "natural_gas": ("天然气", "Natural gas"),
    "diesel": ("柴油", "Diesel"), "gasoline": ("汽油", "Gasoline"), "hydrogen": ("氢", "Hydrogen"),
    "heat": ("热", "Heat"),
}


UNIT_SYMBOLS: dict[str, str] = {"m3": "m³", "Nm3": "Nm³", "m2": "m²"}
"""How a unit symbol is printed for people (the stored symbols stay ASCII)."""


def display_unit(carrier: str) -> str:
    """The canonical unit of ``carrier`` as shown on screens and in reports (``m3`` → ``m³``); every face shows a
    carrier in this one unit, so that diesel never reads L on one page and kg on another."""
    unit = canonical_unit(carrier)
    return UNIT_SYMBOLS.get(unit, unit)


def canonical_unit(carrier: str) -> str:
    """The canonical unit of ``carrier``; an unknown carrier raises ValidationError (rule ``carrier-unknown``)."""
    try:
        return CANONICAL_UNITS[carrier]
    except (KeyError, TypeError):
        valid = ", ".join(CANONICAL_UNITS)
        raise ValidationError("carrier", "carrier-unknown",
                              f"unknown carrier {carrier!r}; valid: {valid} / 未知能源品种 {carrier!r}，可选: {valid}",
                              value=carrier) from None


def _scale(from_unit: str, to_unit: str) -> float | None:
    try:
        scale, offset = conversion(from_unit, to_unit)
    except ValidationError:
        return None
    return scale if offset == 0 else None


def to_canonical_scale(carrier: str, unit: str, config: EnergyConfig | None = None) -> float:
    """Factor turning a meter's ``unit`` into its carrier's canonical unit [canonical unit per meter unit].

    Raises ValidationError: unknown carrier (``carrier-unknown``), unknown unit (``unit-unknown``), a unit that
    does not convert for this carrier (``unit-incompatible``).
    """
    target = canonical_unit(carrier)
    check_unit(unit, "unit")
    direct = _scale(unit, target)
    if direct is not None:
        return direct
    if carrier in ("diesel", "gasoline"):
        litres = _scale(unit, "L")
        if litres is not None:
            return litres * fuel_density(carrier, config).value
    if carrier == "hydrogen":
        normal = _scale(unit, "Nm3")
        if normal is not None:
            return normal * fuel_density("hydrogen", config).value
    raise ValidationError("unit", "unit-incompatible",
                          f"a {carrier} meter in {unit!r} cannot be accounted in {target!r} / "
                          f"{carrier} 计量单位 {unit!r} 无法换算为 {target!r}", value=unit)


__all__ = ["CANONICAL_UNITS", "CARRIER_LABELS", "INTERVAL_Q", "UNIT_SYMBOLS", "canonical_unit", "display_unit",
           "to_canonical_scale"]
