"""The Lingang IICZ demo twin (演示孪生): an illustrative district with live-looking telemetry.

One call builds it into any twin::

    from lingang_twin.core.twin import Twin
    from lingang_twin.demo import build_demo, LiveSimulator
    from lingang_twin.stores import open_store

    twin = Twin(open_store("lingang-demo.duckdb"))
    report = build_demo(twin, days=DEFAULT_BACKFILL_DAYS)   # layout + history up to now; safe to call again
    live = LiveSimulator(twin, speed=60)                     # one simulated minute per real second
    live.start(); ...; live.stop()

Modules: :mod:`.layout` (the plan: district, zones, parcels, roads, buildings, sites; each pack of
:data:`DEMO_PACKS` adds its entities over it — meters, chargers, the hydrogen station and tenants from
``lingang_twin.energy.demo``, car parks and the shuttle from ``lingang_twin.mobility.demo``),
:mod:`.simulator` (``backfill``, ``LiveSimulator``), :mod:`.energy_model` (meters), :mod:`.stations` (parking,
charging, hydrogen, shuttle), :mod:`.faults` (injected faults), :mod:`.climate`, :mod:`.calendar`,
``lingang_twin.energy.demo.profiles`` (the table of assumptions), :mod:`.noise` (counter-based random numbers).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pyarrow.compute as pc

from lingang_twin.core.errors import NotFoundError, ValidationError
from lingang_twin.core.packs import install
from lingang_twin.demo.faults import SHANGHAI, Fault
from lingang_twin.demo.layout import DEFAULT_SEED, DEMO_DISTRICT_ID, DEMO_PACKS, build_layout, plan_layout
from lingang_twin.demo.simulator import (
    BackfillReport,
    DemoSimulator,
    LiveSimulator,
    backfill,
    seed_of,
    simulator_for,
)
from lingang_twin.energy.demo import DEMO_ENERGY_CONFIG
from lingang_twin.energy.settings import STORED_PROPERTY

if TYPE_CHECKING:
    from lingang_twin.core.twin import Twin

# Measured on the 2-core build machine (DuckDB file): 90 days ≈ 13 M readings ≈ 5 s + 0.7 s layout, ≈ 130 MB; a
# year ≈ 52 M readings ≈ 20 s, 540 MB, and district-wide month deltas then take ≈ 7 s. Three months show weekly,
# holiday and seasonal patterns and keep the first start and every dashboard query quick; ask for more explicitly.
DEFAULT_BACKFILL_DAYS = 90


@dataclass
class DemoReport:
    """What :func:`build_demo` did: the district, the seed, entities in the layout and how many were written now
    (0 when the layout was there already), the backfill's report, and wall times [s]."""

    district_id: str
    seed: int
    entities: int
    entities_written: int
    backfill: BackfillReport
    layout_seconds: float
    seconds: float

    @property
    def faults(self) -> list[Fault]:
        """The faults injected into the window asked for (ground truth for anomaly detection)."""
        return self.backfill.faults


def _covered(twin: Twin, sim: DemoSimulator) -> tuple[datetime, datetime] | None:
    """First and last weather reading in the twin: the span earlier demo backfills wrote (they write every series
    a day at a time, in time order, so the weather station's series marks how far they got)."""
    try:
        t = twin.read(sim.plan.weather_station_id, "temperature")
    except NotFoundError:
        return None
    if t.num_rows == 0:
        return None
    first, last = pc.min_max(t["observed_at"]).values()
    return first.as_py(), last.as_py()


def build_demo(twin: Twin, *, days: float, seed: int = DEFAULT_SEED,
               progress: Callable[[int, int], None] | None = None, end: datetime | None = None) -> DemoReport:
    """Make ``twin`` the Lingang IICZ demo: install :data:`DEMO_PACKS`, write the layout of ``seed`` unless it is
    complete there, and backfill history so that readings cover ``days`` up to ``end`` (default: now).

    Idempotent and incremental: history already written by an earlier call is not sent again; only the part before
    the first and after the last stored weather reading is simulated (so a call on a later day just catches up).
    A gap punched into the middle later is not refilled — :func:`backfill` re-sends a whole window for that.
    Each pack adds its part: its entities over the demo's plan (``Pack.demo_layout``, in the layout) and what it
    writes once the layout is there (``Pack.demo``: the energy pack stores the demo's illustrative settings,
    :data:`DEMO_ENERGY_CONFIG`, unless the twin holds some).
    ``progress(done, total)`` reports backfilled days. The report's ``faults`` and ``rollovers`` cover the whole
    window asked for. Raises ValidationError (rule ``demo-seed``) if the twin holds the demo layout of another seed.
    """
    t0 = time.perf_counter()
    installed = install(twin, DEMO_PACKS)
    entities = build_layout(seed)
    ids = [e["id"] for e in entities]
    written = 0
    if twin.existing([DEMO_DISTRICT_ID]):
        stored = seed_of(twin)
        if stored != seed:
            raise ValidationError("seed", "demo-seed", f"this twin holds the demo layout of seed {stored}, not {seed}"
                                  f" / 该孪生已包含种子 {stored} 的演示布局", value=seed)
    present = twin.existing(ids)
    if len(present) < len(ids):
        kept = twin.get(DEMO_DISTRICT_ID).value(STORED_PROPERTY) if DEMO_DISTRICT_ID in present else None
        twin.upsert(entities)
        written = len(entities)
        if kept is not None:  # rewriting the layout must not drop settings the user stored on the district
            twin.patch(DEMO_DISTRICT_ID, properties={STORED_PROPERTY: kept})
    for pack in installed.packs:  # what each pack writes once the layout is there (energy: its demo settings)
        if pack.demo is not None:
            pack.demo(twin, seed)
    layout_seconds = time.perf_counter() - t0
    if days < 0:
        raise ValidationError("days", "range", "days must be ≥ 0 / 天数不能为负", value=days)
    sim = simulator_for(seed)
    end = (end or datetime.now(SHANGHAI).replace(second=0, microsecond=0)).astimezone(SHANGHAI)
    start = end - timedelta(days=days)
    windows = [(start, end)]
    covered = _covered(twin, sim) if days > 0 else None
    if covered is not None:
        first, last = covered
        windows = [(a, b) for a, b in ((start, min(first, end)), (max(start, last), end)) if b > a]
    merged = BackfillReport(start=start, end=end, days=days)
    total_days = sum((b - a).total_seconds() for a, b in windows) / 86_400
    done_before = 0.0
    for a, b in windows:
        span = (b - a).total_seconds() / 86_400

        def scaled(done: int, total: int, _before: float = done_before, _span: float = span) -> None:
            if progress is not None:  # one progress scale over all windows, in whole days
                whole = max(math.ceil(total_days), 1)
                progress(min(whole, math.ceil(_before + _span * done / max(total, 1))), whole)

        part = backfill(twin, span, end=b, progress=scaled, seed=seed)
        for name in ("received", "inserted", "duplicates", "appends"):
            setattr(merged, name, getattr(merged, name) + getattr(part, name))
        done_before += span
    present = twin.existing(sim.entity_ids)
    merged.faults = [f for f in sim.faults_between(start, end) if f.entity_id in present]
    merged.rollovers = [r for r in sim.rollovers_between(start, end) if r[0] in present]
    merged.seconds = time.perf_counter() - t0 - layout_seconds
    return DemoReport(DEMO_DISTRICT_ID, seed, len(entities), written, merged, layout_seconds,
                      time.perf_counter() - t0)


__all__ = [
    "DEFAULT_BACKFILL_DAYS",
    "DEFAULT_SEED",
    "DEMO_DISTRICT_ID",
    "DEMO_ENERGY_CONFIG",
    "DEMO_PACKS",
    "BackfillReport",
    "DemoReport",
    "DemoSimulator",
    "Fault",
    "LiveSimulator",
    "backfill",
    "build_demo",
    "build_layout",
    "plan_layout",
]
