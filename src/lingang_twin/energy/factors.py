"""Figures from standards (标准系数): standard-coal coefficients, CO₂ emission factors, fuel densities.

Every figure sits in one module-level table with its source and year (:class:`Figure`), is looked up by name
(an unknown name is refused with the list of valid ones), and can be overridden per deployment through
:class:`EnergyConfig` — never edited in place. A carrier without a figure is an error, never a silent zero.

Canonical units (see :mod:`.carriers`): electricity [kWh], water [m3], natural_gas [m3], diesel [kg],
gasoline [kg], hydrogen [kg], heat [MJ]. Every figure below is *per canonical unit*.

References
----------
.. [1] GB/T 2589-2020 综合能耗计算通则 (General principles for calculation of the comprehensive energy
   consumption), SAMR/SAC, 2020. 1 kgce = 7,000 kcal = 29,307 kJ.
.. [2] 生态环境部、国家统计局: 电力二氧化碳排放因子 (national and regional grid CO₂ factors), data years
   2021-2023.
.. [3] 上海市生态环境局 沪环气〔2022〕34号 (2022-02-11): electricity 4.2 t CO₂/10⁴ kWh, heat 0.06 t CO₂/GJ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lingang_twin.core.errors import ValidationError


@dataclass(frozen=True)
class Figure:
    """One published figure: ``value`` [``unit``], its ``source`` and ``year``; ``note`` says how far to trust
    it ("check": repeated by many sources whose primary text we could not read; "derived"; "configuration")."""

    value: float
    unit: str
    source: str
    year: int | None
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        """A JSON-able description."""
        return {"value": self.value, "unit": self.unit, "source": self.source, "year": self.year, "note": self.note}


_GBT2589 = "GB/T 2589-2020"

STANDARD_COAL_COEFFICIENTS: dict[str, Figure] = {
    "electricity_equivalent": Figure(0.1229, "kgce/kWh", _GBT2589, 2020, "当量值 equivalent value, 3,600 kJ/kWh"),
    "natural_gas_gas_field": Figure(1.2143, "kgce/m3", _GBT2589, 2020, "gas-field gas 气田天然气, 35,544 kJ/m³"),
    "natural_gas_oil_field": Figure(1.3300, "kgce/m3", _GBT2589, 2020, "oil-field gas 油田天然气, 38,931 kJ/m³"),
    "diesel": Figure(1.4571, "kgce/kg", _GBT2589, 2020, "42,652 kJ/kg"),
    "gasoline": Figure(1.4714, "kgce/kg", _GBT2589, 2020, "43,070 kJ/kg"),
    "lpg": Figure(1.7143, "kgce/kg", _GBT2589, 2020, "50,179 kJ/kg"),
    "heat": Figure(0.03412, "kgce/MJ", _GBT2589, 2020),
    # 1 t of tap water is taken as 1 m³ (density 1,000 kg/m³): the canonical water unit is m³.
    "water": Figure(0.0857, "kgce/m3", _GBT2589, 2020, "check: 2.51 MJ/t, energy-consuming medium 耗能工质"),
    "hydrogen": Figure(4.0945, "kgce/kg", f"{_GBT2589} (method)", 2020,
                       "derived from LHV 120 MJ/kg (not in the standard) 由低位热值推算"),
}
"""Standard-coal coefficients [kgce per canonical unit], GB/T 2589-2020 [1]_.

The equal-value (等价值) electricity coefficient has no fixed value — it is the year's coal use of thermal power
per kWh (order 0.3 kgce/kWh) — so it is not in the table: a deployment sets
``EnergyConfig.electricity_equal_value_kgce_per_kwh`` to use ``electricity_basis="equal-value"``.
Natural gas defaults to the gas-field coefficient (Shanghai's pipeline gas is mostly gas-field and LNG);
``EnergyConfig.natural_gas_source="oil-field"`` selects the other.
"""

FUEL_DENSITIES: dict[str, Figure] = {
    "diesel": Figure(0.84, "kg/L", "typical value (REFERENCE.md)", None, "configurable"),
    "gasoline": Figure(0.73, "kg/L", "typical value (REFERENCE.md)", None, "configurable"),
    "hydrogen": Figure(0.0899, "kg/Nm3", "density at 0 °C, 101.325 kPa", None, "1 Nm³ = 0.0899 kg"),
}
"""Densities turning litre-metered fuels into kg [kg/L] and normal cubic metres of hydrogen into kg [kg/Nm3]."""

_MEE = "生态环境部、国家统计局 电力二氧化碳排放因子 MEE & NBS grid emission factor"
_FUELS = "Chinese guideline method 温室气体排放核算指南 default (REFERENCE.md)"


def _fuels() -> dict[str, Figure]:
    # The fuel factors are the same in every set: the guideline's default values, independent of the grid year.
    return {
        "diesel": Figure(3.0959, "kgCO2/kg", _FUELS, None, "3.0959 t CO2/t"),
        "gasoline": Figure(2.9251, "kgCO2/kg", _FUELS, None, "2.9251 t CO2/t"),
        "natural_gas": Figure(2.1622, "kgCO2/m3", _FUELS, None),
    }


def _grid(value: float, region: str, year: int, note: str = "") -> dict[str, Figure]:
    return {"electricity": Figure(value, "kgCO2/kWh", f"{_MEE}, {region}", year, note), **_fuels()}


CO2_FACTOR_SETS: dict[str, dict[str, Figure]] = {
    "mee-national-2021": _grid(0.5568, "national average 全国平均", 2021),
    "mee-national-2022": _grid(0.5366, "national average 全国平均", 2022),
    "mee-national-2023": _grid(0.5306, "national average 全国平均", 2023),
    "mee-east-china-2021": _grid(0.5992, "East China grid 华东电网", 2021, "check"),
    "mee-east-china-2022": _grid(0.5617, "East China grid 华东电网", 2022),
    "mee-east-china-2023": _grid(0.5500, "East China grid 华东电网", 2023),
    "shanghai-local-2022": {
        "electricity": Figure(0.42, "kgCO2/kWh", "沪环气〔2022〕34号 Shanghai local default", 2022, "4.2 t/10⁴ kWh"),
        "heat": Figure(0.06, "kgCO2/MJ", "沪环气〔2022〕34号 Shanghai local default", 2022, "0.06 t CO2/GJ"),
        **_fuels(),
    },
}
"""CO₂ emission factor sets by name [kg CO₂ per canonical unit] [2]_ [3]_.

Hydrogen (no combustion CO₂; upstream emissions depend on the supply route, see :data:`HYDROGEN_ROUTES`) and
water (the energy to supply and treat it) have no published default here: a deployment that meters them must
set ``EnergyConfig.hydrogen_kgco2_per_kg`` (with its ``hydrogen_route``) and ``water_kgco2_per_m3``.
"""

HYDROGEN_ROUTES: tuple[str, ...] = ("grid-electrolysis", "renewable-electrolysis", "smr")
"""Hydrogen supply routes: grid electrolysis, renewable electrolysis, steam methane reforming (SMR)."""

ElectricityBasis = Literal["equivalent", "equal-value"]
ELECTRICITY_BASES: tuple[str, ...] = ("equivalent", "equal-value")


class EnergyConfig(BaseModel):
    """A deployment's overrides of the tables (a plain dict validates into it).

    ``coal_overrides`` / ``co2_overrides``: carrier → value [per canonical unit], taking precedence over the
    tables (recorded in the basis with source "configuration"). ``fuel_densities_kg_per_l``: diesel/gasoline.
    ``illustrative``: the values are placeholders (the demo twin's), not published figures — every figure taken
    from them says so in its source; ``source``: where the settings come from, in words.
    """

    model_config = ConfigDict(extra="forbid")

    natural_gas_source: Literal["gas-field", "oil-field"] = "gas-field"
    electricity_equal_value_kgce_per_kwh: float | None = Field(default=None, gt=0, lt=1)
    fuel_densities_kg_per_l: dict[Literal["diesel", "gasoline"], float] = Field(default_factory=dict)
    hydrogen_route: Literal["grid-electrolysis", "renewable-electrolysis", "smr"] | None = None
    hydrogen_kgco2_per_kg: float | None = Field(default=None, ge=0)
    water_kgco2_per_m3: float | None = Field(default=None, ge=0)
    coal_overrides: dict[str, float] = Field(default_factory=dict)
    co2_overrides: dict[str, float] = Field(default_factory=dict)
    illustrative: bool = False
    source: str | None = Field(default=None, max_length=500)


def _configured(value: float, unit: str, note: str = "", config: EnergyConfig | None = None) -> Figure:
    if config is not None and config.illustrative:
        # Placeholders must never pass for a deployment's own figures in a report's basis.
        return Figure(value, unit, "illustrative configuration, not published 示意配置（非公开发布数据）", None,
                      "; ".join(x for x in (note, config.source or "") if x))
    return Figure(value, unit, "configuration 部署配置", None, note)


def co2_factor_set(name: str) -> dict[str, Figure]:
    """The CO₂ factor set ``name``; an unknown name raises ValidationError (rule ``factor-set-unknown``)."""
    try:
        return CO2_FACTOR_SETS[name]
    except (KeyError, TypeError):
        valid = ", ".join(sorted(CO2_FACTOR_SETS))
        raise ValidationError("factors", "factor-set-unknown",
                              f"unknown CO2 factor set {name!r}; valid: {valid} / "
                              f"未知排放因子集 {name!r}，可选: {valid}",
                              value=name) from None


def fuel_density(carrier: str, config: EnergyConfig | None = None) -> Figure:
    """Density of a litre-metered fuel [kg/L] (configured value first)."""
    config = config or EnergyConfig()
    if carrier in config.fuel_densities_kg_per_l:
        return _configured(config.fuel_densities_kg_per_l[carrier], "kg/L", config=config)  # type: ignore[index]
    return FUEL_DENSITIES[carrier]


def coal_coefficient(carrier: str, config: EnergyConfig | None = None,
                     electricity_basis: str = "equivalent") -> Figure:
    """Standard-coal coefficient of ``carrier`` [kgce per canonical unit].

    Raises ValidationError: ``electricity_basis`` not one of :data:`ELECTRICITY_BASES` (rule ``basis-unknown``),
    equal value asked for but not configured (``coefficient-missing``), a carrier with no coefficient.
    """
    config = config or EnergyConfig()
    if electricity_basis not in ELECTRICITY_BASES:
        raise ValidationError("electricity_basis", "basis-unknown",
                              f"unknown electricity basis {electricity_basis!r}; valid: equivalent, equal-value / "
                              "未知电力折标方式", value=electricity_basis)
    if carrier in config.coal_overrides:
        return _configured(config.coal_overrides[carrier], "kgce", config=config)
    if carrier == "electricity" and electricity_basis == "equal-value":
        if config.electricity_equal_value_kgce_per_kwh is None:
            raise ValidationError("electricity_equal_value_kgce_per_kwh", "coefficient-missing",
                                  "the equal-value electricity coefficient has no fixed value: configure "
                                  "electricity_equal_value_kgce_per_kwh / 等价值折标系数须由部署配置", value=None)
        return _configured(config.electricity_equal_value_kgce_per_kwh, "kgce/kWh", "等价值 equal value", config)
    key = {"electricity": "electricity_equivalent",
           "natural_gas": f"natural_gas_{config.natural_gas_source.replace('-', '_')}"}.get(carrier, carrier)
    try:
        return STANDARD_COAL_COEFFICIENTS[key]
    except KeyError:
        raise ValidationError("carrier", "coefficient-missing",
                              f"no standard-coal coefficient for carrier {carrier!r} / 载体 {carrier!r} 无折标系数",
                              value=carrier) from None


def co2_factor(carrier: str, factors: str, config: EnergyConfig | None = None) -> Figure:
    """CO₂ factor of ``carrier`` [kg CO₂ per canonical unit] from set ``factors`` (configuration first).

    A carrier the set does not cover raises ValidationError (rule ``factor-missing``) — never a silent zero.
    """
    config = config or EnergyConfig()
    table = co2_factor_set(factors)
    if carrier in config.co2_overrides:
        return _configured(config.co2_overrides[carrier], "kgCO2", config=config)
    if carrier == "hydrogen" and config.hydrogen_kgco2_per_kg is not None:
        if config.hydrogen_route is None:
            raise ValidationError("hydrogen_route", "route-missing",
                                  "say which supply route hydrogen_kgco2_per_kg describes: "
                                  f"{', '.join(HYDROGEN_ROUTES)} / 须注明氢气来源路线", value=None)
        return _configured(config.hydrogen_kgco2_per_kg, "kgCO2/kg", f"supply route {config.hydrogen_route}", config)
    if carrier == "water" and config.water_kgco2_per_m3 is not None:
        return _configured(config.water_kgco2_per_m3, "kgCO2/m3", config=config)
    if carrier in table:
        return table[carrier]
    hint = {"hydrogen": " (set hydrogen_route and hydrogen_kgco2_per_kg)",
            "water": " (set water_kgco2_per_m3)"}.get(carrier, " (set co2_overrides)")
    raise ValidationError("factors", "factor-missing",
                          f"factor set {factors!r} has no CO2 factor for carrier {carrier!r}{hint} / "
                          f"排放因子集 {factors!r} 缺少 {carrier!r} 的排放因子", value=carrier)


__all__ = ["CO2_FACTOR_SETS", "ELECTRICITY_BASES", "FUEL_DENSITIES", "HYDROGEN_ROUTES", "STANDARD_COAL_COEFFICIENTS",
           "EnergyConfig", "Figure", "co2_factor", "co2_factor_set", "coal_coefficient", "fuel_density"]
