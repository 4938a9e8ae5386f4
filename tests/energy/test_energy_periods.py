"""The energy page's periods: each kind's days and the period it is compared with, written out by hand for a fixed
instant; a bad custom period names its field and rule."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from energy_fixtures import SH

from lingang_twin.core.errors import ValidationError
from lingang_twin.energy.periods import parse_day, period, recent_months

NOW = datetime(2026, 3, 20, 12, tzinfo=SH)


def d(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=SH)


@pytest.mark.parametrize(("kind", "span", "previous"), [
    # 30 days ending with today (today's day is in progress; tomorrow is not shown), the 30 before them.
    ("last30", (d(2026, 2, 19), d(2026, 3, 21)), (d(2026, 1, 20), d(2026, 2, 19))),
    # March 1-20 against February 1-20 (the same days of the month before).
    ("this_month", (d(2026, 3, 1), d(2026, 3, 21)), (d(2026, 2, 1), d(2026, 2, 21))),
    # All of February against all of January.
    ("last_month", (d(2026, 2, 1), d(2026, 3, 1)), (d(2026, 1, 1), d(2026, 2, 1))),
])
def test_period_kinds(kind: str, span: tuple[datetime, datetime], previous: tuple[datetime, datetime]) -> None:
    p = period(kind, NOW)
    assert (p.start, p.end) == span
    assert (p.previous_start, p.previous_end) == previous
    assert p.end <= NOW + timedelta(days=1)  # never a day to come


def test_this_month_on_the_31st_compares_with_the_whole_shorter_month() -> None:
    p = period("this_month", datetime(2026, 3, 31, 9, tzinfo=SH))
    assert (p.previous_start, p.previous_end) == (d(2026, 2, 1), d(2026, 3, 1))
    assert (p.days, p.previous_days) == (31, 28)


def test_last_month_in_january_is_december() -> None:
    p = period("last_month", datetime(2026, 1, 5, tzinfo=SH))
    assert (p.start, p.end, p.previous_start) == (d(2025, 12, 1), d(2026, 1, 1), d(2025, 11, 1))
    assert p.month == "2025-12"


def test_custom_period_and_its_errors() -> None:
    p = period("custom", NOW, date(2026, 3, 1), date(2026, 3, 10))
    assert (p.start, p.end, p.previous_start, p.previous_end) == (d(2026, 3, 1), d(2026, 3, 11), d(2026, 2, 19),
                                                                  d(2026, 3, 1))
    cases = [((None, date(2026, 3, 1)), "start", "required"),
             ((date(2026, 3, 5), date(2026, 3, 1)), "end", "range-order"),
             ((date(2026, 3, 1), date(2026, 3, 21)), "end", "future"),
             ((date(2024, 1, 1), date(2026, 3, 1)), "end", "too-long")]
    for (first, last), field, rule in cases:
        with pytest.raises(ValidationError) as err:
            period("custom", NOW, first, last)
        assert (err.value.field, err.value.rule) == (field, rule)
        assert "/" in err.value.message  # English / 中文
    with pytest.raises(ValidationError) as err:
        period("fortnight", NOW)
    assert (err.value.field, err.value.rule) == ("period", "one-of")
    with pytest.raises(ValidationError) as err:
        parse_day("2026-13-01", "start")
    assert (err.value.field, err.value.rule) == ("start", "date-format")
    assert parse_day("  ", "start") is None


def test_recent_months_cross_the_year() -> None:
    assert recent_months(datetime(2026, 2, 1, 0, 30, tzinfo=SH), 3) == ["2026-02", "2026-01", "2025-12"]
