"""Coverage (数据完整度): how many readings a period should hold and how many it holds, per meter and carrier.

A figure summed over a month says nothing about the days nobody measured: 1,000 kWh may be a whole month or two
days of it. Every account and report therefore states its coverage, and flags a period that is empty or partial.

Per meter,

* its **reading interval** [min]: the meter's ``readingInterval`` property where it has one, else inferred from
  its readings — the most readings it took in one Shanghai day (in the period and the ``LOOKBACK_DAYS`` before
  it) gives ``1 day / count``, snapped to the nearest usual cadence (:data:`CADENCES_S`); a meter that reads at
  most once a day takes the median spacing of its reading days. A meter with a single reading has no inferable
  interval (``None``): nothing is expected of it and it is not flagged;
* the **expected window**: the period ``(start, end]`` (a reading closes the interval it is stamped at) clipped to
  ``now`` and to the days the meter was in operation — its lifecycle phase ``operation``. Days before its first
  recorded lifecycle change count as operation from its first reading on: a meter registered after its history
  was imported (the store records "operation since today" when nobody says otherwise) was evidently running;
* **expected** = ``⌊window length / interval⌋`` readings, the window ending one interval before ``now`` at the
  latest (the reading closing the interval that just ended may still be in transit); **present** = the readings
  stamped in the period.

A carrier is ``empty`` when its meters hold no reading in the period, ``partial`` when any meter misses
readings it was expected to take, ``complete`` otherwise; a period not yet over is ``running`` (its figures run
up to ``now``). The counts come from one grouped ``count`` aggregate in the store (daily buckets per meter), never
a Python loop over readings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lingang_twin.core.calendar import DAY_US, OFFSET_US, SHANGHAI
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.model import Entity
from lingang_twin.core.twin import Twin
from lingang_twin.energy.carriers import CARRIER_LABELS

# Asia/Shanghai keeps UTC+8 all year: days are integer arithmetic (core.calendar)
_OFFSET_US = OFFSET_US
LOOKBACK_DAYS = 35
"""Days before the period whose readings also inform a meter's interval and show that it was already running
(a whole previous month, so an empty month still knows its meters' cadence)."""
CADENCES_S: tuple[int, ...] = (60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 14400, 21600, 28800, 43200,
                               86400)
"""The usual reading intervals of meters and data loggers [s]; an inferred interval snaps to the nearest one (on a
log scale), so a day with one extra reading (97 at 15 min) still gives 15 min."""

Status = Literal["complete", "partial", "empty", "not-expected", "unknown"]
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "complete": ("完整", "complete"), "partial": ("不完整", "partial"), "empty": ("无读数", "empty"),
    "not-expected": ("未投运", "not in operation"), "unknown": ("间隔未知", "interval unknown"),
}
ISSUE_RULES = ("coverage-empty", "coverage-partial", "coverage-running")


@dataclass(frozen=True)
class MeterCoverage:
    """One meter's coverage: ``interval_min`` [min] (``None``: not known), where it came from (``property`` or
    ``inferred``), ``expected`` and ``present`` readings, and the instants its expected window spans."""

    meter: str
    carrier: str
    interval_min: float | None
    interval_source: str | None
    expected: int | None
    present: int
    expected_from: datetime | None
    expected_to: datetime | None

    @property
    def missing(self) -> int:
        """Expected readings that are not there (0 when the interval is unknown)."""
        return 0 if self.expected is None else max(self.expected - self.present, 0)

    @property
    def status(self) -> Status:
        """``complete``, ``partial``, ``empty``, ``not-expected`` (no expected window) or ``unknown``."""
        if self.expected_from is None:
            return "not-expected"
        if self.present == 0:
            return "empty"
        if self.expected is None:
            return "unknown"
        return "partial" if self.present < self.expected else "complete"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able."""
        return {"meter": self.meter, "carrier": self.carrier, "interval_min": self.interval_min,
                "interval_source": self.interval_source, "expected": self.expected, "present": self.present,
                "missing": self.missing, "status": self.status,
                "expected_from": None if self.expected_from is None else self.expected_from.isoformat(),
                "expected_to": None if self.expected_to is None else self.expected_to.isoformat()}


@dataclass(frozen=True)
class CarrierCoverage:
    """A carrier's coverage: its meters' expected and present readings summed (``expected`` over the meters whose
    interval is known), and its status."""

    carrier: str
    meters: list[MeterCoverage]

    @property
    def expected(self) -> int:
        return sum(m.expected or 0 for m in self.meters)

    @property
    def present(self) -> int:
        return sum(m.present for m in self.meters)

    @property
    def missing(self) -> int:
        return sum(m.missing for m in self.meters)

    @property
    def ratio(self) -> float | None:
        """Share of the expected readings that are there, in [0, 1]; ``None`` when none were expected."""
        expected = self.expected
        return None if expected == 0 else (expected - self.missing) / expected

    @property
    def status(self) -> Status:
        statuses = {m.status for m in self.meters}
        if self.present == 0:
            return "empty" if statuses - {"not-expected"} else "not-expected"
        if statuses & {"partial", "empty"}:
            return "partial"
        return "complete" if "complete" in statuses else "unknown"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able."""
        return {"carrier": self.carrier, "status": self.status, "meters": len(self.meters),
                "expected": self.expected, "present": self.present, "missing": self.missing, "ratio": self.ratio,
                "meters_short": [m.meter for m in self.meters if m.status in ("partial", "empty")]}


@dataclass(frozen=True)
class Coverage:
    """The coverage of an account's meters over ``[start, end)`` as known at ``now``; ``until`` is where the
    period's figures stop (``end``, or ``now`` for a period still running)."""

    start: datetime
    end: datetime
    now: datetime
    carriers: dict[str, CarrierCoverage] = field(default_factory=dict)

    @property
    def until(self) -> datetime:
        return min(self.end, max(self.now, self.start)).astimezone(SHANGHAI)

    @property
    def running(self) -> bool:
        """The period is not over at ``now``."""
        return self.now < self.end

    @property
    def meters(self) -> list[MeterCoverage]:
        return [m for c in self.carriers.values() for m in c.meters]

    @property
    def expected(self) -> int:
        return sum(c.expected for c in self.carriers.values())

    @property
    def present(self) -> int:
        return sum(c.present for c in self.carriers.values())

    @property
    def missing(self) -> int:
        return sum(c.missing for c in self.carriers.values())

    @property
    def status(self) -> Status:
        """``empty`` when no meter holds a reading (or there is no meter), ``partial`` when any carrier is short,
        ``complete`` when every expected reading is there."""
        if not self.carriers or self.present == 0:
            return "empty"
        statuses = {c.status for c in self.carriers.values()}
        if statuses & {"partial", "empty"}:
            return "partial"
        return "complete" if "complete" in statuses else "unknown"

    def issues(self) -> list[dict[str, Any]]:
        """The findings a reader must see, bilingual: ``coverage-empty`` / ``coverage-partial`` per carrier (one
        ``coverage-empty`` without a carrier when the scope has no meter) and ``coverage-running`` for a period
        not yet over."""
        out: list[dict[str, Any]] = []
        if not self.carriers:
            out.append(_issue("coverage-empty", None, "no meter in this scope", "该对象下没有表计"))
        for c in self.carriers.values():
            status = c.status
            if status in ("empty", "not-expected"):
                if self.now <= self.start:
                    reason_en, reason_zh = "the period has not begun", "本期尚未开始"
                elif status == "not-expected":
                    reason_en, reason_zh = "none of its meters was in operation", "其表计均未投运"
                else:
                    reason_en, reason_zh = f"{c.expected:,} expected", f"应有 {c.expected:,} 条"
                out.append(_issue("coverage-empty", c,
                                  f"no {_en(c.carrier).lower()} reading in the period ({reason_en})",
                                  f"本期无{_zh(c.carrier)}读数（{reason_zh}）"))
            elif status == "partial":
                short = c.to_dict()["meters_short"]
                gone = percent(c.missing / c.expected, up=True) if c.expected else "?"
                out.append(_issue(
                    "coverage-partial", c,
                    f"{_en(c.carrier)}: {c.missing:,} of {c.expected:,} expected readings missing "
                    f"({gone}) on {len(short)} of {len(c.meters)} meters",
                    f"{_zh(c.carrier)}：应有 {c.expected:,} 条读数，缺 {c.missing:,} 条（{gone}），"
                    f"涉及 {len(short)}/{len(c.meters)} 块表"))
        if self.running and self.now > self.start:
            until = self.until.isoformat(timespec="minutes")
            out.append(_issue("coverage-running", None, f"The period is not over: figures up to {until}",
                              f"本期尚未结束：数据截至 {until}", severity="info"))
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: status, totals, per carrier and per meter."""
        expected = self.expected
        return {"status": self.status, "running": self.running, "until": self.until.isoformat(),
                "expected": expected, "present": self.present, "missing": self.missing,
                "ratio": None if expected == 0 else (expected - self.missing) / expected,
                "lookback_days": LOOKBACK_DAYS,
                "carriers": {k: c.to_dict() for k, c in self.carriers.items()},
                "meters": [m.to_dict() for m in self.meters]}


def _zh(carrier: str) -> str:
    return CARRIER_LABELS.get(carrier, (carrier, carrier))[0]


def _en(carrier: str) -> str:
    return CARRIER_LABELS.get(carrier, (carrier, carrier))[1]


def _issue(rule: str, c: CarrierCoverage | None, en: str, zh: str, severity: str = "warning") -> dict[str, Any]:
    out: dict[str, Any] = {"rule": rule, "severity": severity, "carrier": None if c is None else c.carrier,
                           "message": f"{en} / {zh}", "message_en": en, "message_zh": zh}
    if c is not None:
        out.update({"expected": c.expected, "present": c.present, "missing": c.missing, "ratio": c.ratio,
                    "meters": c.to_dict()["meters_short"]})
    return out


def check_now(now: datetime | None) -> datetime:
    """``now`` checked (timezone-aware), or the clock's now; tests pass their own so that nothing depends on it."""
    if now is None:
        return datetime.now(UTC)
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise ValidationError("now", "timezone-required", "now must be a timezone-aware datetime / 须带时区")
    return now


def coverage(twin: Twin, meters: Sequence[Entity], start: datetime, end: datetime, *, now: datetime | None = None,
             reads: Sequence[Entity] | None = None) -> Coverage:
    """The coverage of ``meters`` over ``[start, end)`` as known at ``now`` (default: the clock).

    ``reads`` are the entities to count under (default: each meter itself); the answer keeps ``meters`` only, so
    an aggregate over a building may return its sub-meters too. One grouped daily ``count`` per entity of
    ``reads`` over the period, one more over the ``LOOKBACK_DAYS`` before it when a meter needs them, and one
    (exact) count when the period does not start and end at a Shanghai midnight.
    """
    now = check_now(now)
    out = Coverage(start.astimezone(SHANGHAI), end.astimezone(SHANGHAI), now.astimezone(SHANGHAI))
    if not meters:
        return out
    ids = [m.id for m in meters]
    index = {mid: k for k, mid in enumerate(ids)}
    s_us, e_us = _us(start), _us(end)
    p0 = (s_us + _OFFSET_US) // DAY_US  # the period's first Shanghai day number
    p_end = -(-(e_us + _OFFSET_US) // DAY_US)  # exclusive
    first_day = p0 - LOOKBACK_DAYS
    counts = np.zeros((len(ids), p_end - first_day), dtype=np.int64)
    _fill(counts, twin, reads or meters, index, first_day, p0, p_end)
    # The days before the period are read only when the period alone cannot tell a meter's interval (fewer than
    # two readings in any day) or whether it was already running (no lifecycle record, no reading on day one).
    month = counts[:, LOOKBACK_DAYS:]
    if any(_needs_history(m, month[k], p0) for k, m in enumerate(meters)):
        _fill(counts, twin, reads or meters, index, first_day, first_day, p0)
    if (s_us + _OFFSET_US) % DAY_US == 0 and (e_us + _OFFSET_US) % DAY_US == 0:
        present = counts[:, LOOKBACK_DAYS:].sum(axis=1)
    else:
        present = np.zeros(len(ids), dtype=np.int64)
        for table in _counts(twin, reads or meters, start, end, "year"):
            rows, keep = _rows(table, index)
            np.add.at(present, rows, table["count"].to_numpy(zero_copy_only=False)[keep])

    upper_us = min(e_us, max(_us(now), s_us))
    memo: dict[Any, list[tuple[int, int]]] = {}
    per_carrier: dict[str, list[MeterCoverage]] = {}
    for k, m in enumerate(meters):
        interval_s, source = _interval(m, counts[k])
        seen = np.flatnonzero(counts[k])
        first_seen = None if seen.size == 0 else first_day + int(seen[0])
        # Meters share lifecycles (a building's meters were commissioned with it): one computation each.
        key = (tuple((c.phase, c.since) for c in m.lifecycle),
               None if first_seen is None else min(max(first_seen, p0), p_end))
        if key not in memo:
            memo[key] = _operation_pieces(m, p0, p_end, first_seen, s_us, upper_us)
        pieces = memo[key]
        expected = None if interval_s is None else _expected(pieces, interval_s, _us(now))
        mc = MeterCoverage(m.id, str(m.value("carrier")), None if interval_s is None else interval_s / 60.0, source,
                           expected if pieces else 0, int(present[k]),
                           _instant(pieces[0][0]) if pieces else None, _instant(pieces[-1][1]) if pieces else None)
        per_carrier.setdefault(mc.carrier, []).append(mc)
    for carrier in sorted(per_carrier):
        out.carriers[carrier] = CarrierCoverage(carrier, per_carrier[carrier])
    return out


def _expected(pieces: list[tuple[int, int]], interval_s: float, now_us: int) -> int:
    """Readings expected in the pieces: one per interval, up to one interval before ``now`` — the reading that
    closes the interval just ended may still be on its way, and is not missing yet."""
    step = int(interval_s * 1_000_000)
    upper = now_us - step
    return sum(int((min(b, upper) - a) // step) for a, b in pieces if min(b, upper) > a)


def _fill(counts: np.ndarray, twin: Twin, reads: Sequence[Entity], index: dict[str, int], first_day: int,
          from_day: int, to_day: int) -> None:
    """Add the readings per meter and Shanghai day in ``[from_day, to_day)`` (day numbers) into ``counts``, whose
    column 0 is ``first_day``."""
    q_start, q_end = _instant(from_day * DAY_US - _OFFSET_US), _instant(to_day * DAY_US - _OFFSET_US)
    for table in _counts(twin, reads, q_start, q_end, "day"):
        rows, keep = _rows(table, index)
        day = (_bucket_us(table)[keep] + _OFFSET_US) // DAY_US - first_day
        inside = (day >= from_day - first_day) & (day < to_day - first_day)
        np.add.at(counts, (rows[inside], day[inside]), table["count"].to_numpy(zero_copy_only=False)[keep][inside])


def _needs_history(meter: Entity, month: np.ndarray, p0: int) -> bool:
    """Whether the days before the period could change this meter's coverage."""
    if meter.value("readingInterval") is None and (month.size == 0 or int(month.max()) < 2):
        return True
    first_change = min((c.since for c in meter.lifecycle), default=None)
    if first_change is not None and first_change <= _date(p0):
        return False  # the lifecycle speaks for every day of the period
    return not (month.size and month[0] > 0)


def _interval(meter: Entity, day_counts: np.ndarray) -> tuple[float | None, str | None]:
    """The meter's reading interval [s] and where it came from."""
    declared = meter.value("readingInterval")  # [min], converted at the door
    if declared is not None:
        return float(declared) * 60.0, "property"
    most = int(day_counts.max()) if day_counts.size else 0
    if most >= 2:
        guess = DAY_US / 1_000_000 / most
        return float(min(CADENCES_S, key=lambda c: abs(math.log(c / guess)))), "inferred"
    days = np.flatnonzero(day_counts)
    if days.size >= 2:  # at most one reading a day: the spacing of the days that have one
        return float(np.median(np.diff(days))) * 86_400.0, "inferred"
    return None, None


def _operation_pieces(meter: Entity, day0: int, day_end: int, first_seen: int | None, s_us: int,
                      upper_us: int) -> list[tuple[int, int]]:
    """The meter's expected window as ``(a, b]`` pieces [epoch µs]: the period's days on which it was in
    operation, clipped to ``(start, upper]``."""
    pieces: list[tuple[int, int]] = []
    for d in range(day0, day_end):
        phase = meter.phase_on(_date(d))
        running = phase == "operation" or (phase is None and first_seen is not None and first_seen <= d)
        if not running:
            continue
        a = max(d * DAY_US - _OFFSET_US, s_us)
        b = min((d + 1) * DAY_US - _OFFSET_US, upper_us)
        if b <= a:
            continue
        if pieces and pieces[-1][1] == a:
            pieces[-1] = (pieces[-1][0], b)
        else:
            pieces.append((a, b))
    return pieces


def _counts(twin: Twin, reads: Sequence[Entity], start: datetime, end: datetime, bucket: str) -> list[pa.Table]:
    out = []
    for r in reads:
        if r.type == "Meter":
            table = twin.aggregate("reading", bucket=bucket, agg="count", entity_id=r.id, start=start, end=end,
                                   group_by="entity", ordered=False)
            if "group" not in table.column_names:
                table = table.append_column("group", pa.array([r.id] * table.num_rows, pa.string()))
            out.append(table)
        else:
            out.append(twin.aggregate("reading", bucket=bucket, agg="count", under=r.id, types=("Meter",),
                                      start=start, end=end, group_by="entity", ordered=False))
    return out


def _rows(table: pa.Table, index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers of the wanted meters in ``table`` and the mask of its rows that belong to them."""
    if table.num_rows == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    wanted = list(index)
    pos = pc.fill_null(pc.index_in(table["group"], value_set=pa.array(wanted)), -1).to_numpy(zero_copy_only=False)
    keep = pos >= 0
    return np.array([index[w] for w in wanted], dtype=np.int64)[pos[keep]], keep


def _bucket_us(table: pa.Table) -> np.ndarray:
    return pc.cast(table["bucket"], pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy()


def _us(t: datetime) -> int:
    return int((t - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))


def _instant(us: int) -> datetime:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)).astimezone(SHANGHAI)


def _date(day_number: int) -> date:
    return date(1970, 1, 1) + timedelta(days=day_number)


def percent(share: float, *, up: bool = False) -> str:
    """``share`` as a percentage with two decimals, rounded away from the misleading side: a coverage of
    99.997 % prints 99.99 % (never 100 % while a reading is missing), a missing share ``up`` to 0.01 % (never 0 %)."""
    basis_points = share * 10_000
    n = math.ceil(basis_points - 1e-9) if up else math.floor(basis_points + 1e-9)
    return f"{n / 100:.2f}%"


def status_label(status: str, lang: str) -> str:
    """A coverage status in ``lang`` (``zh`` or ``en``)."""
    zh, en = STATUS_LABELS.get(status, (status, status))
    return zh if lang == "zh" else en


__all__ = ["CADENCES_S", "ISSUE_RULES", "LOOKBACK_DAYS", "STATUS_LABELS", "CarrierCoverage", "Coverage",
           "MeterCoverage", "check_now", "coverage", "percent", "status_label"]
