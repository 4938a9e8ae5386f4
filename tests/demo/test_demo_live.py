"""The live feed: it continues a backfill seamlessly, agrees with it reading for reading, and runs in a thread."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from demo_fixtures import WINDOW_END, DemoTwin

from lingang_twin.core.errors import ValidationError
from lingang_twin.demo import LiveSimulator
from lingang_twin.demo.faults import SHANGHAI
from lingang_twin.demo.simulator import backfill

DC = "urn:ngsi-ld:Meter:stc-ai-computing-centre-elec-main"
SHUTTLE = "urn:ngsi-ld:Vehicle:minibus-01"


def test_step_continues_the_backfill_without_conflicts(demo: DemoTwin) -> None:
    # A window of its own, after the shared one, so that the other tests' windows stay untouched.
    start = WINDOW_END + timedelta(days=3)
    backfill(demo.twin, 0.5, end=start)
    live = LiveSimulator(demo.twin)
    assert live.cursor == start  # picked up where the weather series (and so the backfill) stopped
    first = live.step(start + timedelta(minutes=40))
    assert first.inserted > 0 and live.cursor == start + timedelta(minutes=40)
    again = live.step(start + timedelta(minutes=40))
    assert again.received == 0
    second = live.step(start + timedelta(hours=2))
    assert second.inserted > first.inserted
    meter = demo.twin.read(DC, "reading", start=start - timedelta(hours=1), end=start + timedelta(hours=2, seconds=1))
    stamps = meter["observed_at"].to_pylist()
    assert len(stamps) == len(set(stamps)) == 13  # every quarter-hour from −1 h to +2 h once, across the seam
    # A backfill over the live period finds every reading identical: the same pure function of (entity, instant).
    check = backfill(demo.twin, 2 / 24, end=start + timedelta(hours=2))
    assert check.inserted == 0 and check.duplicates == check.received > 0


def test_step_refuses_naive_times_and_bad_settings(demo: DemoTwin) -> None:
    live = LiveSimulator(demo.twin, since=WINDOW_END + timedelta(days=10))
    with pytest.raises(ValidationError):
        live.step(datetime(2026, 10, 1, 12, 0))
    with pytest.raises(ValidationError):
        LiveSimulator(demo.twin, speed=0)


def test_background_thread_appends_accelerated_readings(demo: DemoTwin) -> None:
    # Start ahead of the wall clock, so the simulated clock starts at the cursor (no catch-up to do), and at 10:00
    # tomorrow, when the shuttles are in service and report every minute (parked, they report every 15 min, and a
    # few ticks might not cross a quarter-hour: the test would then depend on the time of day it runs).
    since = (datetime.now(SHANGHAI) + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    # Up to two days ahead of the wall clock: past the default one-day horizon for readings, so widen it here.
    demo.twin.future_horizon = timedelta(days=7)
    live = LiveSimulator(demo.twin, speed=3600.0, interval_s=0.05, since=since)
    live.start()
    deadline = time.monotonic() + 10
    # Run until the simulated clock has passed a quarter-hour (parked shuttles report every 15 min; on a weekend
    # none is in service), so that the test does not depend on the day or hour it runs.
    while (live.ticks < 3 or live.cursor < since + timedelta(minutes=16)) and time.monotonic() < deadline:
        time.sleep(0.05)
    live.stop()
    assert not live.running
    assert live.errors == 0, live.last_error
    assert live.ticks >= 3
    assert live.cursor > since
    minutes = demo.twin.read(SHUTTLE, "batteryLevel", start=since, end=live.cursor + timedelta(seconds=1))
    assert minutes.num_rows > 0
