"""Constants and types shared by the demo tests (the fixtures themselves live in ``conftest.py``).

The window is Saturday 19 and Sunday 20 September 2026; the Sunday is a make-up working day (调休上班) before the
Mid-Autumn / National Day break, so one window holds a weekend day and a working day that falls on a weekend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from lingang_twin.core.twin import Twin
from lingang_twin.demo import DemoReport

CST = timezone(timedelta(hours=8))
WINDOW_END = datetime(2026, 9, 21, tzinfo=CST)
WINDOW_START = WINDOW_END - timedelta(days=2)
SATURDAY = datetime(2026, 9, 19, tzinfo=CST)
MAKE_UP_SUNDAY = datetime(2026, 9, 20, tzinfo=CST)


@dataclass
class DemoTwin:
    """The session's demo twin, its DuckDB path and what building it reported."""

    twin: Twin
    path: Path
    report: DemoReport
