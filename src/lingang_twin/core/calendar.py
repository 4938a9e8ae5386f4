"""The district's clock (时区与日历): the Asia/Shanghai zone, its days and months, and epoch-microsecond buckets.

Every pack counts days and months in Shanghai time. Shanghai has kept UTC+8 without daylight saving since 1992, so a
day is always 24 h and day numbers, bucket starts and month bounds are integer arithmetic on epoch microseconds
(:data:`OFFSET_US` shifts UTC to local). Defined here once so that no pack keeps its own copy of the zone or of the
arithmetic.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from lingang_twin.core.errors import ValidationError

SHANGHAI = ZoneInfo("Asia/Shanghai")
"""The district's zone: every day, month and calendar bucket is reckoned in it."""
HOUR_US = 3_600_000_000
DAY_US = 86_400_000_000
OFFSET_US = 8 * HOUR_US
"""Shanghai's offset from UTC in microseconds (UTC+8 all year: no daylight saving since 1992)."""
BUCKET_US: dict[str, int] = {"15min": 900_000_000, "hour": HOUR_US, "day": DAY_US}
"""The fixed-length calendar buckets and their length in microseconds."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def epoch_us(t: datetime) -> int:
    """Epoch microseconds of an aware instant, exactly (no float rounding)."""
    return int((t - _EPOCH) / timedelta(microseconds=1))


def instant_at(us: int) -> datetime:
    """The Shanghai-time instant of epoch microseconds ``us``."""
    return (_EPOCH + timedelta(microseconds=us)).astimezone(SHANGHAI)


def local_day_number(us: int) -> int:
    """The Shanghai day (days since 1970-01-01 in Shanghai) holding epoch microseconds ``us``."""
    return (us + OFFSET_US) // DAY_US


def day_start_us(day_number: int) -> int:
    """Epoch microseconds of the Shanghai midnight starting day ``day_number`` (see :func:`local_day_number`)."""
    return day_number * DAY_US - OFFSET_US


def midnight(day: date) -> datetime:
    """The Shanghai midnight starting ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


def month_start(day: date) -> date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def previous_month_start(day: date) -> date:
    """The first day of the month before ``day``'s."""
    return month_start(month_start(day) - timedelta(days=1))


def month_range(text: str, field: str = "month") -> tuple[datetime, datetime]:
    """The calendar month ``YYYY-MM`` in Asia/Shanghai as ``[start, end)``; bad text raises ValidationError
    naming ``field`` (rule ``month-format``)."""
    match = _MONTH.match(text or "") if isinstance(text, str) else None
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
        raise ValidationError(field, "month-format",
                              f"{text!r} is not a month: write YYYY-MM, e.g. 2026-03 / 月份格式应为 YYYY-MM",
                              value=text)
    year, month = int(match.group(1)), int(match.group(2))
    start = datetime(year, month, 1, tzinfo=SHANGHAI)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=SHANGHAI)
    return start, end


def shift_month(month: str, months: int) -> str:
    """The month ``months`` after ``month`` (``YYYY-MM``; negative goes back)."""
    start, _ = month_range(month)
    k = start.year * 12 + start.month - 1 + months
    return f"{k // 12:04d}-{k % 12 + 1:02d}"


def align(start: datetime, end: datetime, bucket: str) -> tuple[datetime, datetime]:
    """``start`` floored and ``end`` ceiled to whole Shanghai-time buckets of ``bucket`` (a :data:`BUCKET_US`
    name); checks the bucket name, that both instants are aware and that ``start < end``."""
    if bucket not in BUCKET_US:
        raise ValidationError("bucket", "one-of", f"bucket must be one of {sorted(BUCKET_US)} / 不支持的时间粒度",
                              value=bucket)
    for name, instant in (("start", start), ("end", end)):
        if not isinstance(instant, datetime) or instant.tzinfo is None:
            raise ValidationError(name, "timezone-required", f"{name} must be a timezone-aware datetime / 须带时区")
    if start >= end:
        raise ValidationError("end", "range-order", "end must be after start / 结束时间须晚于开始时间")
    size = BUCKET_US[bucket]
    s = epoch_us(start) + OFFSET_US
    e = epoch_us(end) + OFFSET_US
    s0 = s - s % size
    e0 = e + (-e) % size
    return instant_at(s0 - OFFSET_US), instant_at(e0 - OFFSET_US)


__all__ = ["BUCKET_US", "DAY_US", "HOUR_US", "OFFSET_US", "SHANGHAI", "align", "day_start_us", "epoch_us",
           "instant_at", "local_day_number", "midnight", "month_range", "month_start", "previous_month_start",
           "shift_month"]
