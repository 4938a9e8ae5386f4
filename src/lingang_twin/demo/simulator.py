"""The demo's telemetry simulator: history in bulk (``backfill``) and a live feed (``LiveSimulator``).

Every reading is a pure function of (seed, entity, instant) — see :mod:`lingang_twin.demo.noise` — computed one
local day at a time, always for every entity of the layout, so the same instant gets the same value whichever
mode, chunking or process produced it. That is what lets the live feed pick up where a backfill stopped, overlap
it, or be restarted, without a single conflicting reading: re-appending an instant is an idempotent no-op.

What is simulated (units in brackets; quarter-hour series are stamped at the end of each interval):

* every live ``Meter``'s ``reading`` — interval consumption or the cumulative register (with rollover at
  ``registerMax``), by building use, day kind (working day, weekend, public holiday, make-up working day, school
  break, forum day), weather and end use (:mod:`.energy_model`), with injected faults (:mod:`.faults`);
* the weather station's ``temperature`` [°C] and ``relativeHumidity`` [%] (:mod:`.climate`);
* car parks' ``occupancy`` [%] and ``availableSpotNumber``, spots' ``occupied`` 0/1, chargers' ``power`` [kW],
  ``energy`` [kWh] and ``availableCapacity``, the hydrogen station's ``dispensed`` and ``storageLevel`` [kg], the
  shuttles' ``speed`` [km/h], ``lon``/``lat`` [degree], ``passengers`` and ``batteryLevel`` [%] every minute in
  service (:mod:`.stations`).

Readings start on the day each entity entered operation; buildings not in operation have no meters.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lingang_twin.core.errors import NotFoundError, ValidationError
from lingang_twin.core.observations import IngestResult, ObservationBatch
from lingang_twin.demo.calendar import day_of, epoch_day
from lingang_twin.demo.climate import humidity_at, temperature_at
from lingang_twin.demo.energy_model import EnergyModel, MeterDay
from lingang_twin.demo.faults import SHANGHAI, Fault, FaultPlan
from lingang_twin.demo.layout import DEFAULT_SEED, DEMO_DISTRICT_ID, LayoutPlan, plan_layout
from lingang_twin.demo.stations import Stations, slot_times

if TYPE_CHECKING:
    from lingang_twin.core.twin import Twin

log = logging.getLogger(__name__)

ATTRIBUTES: tuple[str, ...] = (
    "reading", "temperature", "relativeHumidity", "occupied", "occupancy", "availableSpotNumber", "power", "energy",
    "availableCapacity", "dispensed", "storageLevel", "speed", "lon", "lat", "passengers", "batteryLevel")
_ATTR = {a: i for i, a in enumerate(ATTRIBUTES)}
ROWS_PER_APPEND = 1_000_000  # about a week of readings per append: large enough to amortise each append's overhead


@dataclass
class DayReadings:
    """All readings of one local day: columns ``entity`` (row of :attr:`DemoSimulator.entity_ids`), ``attribute``
    (index into :data:`ATTRIBUTES`), ``ts_us`` (UTC epoch µs) and ``value``; and the register rollovers that day."""

    day: date
    entity: np.ndarray
    attribute: np.ndarray
    ts_us: np.ndarray
    value: np.ndarray
    rollovers: list[tuple[int, int]]  # (entity row, UTC epoch µs of the first reading after the rollover)

    def __len__(self) -> int:
        return len(self.value)


class DemoSimulator:
    """The simulated district of one seed: its layout and everything measured in it, one day at a time."""

    def __init__(self, seed: int = DEFAULT_SEED, plan: LayoutPlan | None = None) -> None:
        self.seed = seed
        self.plan = plan or plan_layout(seed)
        self.energy = EnergyModel(seed, self.plan)
        self.stations = Stations(seed, self.plan, self.energy)
        self.faults = FaultPlan(seed, self.energy)
        p = self.plan
        groups: list[tuple[str, list[str], list[date]]] = [
            ("meters", [m.id for m in self.energy.meters], [m.operation_since for m in self.energy.meters]),
            ("h2-meter", [p.hydrogen_meter_id], [p.hydrogen_since]),
            ("weather", [p.weather_station_id], [date(2021, 1, 1)]),
            ("parks", [x.id for x in p.parking], [x.operation_since for x in p.parking]),
            ("spots", [s for x in p.parking for s in x.spot_ids],
             [x.operation_since for x in p.parking for _ in x.spot_ids]),
            ("chargers", [c.id for c in p.chargers], [c.operation_since for c in p.chargers]),
            ("h2", [p.hydrogen_station_id], [p.hydrogen_since]),
            ("vehicles", list(p.route.vehicle_ids), [date(2022, 8, 1)] * len(p.route.vehicle_ids)),
        ]
        self.entity_ids: list[str] = []
        self._offset: dict[str, int] = {}
        since: list[int] = []
        for name, ids, days in groups:
            self._offset[name] = len(self.entity_ids)
            self.entity_ids.extend(ids)
            since.extend(epoch_day(d) for d in days)
        self.entity_since = np.array(since, dtype=np.int64)
        self._entity_arrow = pa.array(self.entity_ids, type=pa.string())
        self._attr_arrow = pa.array(ATTRIBUTES, type=pa.string())
        self._lock = threading.Lock()

    def day(self, d: date) -> DayReadings:
        """Every reading of local day ``d`` (stamps after 00:00 up to and including 24:00)."""
        with self._lock:  # the model caches year blocks; one day is computed at a time
            return self._day(d)

    def _day(self, d: date) -> DayReadings:
        ep = epoch_day(d)
        ent: list[np.ndarray] = []
        att: list[np.ndarray] = []
        tss: list[np.ndarray] = []
        val: list[np.ndarray] = []

        def add(first: int, attr: str, ts_s: np.ndarray, values: np.ndarray, mask: np.ndarray | None = None) -> None:
            rows = first + np.arange(values.shape[0])
            live = self.entity_since[rows] <= ep
            keep = np.broadcast_to(live[:, None], values.shape)
            if mask is not None:
                keep = keep & mask
            r_idx, c_idx = np.nonzero(keep)
            ts = np.broadcast_to(ts_s, values.shape) if ts_s.ndim == 1 else ts_s
            ent.append(rows[r_idx].astype(np.int32))
            att.append(np.full(len(r_idx), _ATTR[attr], dtype=np.int8))
            tss.append(ts[r_idx, c_idx].astype(np.int64) * 1_000_000)
            val.append(values[r_idx, c_idx].astype(np.float64))

        slots = slot_times(d)
        meters = self.energy.day(d)
        values, mask = meters.values, meters.live.copy()
        self.faults.apply(d, values, mask)
        add(self._offset["meters"], "reading", slots, values, mask)
        rollovers = self._rollovers(meters, slots)
        add(self._offset["weather"], "temperature", slots, np.round(temperature_at(self.seed, slots), 1)[None, :])
        add(self._offset["weather"], "relativeHumidity", slots, np.round(humidity_at(self.seed, slots), 0)[None, :])
        occupied, occupancy, free = self.stations.parking(d)
        add(self._offset["spots"], "occupied", slots, occupied)
        add(self._offset["parks"], "occupancy", slots, occupancy)
        add(self._offset["parks"], "availableSpotNumber", slots, free)
        power, energy, sockets = self.stations.charging(d)
        add(self._offset["chargers"], "power", slots, power)
        add(self._offset["chargers"], "energy", slots, energy)
        add(self._offset["chargers"], "availableCapacity", slots, sockets)
        dispensed, storage = self.stations.hydrogen(d)
        add(self._offset["h2"], "dispensed", slots, dispensed[None, :])
        add(self._offset["h2"], "storageLevel", slots, storage[None, :])
        add(self._offset["h2-meter"], "reading", slots, dispensed[None, :])
        shuttle = self.stations.shuttle(d)
        for attr in ("speed", "lon", "lat", "passengers", "batteryLevel"):
            add(self._offset["vehicles"], attr, shuttle["t"], shuttle[attr], shuttle["emit"])
        return DayReadings(d, np.concatenate(ent), np.concatenate(att), np.concatenate(tss), np.concatenate(val),
                           rollovers)

    def batch(self, entity: np.ndarray, attribute: np.ndarray, ts_us: np.ndarray,
              value: np.ndarray) -> ObservationBatch:
        """An :class:`ObservationBatch` from simulator columns (the fast columnar path; no Python objects)."""
        return ObservationBatch.from_arrays(
            pc.take(self._entity_arrow, pa.array(entity, type=pa.int32())),
            pc.take(self._attr_arrow, pa.array(attribute.astype(np.int32))),
            pa.array(ts_us, type=pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            value)

    def faults_between(self, start: datetime, end: datetime) -> list[Fault]:
        """The faults injected into readings with ``start < observed_at <= end``."""
        return self.faults.between(start, end)

    def rollovers_between(self, start: datetime, end: datetime) -> list[tuple[str, datetime]]:
        """Cumulative-register rollovers with ``start < first reading after the rollover <= end``."""
        lo, hi = _micros(start), _micros(end)
        out: list[tuple[str, datetime]] = []
        first = epoch_day(start.astimezone(SHANGHAI).date())
        for ep in range(first, epoch_day(end.astimezone(SHANGHAI).date()) + 1):
            with self._lock:
                meters = self.energy.day(day_of(ep))
            for row, us in self._rollovers(meters, slot_times(day_of(ep))):
                if lo < us <= hi:
                    out.append((self.entity_ids[row], datetime.fromtimestamp(us / 1e6, SHANGHAI)))
        return out

    def _rollovers(self, meters: MeterDay, slots: np.ndarray) -> list[tuple[int, int]]:
        cum = self.energy.cum_rows
        if not len(cum):
            return []
        wraps = np.floor(meters.unwrapped / self.energy.cum_max[:, None])
        prev = np.concatenate([meters.wraps_before[:, None], wraps[:, :-1]], axis=1)
        return [(self._offset["meters"] + int(cum[i]), int(slots[k]) * 1_000_000)
                for i, k in zip(*np.nonzero((wraps > prev) & meters.live[cum]), strict=True)]


@lru_cache(maxsize=4)
def simulator_for(seed: int) -> DemoSimulator:
    """The (shared, cached) simulator of ``seed``."""
    return DemoSimulator(seed)


@dataclass
class BackfillReport:
    """What a backfill did: the window ``(start, end]``, readings ``received`` / ``inserted`` / ``duplicates``,
    wall time [s], appends made, the ``faults`` injected in the window (ground truth for anomaly detection) and the
    cumulative-register ``rollovers`` (meter id, first reading after the rollover)."""

    start: datetime
    end: datetime
    days: float
    received: int = 0
    inserted: int = 0
    duplicates: int = 0
    seconds: float = 0.0
    appends: int = 0
    faults: list[Fault] = field(default_factory=list)
    rollovers: list[tuple[str, datetime]] = field(default_factory=list)

    @property
    def readings_per_second(self) -> float:
        """Throughput of the whole backfill [readings/s], simulation included."""
        return self.received / self.seconds if self.seconds > 0 else 0.0


def _now_minute() -> datetime:
    return datetime.now(SHANGHAI).replace(second=0, microsecond=0)


def _micros(t: datetime) -> int:
    d = t.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


def seed_of(twin: Twin) -> int:
    """The seed of the demo layout stored in ``twin`` (the district's ``demoSeed``); NotFoundError without one."""
    district = twin.get(DEMO_DISTRICT_ID)
    return int(district.value("demoSeed", DEFAULT_SEED))


def _allowed(twin: Twin, sim: DemoSimulator) -> np.ndarray:
    """Which of the simulator's entities exist in the twin (readings of deleted entities are skipped)."""
    present = twin.existing(sim.entity_ids)
    return np.array([e in present for e in sim.entity_ids], dtype=bool)


def _emit(twin: Twin, sim: DemoSimulator, start: datetime, end: datetime, allowed: np.ndarray,
          rows_per_append: int, progress: Callable[[int, int], None] | None,
          report: BackfillReport) -> None:
    """Append every reading with ``start < observed_at <= end``, a local day at a time, in batches."""
    lo, hi = _micros(start), _micros(end)
    first = start.astimezone(SHANGHAI).date()
    last = end.astimezone(SHANGHAI).date()
    days = [day_of(ep) for ep in range(epoch_day(first), epoch_day(last) + 1)]
    pending: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    pending_rows = 0

    def flush() -> None:
        nonlocal pending, pending_rows
        if not pending_rows:
            return
        cols = [np.concatenate([p[i] for p in pending]) for i in range(4)]
        result = twin.append(sim.batch(*cols))
        report.received += result.received
        report.inserted += result.inserted
        report.duplicates += result.duplicates
        report.appends += 1
        pending, pending_rows = [], 0

    for i, d in enumerate(days):
        r = sim.day(d)
        keep = (r.ts_us > lo) & (r.ts_us <= hi) & allowed[r.entity]
        if keep.any():
            pending.append((r.entity[keep], r.attribute[keep], r.ts_us[keep], r.value[keep]))
            pending_rows += int(keep.sum())
        report.rollovers.extend(
            (sim.entity_ids[row], datetime.fromtimestamp(us / 1e6, SHANGHAI)) for row, us in r.rollovers
            if lo < us <= hi and allowed[row])
        if pending_rows >= rows_per_append:
            flush()
        if progress is not None:
            progress(i + 1, len(days))
    flush()


def backfill(twin: Twin, days: float, end: datetime | None = None,
             progress: Callable[[int, int], None] | None = None, *, seed: int | None = None,
             rows_per_append: int = ROWS_PER_APPEND) -> BackfillReport:
    """Append ``days`` of simulated history up to ``end`` (default: now, to the minute) to the demo twin.

    Covers readings with ``end − days < observed_at <= end``. Idempotent: a second backfill over the same window
    inserts nothing and reports every reading as a duplicate. ``progress(done, total)`` is called after each local
    day. The twin must hold the demo layout (see :func:`lingang_twin.demo.build_demo`); ``seed`` defaults to the
    district's ``demoSeed``. Returns a :class:`BackfillReport` with the injected faults of the window.
    """
    if days < 0:
        raise ValidationError("days", "range", "days must be ≥ 0 / 天数不能为负", value=days)
    if end is not None and (end.tzinfo is None or end.utcoffset() is None):
        raise ValidationError("end", "timezone-required", "end must carry a time zone / 结束时间必须带时区")
    t0 = time.perf_counter()
    sim = simulator_for(seed if seed is not None else seed_of(twin))
    end = (end or _now_minute()).astimezone(SHANGHAI)
    start = end - timedelta(days=days)
    report = BackfillReport(start=start, end=end, days=days)
    if days == 0:
        return report
    allowed = _allowed(twin, sim)
    if not allowed.any():
        raise NotFoundError("demo layout", DEMO_DISTRICT_ID)
    _emit(twin, sim, start, end, allowed, rows_per_append, progress, report)
    present = set(np.array(sim.entity_ids, dtype=object)[allowed])
    report.faults = [f for f in sim.faults_between(start, end) if f.entity_id in present]
    report.seconds = time.perf_counter() - t0
    return report


class LiveSimulator:
    """Appends the newest simulated readings to the twin every ``interval_s`` seconds, in a background thread.

    The simulated clock runs ``speed`` times faster than the wall clock, from ``max(now, cursor)`` when started
    (so at ``speed > 1`` readings run ahead of real time). Each tick appends every reading with
    ``cursor < observed_at <= simulated now`` and moves the cursor; a tick after a long pause catches up day by
    day. The cursor starts at ``since``, else at the newest weather reading in the twin (where a backfill stopped),
    else at now. Values are those a backfill would produce, so overlaps are harmless duplicates.

    Errors in the thread are logged, counted in ``errors`` and kept in ``last_error``; the feed goes on.
    """

    def __init__(self, twin: Twin, speed: float = 1.0, interval_s: float = 5.0, *, seed: int | None = None,
                 since: datetime | None = None) -> None:
        if speed <= 0:
            raise ValidationError("speed", "range", "speed must be > 0 / 速度须大于 0", value=speed)
        if interval_s <= 0:
            raise ValidationError("interval_s", "range", "interval_s must be > 0 / 间隔须大于 0", value=interval_s)
        self.twin = twin
        self.speed = speed
        self.interval_s = interval_s
        self.sim = simulator_for(seed if seed is not None else seed_of(twin))
        self.cursor: datetime = (since or self._last_reading() or _now_minute()).astimezone(SHANGHAI)
        self.ticks = 0
        self.errors = 0
        self.last_error: BaseException | None = None
        self.last_result: IngestResult | None = None
        self._allowed = _allowed(twin, self.sim)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._anchor: tuple[datetime, float] | None = None

    def _last_reading(self) -> datetime | None:
        # The weather station reports every quarter-hour in every mode, so its newest reading marks where the
        # backfill (or an earlier live run, possibly ahead of real time) stopped.
        try:
            t = self.twin.read(self.sim.plan.weather_station_id, "temperature")
        except NotFoundError:
            return None
        if t.num_rows == 0:
            return None
        return pc.max(t["observed_at"]).as_py()

    def sim_now(self) -> datetime:
        """The simulated clock (Asia/Shanghai)."""
        if self._anchor is None:
            return datetime.now(SHANGHAI)
        at, mono = self._anchor
        return at + timedelta(seconds=(time.monotonic() - mono) * self.speed)

    def step(self, now: datetime) -> IngestResult:
        """Append every reading with ``cursor < observed_at <= now`` and move the cursor to ``now``."""
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValidationError("now", "timezone-required", "now must carry a time zone / 时间必须带时区")
        now = now.astimezone(SHANGHAI)
        if now <= self.cursor:
            return IngestResult(received=0, inserted=0, duplicates=0)
        report = BackfillReport(start=self.cursor, end=now, days=(now - self.cursor).total_seconds() / 86_400)
        _emit(self.twin, self.sim, self.cursor, now, self._allowed, ROWS_PER_APPEND, None, report)
        self.cursor = now
        self.ticks += 1
        self.last_result = IngestResult(received=report.received, inserted=report.inserted,
                                        duplicates=report.duplicates)
        return self.last_result

    @property
    def running(self) -> bool:
        """True while the background thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the background feed (no-op if it runs already)."""
        if self.running:
            return
        self._stop.clear()
        self._anchor = (max(datetime.now(SHANGHAI), self.cursor), time.monotonic())
        self._thread = threading.Thread(target=self._run, name="lingang-live-simulator", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the feed and wait for the thread (at most ``timeout`` seconds)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        while True:
            try:
                self.step(self.sim_now())
            except Exception as err:  # keep the feed alive; the failure stays visible
                self.errors += 1
                self.last_error = err
                log.exception("live simulator tick failed / 实时模拟写入失败")
            if self._stop.wait(self.interval_s):
                return
