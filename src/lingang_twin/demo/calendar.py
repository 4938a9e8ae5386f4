"""The district's calendar: working days, public holidays, make-up working days, school terms, forum days.

Chinese public holidays move with the lunar calendar and are stretched into long breaks by swapping weekend days:
a Saturday or Sunday becomes a make-up working day (调休上班) and a weekday becomes a day off. The ``holidays``
package knows both: ``holidays.China`` lists the days off (including the swapped weekdays, as "Day off
(substituted from …)") and its ``weekend_workdays`` the make-up working days, for every year the State Council has
published (through 2026 in holidays 0.109). For a year not yet published it still knows the fixed and lunar holidays,
only without the swaps.

Days are handled as *epoch days*: whole days since 1970-01-01 in the Asia/Shanghai calendar.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays
import numpy as np

EPOCH = date(1970, 1, 1)
WORKING, WEEKEND, HOLIDAY = 0, 1, 2  # day types

# Spring Festival (春节, first day of the lunar year): schools break around it. Source: the Chinese lunar calendar.
SPRING_FESTIVAL: dict[int, date] = {
    2018: date(2018, 2, 16), 2019: date(2019, 2, 5), 2020: date(2020, 1, 25), 2021: date(2021, 2, 12),
    2022: date(2022, 2, 1), 2023: date(2023, 1, 22), 2024: date(2024, 2, 10), 2025: date(2025, 1, 29),
    2026: date(2026, 2, 17), 2027: date(2027, 2, 6), 2028: date(2028, 1, 26), 2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
}
# School breaks in Shanghai (approximate, illustrative): summer from 1 July to 31 August; winter from two weeks
# before to three weeks after the Spring Festival.
WINTER_BREAK_BEFORE_DAYS = 14
WINTER_BREAK_AFTER_DAYS = 21


def epoch_day(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH).days


def day_of(epoch: int) -> date:
    """The date of an epoch day."""
    return EPOCH + timedelta(days=int(epoch))


@lru_cache(maxsize=64)
def _china(year: int) -> holidays.HolidayBase:
    return holidays.China(years=year)


def day_type(d: date) -> int:
    """``WORKING`` (including make-up working days), ``WEEKEND`` or ``HOLIDAY`` (including swapped days off)."""
    cn = _china(d.year)
    if d in cn.weekend_workdays:
        return WORKING
    if d in cn:
        return HOLIDAY
    return WEEKEND if d.weekday() >= 5 else WORKING


def is_make_up_working_day(d: date) -> bool:
    """True for a weekend day that is a working day to make up for a long holiday (调休上班)."""
    return d in _china(d.year).weekend_workdays


def in_school_term(d: date) -> bool:
    """True if Shanghai schools are in term on ``d`` (breaks: summer, and around the Spring Festival)."""
    if date(d.year, 7, 1) <= d <= date(d.year, 8, 31):
        return False
    for year in (d.year, d.year + 1):
        sf = SPRING_FESTIVAL.get(year)
        if sf is not None and sf - timedelta(days=WINTER_BREAK_BEFORE_DAYS) <= d <= sf + timedelta(
                days=WINTER_BREAK_AFTER_DAYS):
            return False
    return True


def forum_days(year: int) -> tuple[date, ...]:
    """The World Laureates Forum at Lingang Center: illustratively the Tuesday to Thursday of the week holding
    1 November (the real forum has been held in late October or early November)."""
    nov1 = date(year, 11, 1)
    tuesday = nov1 - timedelta(days=nov1.weekday()) + timedelta(days=1)
    return tuple(tuesday + timedelta(days=i) for i in range(3))


@lru_cache(maxsize=64)
def year_calendar(year: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For every day of ``year``: epoch days [int64], day types [int8], in-term flags, forum flags."""
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    forum = set(forum_days(year))
    epochs = np.array([epoch_day(d) for d in days], dtype=np.int64)
    types = np.array([day_type(d) for d in days], dtype=np.int8)
    term = np.array([in_school_term(d) for d in days], dtype=bool)
    wlf = np.array([d in forum for d in days], dtype=bool)
    for arr in (epochs, types, term, wlf):
        arr.setflags(write=False)
    return epochs, types, term, wlf
