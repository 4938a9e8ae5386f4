"""Reporting periods of the energy page (统计周期) and the period each is compared with, as Home Assistant's energy
dashboard does: the last 30 days (the default), this month, last month, or any run of days.

A period is whole Shanghai days ``[start, end)`` and never reaches past the end of today, so no chart shows days to
come as zeros. The previous period has the same number of days and ends where the period starts; for the calendar
kinds it is the previous calendar month, cut to the days this month has had so far (this month) or whole (last
month), so that "this month so far" is compared with the same days of the month before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from lingang_twin.core.calendar import SHANGHAI, midnight, month_start, previous_month_start
from lingang_twin.core.errors import ValidationError

PERIOD_KINDS: dict[str, tuple[str, str]] = {
    "last30": ("最近 30 天", "Last 30 days"),
    "this_month": ("本月", "This month"),
    "last_month": ("上月", "Last month"),
    "custom": ("自定义", "Custom"),
}
"""Period kind → (中文, English) label, in the order the picker offers them."""
MAX_CUSTOM_DAYS = 366  # a daily chart of more than a year is unreadable; the reports cover longer spans


@dataclass(frozen=True)
class Period:
    """``[start, end)`` and the previous period ``[previous_start, previous_end)``, all Shanghai midnights."""

    kind: str
    start: datetime
    end: datetime
    previous_start: datetime
    previous_end: datetime

    @property
    def days(self) -> int:
        """Days in the period."""
        return (self.end - self.start).days

    @property
    def previous_days(self) -> int:
        """Days in the previous period (fewer than :attr:`days` when the previous month is shorter)."""
        return (self.previous_end - self.previous_start).days

    @property
    def month(self) -> str:
        """The month (``YYYY-MM``) the period's report belongs to: the month of its last day."""
        return f"{self.end - timedelta(days=1):%Y-%m}"


def period(kind: str, now: datetime, start_day: date | None = None, end_day: date | None = None) -> Period:
    """The period of ``kind`` as seen at ``now``; ``custom`` takes ``start_day`` … ``end_day`` inclusive.

    Raises ValidationError naming the field: an unknown kind (``period``, rule ``one-of``), a custom period with a
    missing day (``start``/``end``, ``required``), ending before it starts (``end``, ``range-order``), ending after
    today (``end``, ``future``) or longer than :data:`MAX_CUSTOM_DAYS` (``end``, ``too-long``)."""
    today = now.astimezone(SHANGHAI).date()
    tomorrow = midnight(today + timedelta(days=1))
    if kind == "last30":
        start = tomorrow - timedelta(days=30)
        return Period(kind, start, tomorrow, start - timedelta(days=30), start)
    if kind == "this_month":
        start = midnight(month_start(today))
        before = midnight(previous_month_start(today))
        return Period(kind, start, tomorrow, before, min(before + (tomorrow - start), start))
    if kind == "last_month":
        first = previous_month_start(today)
        return Period(kind, midnight(first), midnight(month_start(today)), midnight(previous_month_start(first)),
                      midnight(first))
    if kind == "custom":
        for name, day in (("start", start_day), ("end", end_day)):
            if day is None:
                raise ValidationError(name, "required", f"a custom period needs its {name} day (YYYY-MM-DD) / "
                                      f"自定义周期须填写{'开始' if name == 'start' else '结束'}日期（YYYY-MM-DD）")
        assert start_day is not None and end_day is not None
        if end_day < start_day:
            raise ValidationError("end", "range-order", "the end day is before the start day / 结束日期早于开始日期",
                                  value=end_day.isoformat())
        if end_day > today:
            raise ValidationError("end", "future",
                                  f"the end day is after today ({today}) / 结束日期晚于今天（{today}）",
                                  value=end_day.isoformat())
        length = (end_day - start_day).days + 1
        if length > MAX_CUSTOM_DAYS:
            raise ValidationError("end", "too-long", f"a period of {length} days is longer than {MAX_CUSTOM_DAYS} / "
                                  f"周期 {length} 天，超过 {MAX_CUSTOM_DAYS} 天", value=end_day.isoformat())
        start = midnight(start_day)
        return Period(kind, start, midnight(end_day + timedelta(days=1)), start - timedelta(days=length), start)
    valid = ", ".join(PERIOD_KINDS)
    raise ValidationError("period", "one-of", f"unknown period {kind!r}; valid: {valid} / 未知统计周期，可选：{valid}",
                          value=kind)


def parse_day(text: str | None, field: str) -> date | None:
    """``YYYY-MM-DD`` as a date (``None`` for empty text); anything else raises ValidationError naming ``field``
    (rule ``date-format``)."""
    if not text or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(field, "date-format",
                              f"{text!r} is not a day: write YYYY-MM-DD / 日期格式应为 YYYY-MM-DD",
                              value=text) from None


def recent_months(now: datetime, count: int = 12) -> list[str]:
    """The ``count`` months up to ``now``'s, newest first (``YYYY-MM``): the tenants page's month picker."""
    day = month_start(now.astimezone(SHANGHAI).date())
    out = []
    for _ in range(count):
        out.append(f"{day:%Y-%m}")
        day = previous_month_start(day)
    return out


__all__ = ["MAX_CUSTOM_DAYS", "PERIOD_KINDS", "Period", "parse_day", "period", "recent_months"]
