"""How each kind of building uses energy and water: the demo's one table of assumptions.

Every figure here is an **illustrative assumption** of the order of magnitude seen in Shanghai public buildings
(annual use per m² of floor area, end-use shares, hours of occupancy); none is quoted from a standard, so none
should be read as a benchmark. Change them here, in one place.

Terms:

* *schedule* — when a building is busy: an hourly occupancy curve (0–1) for each *day kind*: ``work`` (a working
  day, in term for schools), ``off`` (weekend, holiday, school break) and ``event`` (a forum or conference day at
  a venue), plus an *activity* factor per day kind that scales the day's consumption.
* *end use* — what the energy is for (HVAC, lighting, plug loads, lab process, kitchen …). Each building has a set
  of end uses per carrier with their shares of its annual use; sub-meters measure some of them, the main meter
  their sum.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

KIND_WORK, KIND_OFF, KIND_EVENT = 0, 1, 2
SLOTS_PER_DAY = 96  # 15-minute intervals

CARRIER_UNITS: dict[str, str] = {"electricity": "kWh", "water": "m3", "natural_gas": "m3", "diesel": "L",
                                 "hydrogen": "kg"}
CARRIER_LABELS: dict[str, tuple[str, str]] = {
    "electricity": ("电", "electricity"), "water": ("水", "water"), "natural_gas": ("天然气", "natural gas"),
    "diesel": ("柴油", "diesel"), "hydrogen": ("氢", "hydrogen")}
CARRIER_SHORT: dict[str, str] = {"electricity": "elec", "water": "water", "natural_gas": "gas", "diesel": "diesel",
                                 "hydrogen": "h2"}


def hourly_curve(points: dict[float, float]) -> tuple[float, ...]:
    """24 hourly values from a few (hour → value) points, linear in between, flat at the ends of the day."""
    hours = sorted(points)
    return tuple(float(np.interp(h, hours, [points[k] for k in hours])) for h in range(24))


_curve = hourly_curve  # short name for the tables below


@dataclass(frozen=True)
class Schedule:
    """Occupancy curves (24 hourly values, 0–1) and activity factors per day kind (work, off, event)."""

    work: tuple[float, ...]
    off: tuple[float, ...]
    event: tuple[float, ...] | None = None
    activity: tuple[float, float, float] = (1.0, 0.3, 1.0)


SCHEDULES: dict[str, Schedule] = {
    "office": Schedule(
        work=_curve({0: 0.04, 6: 0.05, 7: 0.2, 8: 0.6, 9: 0.95, 11: 1.0, 12: 0.8, 13: 0.95, 14: 1.0, 16: 0.95,
                     17: 0.8, 18: 0.5, 19: 0.3, 21: 0.12, 23: 0.05}),
        off=_curve({0: 0.04, 8: 0.05, 10: 0.15, 16: 0.15, 18: 0.06, 23: 0.04}), activity=(1.0, 0.2, 1.0)),
    "lab": Schedule(
        work=_curve({0: 0.15, 6: 0.15, 8: 0.5, 9: 0.9, 12: 0.85, 14: 1.0, 18: 0.85, 20: 0.6, 22: 0.35, 23: 0.2}),
        off=_curve({0: 0.15, 8: 0.15, 10: 0.45, 17: 0.45, 19: 0.25, 23: 0.15}), activity=(1.0, 0.55, 1.0)),
    "school": Schedule(
        work=_curve({0: 0.02, 6: 0.03, 7: 0.5, 8: 1.0, 11: 1.0, 12: 0.8, 13: 1.0, 15: 1.0, 16: 0.6, 17: 0.3,
                     18: 0.1, 20: 0.05, 23: 0.02}),
        off=_curve({0: 0.02, 9: 0.04, 16: 0.04, 23: 0.02}), activity=(1.0, 0.08, 1.0)),
    "residential": Schedule(
        work=_curve({0: 0.3, 2: 0.15, 5: 0.15, 6: 0.45, 7: 0.75, 8: 0.55, 9: 0.3, 16: 0.3, 18: 0.7, 19: 0.95,
                     21: 1.0, 22: 0.8, 23: 0.5}),
        off=_curve({0: 0.35, 2: 0.15, 6: 0.15, 8: 0.45, 10: 0.65, 12: 0.7, 15: 0.6, 18: 0.85, 20: 1.0, 22: 0.85,
                    23: 0.55}), activity=(1.0, 1.15, 1.0)),
    "venue": Schedule(
        work=_curve({0: 0.3, 5: 0.3, 7: 0.55, 9: 0.7, 12: 0.75, 17: 0.7, 19: 0.8, 21: 0.7, 23: 0.4}),
        off=_curve({0: 0.3, 5: 0.3, 8: 0.5, 10: 0.65, 17: 0.65, 19: 0.75, 21: 0.6, 23: 0.4}),
        event=_curve({0: 0.35, 5: 0.35, 7: 0.7, 8: 0.95, 12: 1.0, 17: 0.95, 19: 1.0, 21: 0.9, 23: 0.5}),
        activity=(1.0, 0.9, 1.6)),
    "hotel": Schedule(
        work=_curve({0: 0.45, 5: 0.4, 7: 0.8, 9: 0.6, 12: 0.5, 17: 0.6, 19: 0.85, 22: 0.8, 23: 0.6}),
        off=_curve({0: 0.5, 5: 0.45, 8: 0.8, 10: 0.65, 12: 0.6, 17: 0.7, 19: 0.9, 22: 0.85, 23: 0.65}),
        event=_curve({0: 0.55, 5: 0.5, 7: 0.9, 9: 0.75, 12: 0.7, 17: 0.75, 19: 0.95, 22: 0.9, 23: 0.7}),
        activity=(1.0, 1.05, 1.3)),
    "retail": Schedule(
        work=_curve({0: 0.08, 8: 0.1, 10: 0.7, 12: 0.9, 14: 0.75, 18: 0.9, 20: 1.0, 21: 0.8, 22: 0.2, 23: 0.08}),
        off=_curve({0: 0.08, 8: 0.1, 10: 0.8, 12: 1.0, 15: 0.95, 19: 1.0, 21: 0.85, 22: 0.2, 23: 0.08}),
        activity=(1.0, 1.3, 1.0)),
    "health": Schedule(
        work=_curve({0: 0.12, 6: 0.15, 7: 0.5, 8: 1.0, 11: 1.0, 12: 0.7, 13: 0.9, 16: 0.9, 17: 0.5, 19: 0.2,
                     23: 0.12}),
        off=_curve({0: 0.12, 7: 0.15, 8: 0.45, 12: 0.45, 13: 0.3, 17: 0.25, 19: 0.15, 23: 0.12}),
        activity=(1.0, 0.45, 1.0)),
    "community": Schedule(
        work=_curve({0: 0.04, 7: 0.06, 8: 0.6, 9: 1.0, 11: 1.0, 12: 0.7, 13: 0.95, 17: 0.8, 18: 0.5, 20: 0.4,
                     21: 0.1, 23: 0.04}),
        off=_curve({0: 0.04, 8: 0.06, 9: 0.35, 17: 0.35, 19: 0.3, 21: 0.06, 23: 0.04}), activity=(1.0, 0.35, 1.0)),
    "incubator": Schedule(
        work=_curve({0: 0.08, 7: 0.1, 9: 0.8, 10: 1.0, 12: 0.85, 14: 1.0, 18: 0.85, 20: 0.6, 22: 0.3, 23: 0.12}),
        off=_curve({0: 0.08, 9: 0.1, 11: 0.35, 18: 0.35, 20: 0.2, 23: 0.08}), activity=(1.0, 0.35, 1.0)),
    "always": Schedule(work=_curve({0: 1.0, 23: 1.0}), off=_curve({0: 1.0, 23: 1.0}), activity=(1.0, 1.0, 1.0)),
    "park": Schedule(
        work=_curve({0: 0.05, 6: 0.2, 8: 0.5, 10: 0.7, 16: 0.7, 18: 0.5, 20: 0.3, 22: 0.05}),
        off=_curve({0: 0.05, 6: 0.3, 9: 0.9, 16: 1.0, 18: 0.7, 20: 0.4, 22: 0.05}), activity=(1.0, 1.6, 1.0)),
}

MEALS = _curve({0: 0.0, 6: 0.05, 7: 0.6, 8: 0.3, 10: 0.15, 11: 1.0, 12: 0.9, 13: 0.2, 16: 0.2, 17: 0.85,
                18: 0.9, 19: 0.4, 21: 0.05, 23: 0.0})


@dataclass(frozen=True)
class EndUse:
    """An end use: its label, base-load share of the daily shape (0–1, the rest follows occupancy), the
    weather it reacts to (``hvac``, ``cooling``, ``heating``, ``daylight`` or ``None``) and how much earlier than
    occupancy it starts [h] (HVAC pre-conditions the building)."""

    label: tuple[str, str]
    base: float
    weather: str | None = None
    lead_h: float = 0.0
    noise: float = 0.08  # s.d. of the 15-minute noise, as a fraction


END_USES: dict[str, EndUse] = {
    "hvac": EndUse(("暖通空调", "HVAC"), 0.25, "hvac", 1.0, 0.10),
    "lighting": EndUse(("照明", "lighting"), 0.12, "daylight", 0.0, 0.05),
    "plug": EndUse(("插座", "plug loads"), 0.35, None, 0.0, 0.08),
    "process": EndUse(("实验工艺", "lab process"), 0.8, None, 0.0, 0.06),
    "it": EndUse(("IT 设备", "IT load"), 0.97, None, 0.0, 0.015),
    "kitchen": EndUse(("厨房", "kitchen"), 0.05, None, 0.0, 0.12),
    "other": EndUse(("其他", "other"), 0.5, None, 0.0, 0.08),
    "domestic": EndUse(("生活用水", "domestic water"), 0.08, None, 0.0, 0.15),
    "cooling_tower": EndUse(("冷却塔补水", "cooling-tower make-up"), 0.3, "cooling", 1.0, 0.10),
    "heating": EndUse(("采暖及热水", "space and water heating"), 0.35, "heating", 1.0, 0.10),
    "generator": EndUse(("备用发电机", "backup generator"), 0.0, None, 0.0, 0.02),
}

# Annual use per m² of floor area [unit of the carrier / m² / year] and its split into end uses (shares sum to 1).
@dataclass(frozen=True)
class UseProfile:
    """A building use: its schedule, people density [m²/person], floor height [m], annual intensities per carrier
    [carrier unit/m²/yr] with end-use shares, and backup generator size [kW/m²] (0: none)."""

    label: tuple[str, str]
    schedule: str
    m2_per_person: float
    floor_height_m: float
    intensity: dict[str, float]
    end_uses: dict[str, dict[str, float]]
    generator_kw_per_m2: float = 0.0
    parking_kind: str = "office"
    extras: dict[str, str] = field(default_factory=dict)


_ELEC_OFFICE = {"hvac": 0.40, "lighting": 0.20, "plug": 0.30, "other": 0.10}
_WATER_PLAIN = {"domestic": 1.0}
_WATER_CT = {"domestic": 0.7, "cooling_tower": 0.3}

USES: dict[str, UseProfile] = {
    "office": UseProfile(("办公", "office"), "office", 12, 4.0, {"electricity": 110, "water": 0.8},
                         {"electricity": _ELEC_OFFICE, "water": _WATER_CT}),
    "lab": UseProfile(("实验室", "laboratory"), "lab", 25, 4.5,
                      {"electricity": 260, "water": 1.5, "natural_gas": 1.2},
                      {"electricity": {"hvac": 0.35, "lighting": 0.08, "plug": 0.12, "process": 0.40, "other": 0.05},
                       "water": _WATER_CT, "natural_gas": {"heating": 1.0}}, generator_kw_per_m2=0.02),
    "tech_platform": UseProfile(("科技平台", "tech platform"), "lab", 20, 4.5, {"electricity": 220, "water": 1.0},
                                {"electricity": {"hvac": 0.35, "lighting": 0.10, "plug": 0.20, "process": 0.30,
                                                 "other": 0.05}, "water": _WATER_CT}, generator_kw_per_m2=0.02),
    "incubator": UseProfile(("孵化器", "incubator"), "incubator", 10, 4.2, {"electricity": 120, "water": 0.9},
                            {"electricity": _ELEC_OFFICE, "water": _WATER_CT}),
    "data_centre": UseProfile(("数据中心", "data centre"), "always", 200, 5.0, {"electricity": 3000, "water": 6.0},
                              {"electricity": {"it": 0.72, "hvac": 0.25, "lighting": 0.01, "other": 0.02},
                               "water": {"domestic": 0.05, "cooling_tower": 0.95}}, generator_kw_per_m2=0.35),
    "school": UseProfile(("学校", "school"), "school", 10, 3.9,
                         {"electricity": 45, "water": 1.2, "natural_gas": 2.0},
                         {"electricity": {"hvac": 0.35, "lighting": 0.30, "plug": 0.20, "kitchen": 0.10,
                                          "other": 0.05},
                          "water": _WATER_PLAIN, "natural_gas": {"kitchen": 1.0}}, parking_kind="community"),
    "residential": UseProfile(("住宅", "residential"), "residential", 35, 3.0,
                              {"electricity": 32, "water": 1.6, "natural_gas": 3.0},
                              {"electricity": {"hvac": 0.35, "lighting": 0.15, "plug": 0.40, "other": 0.10},
                               "water": _WATER_PLAIN, "natural_gas": {"kitchen": 0.6, "heating": 0.4}}),
    "venue": UseProfile(("会议中心", "venue"), "venue", 15, 6.0,
                        {"electricity": 160, "water": 2.5, "natural_gas": 8.0},
                        {"electricity": {"hvac": 0.45, "lighting": 0.20, "plug": 0.15, "kitchen": 0.12,
                                         "other": 0.08},
                         "water": _WATER_CT, "natural_gas": {"kitchen": 0.55, "heating": 0.45}},
                        generator_kw_per_m2=0.015, parking_kind="venue"),
    "hotel": UseProfile(("酒店", "hotel"), "hotel", 40, 3.6, {"electricity": 150, "water": 3.0, "natural_gas": 9.0},
                        {"electricity": {"hvac": 0.45, "lighting": 0.18, "plug": 0.15, "kitchen": 0.12,
                                         "other": 0.10},
                         "water": _WATER_CT, "natural_gas": {"kitchen": 0.45, "heating": 0.55}},
                        generator_kw_per_m2=0.015, parking_kind="venue"),
    "retail": UseProfile(("商业", "retail"), "retail", 8, 4.5, {"electricity": 180, "water": 1.5, "natural_gas": 5.0},
                         {"electricity": {"hvac": 0.40, "lighting": 0.30, "plug": 0.15, "kitchen": 0.10,
                                          "other": 0.05},
                          "water": _WATER_PLAIN, "natural_gas": {"kitchen": 1.0}}),
    "health_centre": UseProfile(("卫生服务中心", "health centre"), "health", 20, 4.2,
                                {"electricity": 150, "water": 2.0, "natural_gas": 3.0},
                                {"electricity": {"hvac": 0.45, "lighting": 0.15, "plug": 0.15, "process": 0.20,
                                                 "other": 0.05},
                                 "water": _WATER_PLAIN, "natural_gas": {"heating": 1.0}},
                                generator_kw_per_m2=0.03, parking_kind="community"),
    "community_centre": UseProfile(("社区服务中心", "community centre"), "community", 15, 4.2,
                                   {"electricity": 70, "water": 0.8},
                                   {"electricity": _ELEC_OFFICE, "water": _WATER_PLAIN}, parking_kind="community"),
    "park": UseProfile(("公园", "park"), "park", 30, 5.0, {"electricity": 60, "water": 3.0},
                       {"electricity": {"lighting": 0.5, "plug": 0.3, "other": 0.2}, "water": _WATER_PLAIN},
                       parking_kind="community"),
}

# Kitchens that burn gas: only some offices have a canteen, so offices carry no gas by default.
DIESEL_L_PER_KWH = 0.27  # specific fuel consumption of a diesel generator set at part load [L/kWh] (assumption)
GENERATOR_TEST = (0.3, 0.5)  # monthly test run: load fraction of rated power, duration [h]


def _slot_hours() -> np.ndarray:
    # Interval k (1…96) covers (k−1)·15 min … k·15 min and is stamped at its end; shapes use its midpoint.
    return (np.arange(1, SLOTS_PER_DAY + 1) - 0.5) / 4.0


def hourly_to_slots(hourly: tuple[float, ...], lead_h: float = 0.0) -> np.ndarray:
    """Sample a 24-value hourly curve at the 96 interval midpoints, shifted ``lead_h`` hours earlier."""
    h = (_slot_hours() + lead_h) % 24.0
    xs = np.arange(25, dtype=np.float64)
    ys = np.array([*hourly, hourly[0]], dtype=np.float64)
    return np.interp(h, xs, ys)


def end_use_shape(schedule: str, kind: int, end_use: str) -> np.ndarray:
    """The intraday weights (96 values, summing to 1) of ``end_use`` in a building on ``schedule``, day ``kind``."""
    sched = SCHEDULES[schedule]
    curves = (sched.work, sched.off, sched.event or sched.work)
    eu = END_USES[end_use]
    if end_use == "generator":
        w = np.zeros(SLOTS_PER_DAY)
        w[40:42] = 1.0  # the test run: 10:00–10:30
    elif end_use == "kitchen":
        occ = hourly_to_slots(curves[kind])
        w = eu.base + (1 - eu.base) * hourly_to_slots(MEALS) * (0.3 + 0.7 * occ)
    else:
        w = eu.base + (1 - eu.base) * hourly_to_slots(curves[kind], eu.lead_h)
    return w / w.sum()


def weather_factor(kind: str | None, t_mean: np.ndarray, day_of_year: np.ndarray) -> np.ndarray:
    """How an end use's daily consumption scales with the day's mean outdoor temperature [°C] (1 = no effect).

    Cooling above 24 °C and heating below 14 °C (daily mean), the balance points of Shanghai buildings; the
    constant is fans, pumps and ventilation running regardless.
    """
    t = np.asarray(t_mean, dtype=np.float64)
    cdd = np.maximum(t - 24.0, 0.0)
    hdd = np.maximum(14.0 - t, 0.0)
    if kind == "hvac":
        return 0.3 + 0.17 * cdd + 0.06 * hdd
    if kind == "cooling":
        return 0.05 + 0.2 * np.maximum(t - 20.0, 0.0)
    if kind == "heating":
        return 0.35 + 0.08 * hdd
    if kind == "daylight":
        # Longer nights in winter: about ±10 % over the year, most on the winter solstice (day 355).
        return 1.0 + 0.1 * np.cos(2 * np.pi * (np.asarray(day_of_year, dtype=np.float64) - 355) / 365.25)
    return np.ones_like(t)
