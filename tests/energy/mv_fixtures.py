"""Synthetic M&V data with a known answer, in a real DuckDB twin.

One lab building, one electricity main meter (daily interval readings, each stamped at the Shanghai midnight that
closes its day) and one weather station (hourly temperature), from 2024-01-01 to 2026-04-01. The daily use is

    E = 800 + 45 · max(14 − T, 0) + 70 · max(T − 22, 0)  [kWh/day],  T the day's mean temperature [°C]

times 0.9 from the retrofit on 2025-07-01 (a designed 10 % saving), times (1 + ε), ε ~ N(0, 3 %). The temperature
is a seasonal cycle plus AR(1) day-to-day weather; January 2026 is made 6 °C colder than normal so that a
weather-normalised comparison has a lot of weather to remove. A second district has a building with a meter and no
weather station (for the "no station" error).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from lingang_twin.app import open_twin
from lingang_twin.core.observations import ObservationBatch
from lingang_twin.core.twin import Twin

SH = ZoneInfo("Asia/Shanghai")
DISTRICT = "urn:ngsi-ld:District:mv"
BUILDING = "urn:ngsi-ld:Building:mv-lab"
METER = "urn:ngsi-ld:Meter:mv-lab-elec"
STATION = "urn:ngsi-ld:WeatherStation:mv-aws"
BARE_DISTRICT = "urn:ngsi-ld:District:mv-bare"
BARE_BUILDING = "urn:ngsi-ld:Building:mv-bare"
BARE_METER = "urn:ngsi-ld:Meter:mv-bare-elec"

START = datetime(2024, 1, 1, tzinfo=SH)
END = datetime(2026, 4, 1, tzinfo=SH)
RETROFIT = datetime(2025, 7, 1, tzinfo=SH)


@dataclass(frozen=True)
class Truth:
    """The designed model [kWh/day, °C]."""

    base: float = 800.0
    hdd_balance_c: float = 14.0
    hdd_slope: float = 45.0
    cdd_balance_c: float = 22.0
    cdd_slope: float = 70.0
    saving: float = 0.10
    noise: float = 0.03

    def use(self, t: np.ndarray) -> np.ndarray:
        return self.base + self.hdd_slope * np.clip(self.hdd_balance_c - t, 0, None) \
            + self.cdd_slope * np.clip(t - self.cdd_balance_c, 0, None)


TRUTH = Truth()


def daily_temperature(days: pd.DatetimeIndex, seed: int = 7) -> np.ndarray:
    """Mean temperature per day [°C]: Shanghai-like seasons (5 °C in January, 28 °C in late July) plus weather."""
    rng = np.random.default_rng(seed)
    doy = days.dayofyear.to_numpy()
    season = 16.5 - 11.5 * np.cos(2 * np.pi * (doy - 20) / 365.25)
    weather = np.zeros(len(days))
    for i in range(1, len(days)):
        weather[i] = 0.7 * weather[i - 1] + rng.normal(0, 1.8)
    cold = (days.year == 2026) & (days.month == 1)
    return season + weather - 6.0 * cold


def build(path: Path, seed: int = 11) -> Twin:
    """A twin with the layout and the readings described above (the caller closes it)."""
    twin = open_twin(path)
    twin.upsert([
        {"id": DISTRICT, "type": "District", "properties": {"name": "测评区"}},
        {"id": BUILDING, "type": "Building", "properties": {"name": "实验楼"},
         "relationships": {"containedIn": DISTRICT}},
        {"id": METER, "type": "Meter", "properties": {"carrier": "electricity", "unit": "kWh",
                                                      "register": "interval"},
         "relationships": {"containedIn": BUILDING}},
        {"id": STATION, "type": "WeatherStation", "properties": {"name": "气象站"},
         "relationships": {"containedIn": DISTRICT}},
        {"id": BARE_DISTRICT, "type": "District", "properties": {"name": "无气象站区"}},
        {"id": BARE_BUILDING, "type": "Building", "properties": {"name": "仓库"},
         "relationships": {"containedIn": BARE_DISTRICT}},
        {"id": BARE_METER, "type": "Meter", "properties": {"carrier": "electricity", "unit": "kWh",
                                                           "register": "interval"},
         "relationships": {"containedIn": BARE_BUILDING}},
    ])
    days = pd.date_range(START, END - timedelta(days=1), freq="D")
    t = daily_temperature(days)
    rng = np.random.default_rng(seed)
    use = TRUTH.use(t) * np.where(days >= pd.Timestamp(RETROFIT), 1 - TRUTH.saving, 1.0)
    use *= 1 + rng.normal(0, TRUTH.noise, len(days))
    stamps = days + pd.Timedelta(days=1)  # a reading closes the day before its stamp
    hours = pd.date_range(START, END - timedelta(hours=1), freq="h")
    diurnal = 4.0 * np.sin(2 * np.pi * (hours.hour.to_numpy() - 9) / 24)  # averages to 0 over a day
    hourly = np.repeat(t, 24) + diurnal
    twin.append(ObservationBatch.from_arrays(METER, "reading", list(stamps.to_pydatetime()), use))
    twin.append(ObservationBatch.from_arrays(BARE_METER, "reading", list(stamps.to_pydatetime()), use))
    twin.append(ObservationBatch.from_arrays(STATION, "temperature", list(hours.to_pydatetime()), hourly))
    return twin
