"""One unit registry for the whole platform (pint behind a small, fast facade).

Every attribute has one unit, fixed when it is declared (or first written); values arriving in another
unit are converted on the way in, and values whose unit does not convert are refused. Conversion factors
are computed once per (from, to) pair and cached, so bulk paths multiply arrays instead of building
pint quantities per reading.

Units the platform adds to pint's defaults (all documented in ``docs/glossary.md``):

- ``Nm3`` — normal cubic metre (0 °C, 101.325 kPa). A dimension of its own: turning Nm³ into m³ or kg
  depends on the gas, so that conversion belongs to the energy pack, never to a silent factor here.
- ``m2``, ``m3``, ``km2`` spellings, ``t`` (tonne), ``CNY`` / ``yuan`` (currency dimension),
  ``kgce`` / ``tce`` (kilogram / tonne of standard coal equivalent, GB/T 2589-2020: 1 kgce = 29 307 kJ).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pint

from lingang_twin.core.errors import ValidationError

_DEFINITIONS = """
normal_cubic_meter = [normal_volume] = Nm3 = Nm³
CNY = [currency] = yuan = RMB
kgce = 29307 * kilojoule
tce = 1000 * kgce
"""


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry[Any]:
    """The platform's single pint registry (created once, on first use)."""
    ureg: pint.UnitRegistry[Any] = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    for line in _DEFINITIONS.strip().splitlines():
        ureg.define(line)
    return ureg


# Spellings that meters and integrators send and pint does not read as we mean them.
_ALIASES: dict[str, str] = {
    "m2": "m**2",
    "m3": "m**3",
    "km2": "km**2",
    "m²": "m**2",
    "m³": "m**3",
    "km²": "km**2",
    "°C": "degC",
    "℃": "degC",
    "t": "tonne",
    "%": "percent",
    "1": "dimensionless",
    "": "dimensionless",
}


def _pint_text(unit: str) -> str:
    return _ALIASES.get(unit, unit)


@lru_cache(maxsize=4096)
def _parse(unit: str) -> pint.Unit:
    return registry().Unit(_pint_text(unit))


def check_unit(unit: str, field: str = "unit") -> str:
    """Return ``unit`` unchanged if the registry knows it, else raise ValidationError (rule ``unit-unknown``)."""
    if not isinstance(unit, str):
        raise ValidationError(field, "unit-type", f"a unit must be text, got {type(unit).__name__}", value=unit)
    try:
        _parse(unit)
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError, AttributeError, TypeError,
            ValueError, AssertionError) as err:
        raise ValidationError(
            field, "unit-unknown", f"unknown unit {unit!r} / 未知单位 {unit!r}", value=unit
        ) from err
    return unit


@lru_cache(maxsize=4096)
def conversion(from_unit: str, to_unit: str) -> tuple[float, float]:
    """Return ``(scale, offset)`` so that ``value_to = value_from * scale + offset``.

    Raises ValidationError (rule ``unit-incompatible``) when the dimensions differ, e.g. kWh → m³.
    """
    if from_unit == to_unit:
        return (1.0, 0.0)
    src, dst = _parse(from_unit), _parse(to_unit)
    if src.dimensionality != dst.dimensionality:
        raise ValidationError(
            "unit",
            "unit-incompatible",
            f"{from_unit!r} does not convert to {to_unit!r} ({src.dimensionality} vs {dst.dimensionality})"
            f" / 单位 {from_unit!r} 无法换算为 {to_unit!r}",
            value=from_unit,
        )
    ureg = registry()
    # Two points define the affine map; this covers offset units (°C, °F) as well as plain scales.
    zero = ureg.Quantity(0.0, src).to(dst).magnitude
    one = ureg.Quantity(1.0, src).to(dst).magnitude
    # pint's chain of factors leaves float dust (L → m³ gives 0.0010000000000000002); 15 significant digits
    # is below any meter's resolution and makes exact decimal factors exact again.
    return (float(f"{one - zero:.15g}"), float(f"{zero:.15g}"))


def convert(value: Any, from_unit: str, to_unit: str, field: str = "unit") -> Any:
    """Convert a number or a NumPy array from ``from_unit`` to ``to_unit``.

    Raises ValidationError naming ``field`` if either unit is unknown or they do not convert.
    """
    check_unit(from_unit, field)
    check_unit(to_unit, field)
    try:
        scale, offset = conversion(from_unit, to_unit)
    except ValidationError as err:
        raise ValidationError(field, err.rule, err.message, value=from_unit) from None
    if isinstance(value, np.ndarray):
        return value * scale + offset
    return value * scale + offset
