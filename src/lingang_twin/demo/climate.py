"""Synthetic Lingang weather: Shanghai's climate normals plus deterministic day-to-day weather.

Daily mean temperature = the climatological curve (monthly normals joined smoothly, periodic over the year)
+ a slowly varying anomaly (knots every 5 days, s.d. 2.2 °C) + a daily wobble (s.d. 0.8 °C). Within the day the
temperature follows the daily mean interpolated between noons, a diurnal cycle peaking at 14:30, and a little
sensor noise. Humidity runs against temperature. Everything is a pure function of (seed, instant).
"""

from __future__ import annotations

import numpy as np

from lingang_twin.demo.noise import normal, smooth_noise, stream_key

# Monthly normal air temperature [°C] and relative humidity [%], Shanghai (Xujiahui), 1991–2020 climate normals of
# the China Meteorological Administration, rounded; illustrative values for Lingang, which is a little milder by
# the sea. Override by passing other tables to the functions below.
SHANGHAI_MONTHLY_TEMPERATURE_C: tuple[float, ...] = (4.8, 6.6, 10.2, 15.6, 21.0, 24.6, 28.7, 28.5, 24.9, 19.9, 14.2,
                                                     7.5)
SHANGHAI_MONTHLY_HUMIDITY_PCT: tuple[float, ...] = (73, 73, 72, 72, 72, 80, 79, 79, 77, 73, 74, 72)

DIURNAL_AMPLITUDE_C = 3.4  # half the typical daily range (≈ 7 °C) [°C]
PEAK_HOUR = 14.5  # warmest time of day [h]
_DAY_S = 86_400
_MID_MONTH_DOY = np.array([15.5, 45, 74.5, 105, 135.5, 166, 196.5, 227.5, 258, 288.5, 319, 349.5])
_T_KNOT_DAYS = 5


def climatology(day_of_year: np.ndarray, monthly: tuple[float, ...] = SHANGHAI_MONTHLY_TEMPERATURE_C) -> np.ndarray:
    """Climatological value on fractional day-of-year (0 = 1 January 00:00), periodic linear between mid-months."""
    doy = np.asarray(day_of_year, dtype=np.float64) % 365.25
    xs = np.concatenate([[_MID_MONTH_DOY[-1] - 365.25], _MID_MONTH_DOY, [_MID_MONTH_DOY[0] + 365.25]])
    ys = np.concatenate([[monthly[-1]], monthly, [monthly[0]]])
    return np.interp(doy, xs, ys)


def day_of_year(epoch_days: np.ndarray) -> np.ndarray:
    # Noon of each day as a fractional day of the year, without calendar objects: 1970-01-01 starts a year and the
    # mean Gregorian year keeps the phase within a day for centuries, which is plenty for a climate curve.
    return (np.asarray(epoch_days, dtype=np.float64) + 0.5) % 365.2425


def daily_anomaly(seed: int, epoch_days: np.ndarray) -> np.ndarray:
    """The weather's departure from the climate on each day [°C] (pure in seed and day)."""
    d = np.asarray(epoch_days, dtype=np.int64)
    slow = smooth_noise(seed, stream_key("temperature-anomaly"), 0, d, _T_KNOT_DAYS)
    fast = normal(seed, stream_key("temperature-daily"), 0, d)
    return 2.2 * slow + 0.8 * fast


def daily_mean_temperature(seed: int, epoch_days: np.ndarray) -> np.ndarray:
    """Daily mean outdoor temperature of each epoch day [°C]."""
    d = np.asarray(epoch_days, dtype=np.int64)
    return climatology(day_of_year(d)) + daily_anomaly(seed, d)


def temperature_at(seed: int, t_s: np.ndarray) -> np.ndarray:
    """Outdoor temperature at UTC epoch seconds ``t_s`` [°C], Asia/Shanghai diurnal cycle."""
    t = np.asarray(t_s, dtype=np.int64)
    local = t + 8 * 3600
    # Interpolate the daily mean between the noons around t so that days join without a step at midnight.
    x = (local - _DAY_S // 2) / _DAY_S
    d0 = np.floor(x).astype(np.int64)
    w = x - d0
    m0 = daily_mean_temperature(seed, d0)
    m1 = daily_mean_temperature(seed, d0 + 1)
    hour = (local % _DAY_S) / 3600.0
    diurnal = DIURNAL_AMPLITUDE_C * np.cos(2 * np.pi * (hour - PEAK_HOUR) / 24.0)
    jitter = 0.25 * normal(seed, stream_key("temperature-sensor"), 0, t // 60)
    return m0 + (m1 - m0) * w + diurnal + jitter


def humidity_at(seed: int, t_s: np.ndarray) -> np.ndarray:
    """Relative humidity at UTC epoch seconds ``t_s`` [%], 30–100."""
    t = np.asarray(t_s, dtype=np.int64)
    local = t + 8 * 3600
    d = local // _DAY_S
    clim = climatology(day_of_year(d), SHANGHAI_MONTHLY_HUMIDITY_PCT)
    hour = (local % _DAY_S) / 3600.0
    diurnal = -11.0 * np.cos(2 * np.pi * (hour - PEAK_HOUR) / 24.0)
    weather = -1.6 * daily_anomaly(seed, d) + 5.0 * smooth_noise(seed, stream_key("humidity"), 0, d, 3)
    jitter = 1.5 * normal(seed, stream_key("humidity-sensor"), 0, t // 60)
    return np.clip(clim + diurnal + weather + jitter, 30.0, 100.0)
