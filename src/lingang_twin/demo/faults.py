"""Injected meter faults, for the anomaly detection to find: stuck meters, water leaks, spikes and gaps.

Faults are scheduled per day from the seed, like everything else, so a backfill and a live simulator agree on them
and anyone can ask for the ground truth of any period (:meth:`FaultPlan.between`). Each day there are one or two
gaps, one stuck meter and one or two spikes somewhere in the district; about one day in eight a water leak starts
on a building's main water meter and runs for two to six days. That is frequent for one meter (about one fault
per meter every few years) and occasional for the fleet, which is what an operations centre sees.

=======  ====================================================================================================
kind     what the data shows
=======  ====================================================================================================
stuck    the reading at ``start`` repeats unchanged until ``end`` (3–10 h); a cumulative register then jumps
leak     a constant extra flow on an interval water meter from ``start`` to ``end`` — visible as night flow
spike    one reading 8–15 × too high (interval meters only, so cumulative registers stay monotonic)
gap      no readings from ``start`` to ``end`` (2–6 h)
=======  ====================================================================================================

``start`` is inclusive and ``end`` exclusive: the affected readings are those with ``start <= observed_at < end``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from lingang_twin.core.calendar import SHANGHAI
from lingang_twin.demo.calendar import day_of, epoch_day
from lingang_twin.demo.energy_model import EnergyModel
from lingang_twin.demo.noise import stream_key, uniform

FAULT_KINDS = ("stuck", "leak", "spike", "gap")
LEAK_START_PROBABILITY = 0.12  # per day, district-wide
LEAK_MAX_DAYS = 6
_SLOT = timedelta(minutes=15)


@dataclass(frozen=True)
class Fault:
    """One injected fault: readings of ``entity_id`` with ``start <= observed_at < end`` are affected."""

    kind: str
    entity_id: str
    start: datetime
    end: datetime
    note: str


@dataclass(frozen=True)
class _Scheduled:
    fault: Fault
    row: int  # meter row in the energy model
    start_s: int  # UTC epoch seconds
    end_s: int
    magnitude: float  # leak: extra flow per interval [m³]; spike: factor


def _stamp(ep: int, k: int) -> int:
    """UTC epoch seconds of interval end ``k`` (0-based: 0 → 00:15) of epoch day ``ep``."""
    return ep * 86_400 - 8 * 3600 + 900 * (k + 1)


def _dt(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, SHANGHAI)


class FaultPlan:
    """The fault schedule of one seed over the meters of an energy model."""

    def __init__(self, seed: int, energy: EnergyModel) -> None:
        self.seed = seed
        self.energy = energy
        meters = energy.meters
        carrier = np.array([m.carrier for m in meters])
        interval = np.array([m.register == "interval" for m in meters])
        main = np.array([m.end_use == "main" for m in meters])
        self.op_day = energy.meter_op_day
        self.eligible = {
            "stuck": np.isin(carrier, ["electricity", "water"]),
            "gap": np.ones(len(meters), dtype=bool),
            "spike": interval & np.isin(carrier, ["electricity", "water", "natural_gas"]),
            "leak": interval & main & (carrier == "water"),
        }
        self.ids = [m.id for m in meters]
        self._cache: dict[int, list[_Scheduled]] = {}

    def _pick(self, kind: str, ep: int, j: int) -> int | None:
        rows = np.flatnonzero(self.eligible[kind] & (self.op_day <= ep))
        if len(rows) == 0:
            return None
        u = float(uniform(self.seed, stream_key(f"fault-{kind}-meter"), np.int64(ep), j)[0])
        return int(rows[int(u * len(rows))])

    def _u(self, name: str, ep: int, j: int = 0) -> float:
        return float(uniform(self.seed, stream_key(f"fault-{name}"), np.int64(ep), j)[0])

    def started_on(self, d: date) -> list[_Scheduled]:
        """Faults that begin on local day ``d``."""
        ep = epoch_day(d)
        if ep in self._cache:
            return self._cache[ep]
        out: list[_Scheduled] = []
        n_gap = 1 + (self._u("gap-count", ep) < 0.5)
        for j in range(n_gap):
            row = self._pick("gap", ep, j)
            if row is not None:
                n = 8 + int(self._u("gap-length", ep, j) * 17)
                k0 = int(self._u("gap-start", ep, j) * (96 - n + 1))
                s, e = _stamp(ep, k0), _stamp(ep, k0 + n - 1) + 900
                out.append(_Scheduled(Fault("gap", self.ids[row], _dt(s), _dt(e),
                                            f"no readings for {n / 4:.2f} h (communication lost) / "
                                            f"通信中断，缺失 {n / 4:.2f} 小时读数"), row, s, e, 0.0))
        row = self._pick("stuck", ep, 0)
        if row is not None:
            n = 12 + int(self._u("stuck-length", ep) * 29)
            k0 = int(self._u("stuck-start", ep) * (96 - n + 1))
            s, e = _stamp(ep, k0), _stamp(ep, k0 + n - 1) + 900
            out.append(_Scheduled(Fault("stuck", self.ids[row], _dt(s), _dt(e),
                                        f"stuck meter: the same value repeats for {n / 4:.2f} h / "
                                        f"计量表卡滞：同一读数重复 {n / 4:.2f} 小时"), row, s, e, 0.0))
        n_spike = 1 + (self._u("spike-count", ep) < 0.3)
        for j in range(n_spike):
            row = self._pick("spike", ep, j)
            if row is not None:
                k0 = int(self._u("spike-start", ep, j) * 96)
                factor = 8.0 + 7.0 * self._u("spike-factor", ep, j)
                s = _stamp(ep, k0)
                out.append(_Scheduled(Fault("spike", self.ids[row], _dt(s), _dt(s + 900),
                                            f"spike: one reading about {factor:.0f} × too high / "
                                            f"尖峰：单个读数约为正常的 {factor:.0f} 倍"), row, s, s + 900, factor))
        if self._u("leak-start", ep) < LEAK_START_PROBABILITY:
            row = self._pick("leak", ep, 0)
            if row is not None:
                days = 2 + int(self._u("leak-days", ep) * (LEAK_MAX_DAYS - 1))
                k0 = int(self._u("leak-slot", ep) * 96)
                rate = 0.25 + 0.9 * self._u("leak-rate", ep)  # [m³/h]
                s = _stamp(ep, k0)
                e = s + days * 86_400
                out.append(_Scheduled(Fault("leak", self.ids[row], _dt(s), _dt(e),
                                            f"water leak: continuous extra flow of {rate:.2f} m³/h for {days} days "
                                            f"(night flow) / 漏水：持续额外流量 {rate:.2f} 立方米/小时，共 {days} 天"),
                                      row, s, e, rate / 4.0))
        self._cache[ep] = out
        return out

    def active_on(self, d: date) -> list[_Scheduled]:
        """Faults affecting some reading of local day ``d`` (leaks may have started up to six days earlier)."""
        ep = epoch_day(d)
        lo, hi = _stamp(ep, 0), _stamp(ep, 95)
        out = [f for f in self.started_on(d)]
        for back in range(1, LEAK_MAX_DAYS + 1):
            out.extend(f for f in self.started_on(day_of(ep - back)) if f.fault.kind == "leak" and f.end_s > lo
                       and f.start_s <= hi)
        return out

    def apply(self, d: date, values: np.ndarray, mask: np.ndarray) -> None:
        """Inject the faults active on ``d`` into the meters' readings (meters × 96) and emission mask, in place."""
        ep = epoch_day(d)
        stamps = np.array([_stamp(ep, k) for k in range(96)], dtype=np.int64)
        active = self.active_on(d)
        for kind in ("leak", "spike", "stuck", "gap"):  # leaks add flow before anything freezes or drops it
            for f in (f for f in active if f.fault.kind == kind):
                hit = (stamps >= f.start_s) & (stamps < f.end_s)
                if kind == "leak":
                    values[f.row, hit] = np.round(values[f.row, hit] + f.magnitude, 3)
                elif kind == "spike":
                    base = max(float(values[f.row].mean()), 1e-3)
                    values[f.row, hit] = np.round(values[f.row, hit] * f.magnitude + base * f.magnitude, 3)
                elif kind == "stuck":
                    first = int(np.flatnonzero(hit)[0])
                    values[f.row, hit] = values[f.row, first]
                else:
                    mask[f.row, hit] = False

    def between(self, start: datetime, end: datetime) -> list[Fault]:
        """Every fault affecting a reading with ``start < observed_at <= end``, in order of start."""
        s, e = int(start.timestamp()), int(end.timestamp())
        first = epoch_day(start.astimezone(SHANGHAI).date()) - LEAK_MAX_DAYS
        last = epoch_day(end.astimezone(SHANGHAI).date())
        out = [f.fault for ep in range(first, last + 1) for f in self.started_on(day_of(ep))
               if f.start_s <= e and f.end_s > s + 1 and self.op_day[f.row] <= ep]
        return sorted(out, key=lambda f: (f.start, f.entity_id, f.kind))
