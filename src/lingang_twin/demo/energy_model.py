"""Meter readings of the demo buildings: end-use loads → sub-meters and main meters, interval and cumulative.

Each building in operation has *components*: one load per (carrier, end use), e.g. the Joint Laboratory's
electricity for HVAC. A component's consumption on a day is

    daily total = base × (b + (1 − b) · activity[day kind]) × weather factor(daily mean temperature)
                  × (1 + σ_day · noise)

and is spread over the day's 96 quarter-hours by the end use's intraday shape with its own noise, *normalised so
that the quarter-hours add up to the daily total*. That normalisation is what makes cumulative registers cheap and
pure: the register at any instant is

    register = origin + Σ daily totals of earlier days + daily total × (share of the day's shape so far)

so a reading in 2026 needs one day of quarter-hours plus a running sum of day-level numbers, never a replay of every
quarter-hour since commissioning. ``base`` is calibrated so that a climatologically normal year uses the annual
intensity of :mod:`lingang_twin.energy.demo.profiles`.

A sub-meter reads one component; a main meter the sum of its building's components of that carrier (so sub-meters
add up to less than the main: the ``other`` end use is never sub-metered). Values are a pure function of
(seed, meter, instant): the arithmetic for a day is always done on the same arrays in the same order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from lingang_twin.demo.calendar import HOLIDAY, WEEKEND, WORKING, epoch_day, year_calendar
from lingang_twin.demo.climate import climatology, daily_mean_temperature, day_of_year
from lingang_twin.demo.layout import LayoutPlan
from lingang_twin.demo.noise import entity_key, normal, stream_key, uniform
from lingang_twin.energy.demo.profiles import (
    DIESEL_L_PER_KWH,
    END_USES,
    GENERATOR_TEST,
    KIND_EVENT,
    KIND_OFF,
    KIND_WORK,
    SCHEDULES,
    SLOTS_PER_DAY,
    USES,
    end_use_shape,
    weather_factor,
)

FIRST_YEAR = 2019  # running sums of cumulative registers start here (every meter is commissioned later)
SLOT_S = 900
EVENT_SHARE_WORKING = 0.25  # share of working days with a conference at the venues (assumption)
EVENT_SHARE_OFF = 0.10
GENERATOR_TEST_EVERY_DAYS = 28
_SCHEDULE_NAMES = tuple(SCHEDULES)
_END_USE_NAMES = tuple(END_USES)


def day_kinds(seed: int, schedule: str, epochs: np.ndarray, types: np.ndarray, term: np.ndarray,
              forum: np.ndarray) -> np.ndarray:
    """Day kind (work / off / event) of each day for buildings on ``schedule``."""
    working = types == WORKING
    kinds = np.where(working, KIND_WORK, KIND_OFF).astype(np.int8)
    if schedule == "school":
        kinds = np.where(working & term, KIND_WORK, KIND_OFF).astype(np.int8)
    elif schedule == "always":
        kinds = np.full(len(epochs), KIND_WORK, dtype=np.int8)
    elif schedule in ("venue", "hotel"):
        u = uniform(seed, stream_key("venue-event"), epochs)
        event = forum | (working & (u < EVENT_SHARE_WORKING)) | (~working & (u < EVENT_SHARE_OFF))
        kinds = np.where(event, KIND_EVENT, kinds).astype(np.int8)
    return kinds


@dataclass
class _YearBlock:
    """Day-level numbers of one calendar year."""

    first_epoch: int
    kinds: np.ndarray  # (schedules × days) day kind
    t_mean: np.ndarray  # (days,) daily mean temperature [°C]
    comp_daily: np.ndarray  # (components × days) daily totals [carrier unit]
    cum_before: np.ndarray  # (cumulative meters × days) register increase before each day since origin
    cum_daily: np.ndarray  # (cumulative meters × days) daily totals of the cumulative meters
    cum_end: np.ndarray  # (cumulative meters,) running sum at the end of the year


@dataclass
class MeterDay:
    """One day of readings of every meter: ``values`` (meters × 96) at the interval ends, ``live`` mask, and for
    cumulative meters the unwrapped register (``unwrapped``, rows of ``cum_rows``) before rollover."""

    values: np.ndarray
    live: np.ndarray
    unwrapped: np.ndarray
    wraps_before: np.ndarray


class EnergyModel:
    """The meters of a layout and how to compute one day of their readings."""

    def __init__(self, seed: int, plan: LayoutPlan) -> None:
        self.seed = seed
        self.plan = plan
        comp_rows: list[tuple[str, str, str, float, int, int, int]] = []  # building, carrier, end use, annual …
        groups: dict[tuple[str, str], tuple[int, int]] = {}
        comp_index: dict[tuple[str, str, str], int] = {}
        for b in plan.buildings:
            if b.operation_since is None:
                continue
            use = USES[b.use]
            size = math.exp(0.15 * float(normal(seed, stream_key("building-size"), entity_key(b.id))[0]))
            carriers = {c: dict(eu) for c, eu in use.end_uses.items()}
            if use.generator_kw_per_m2 > 0:
                carriers["diesel"] = {"generator": 1.0}
            for carrier, shares in carriers.items():
                first = len(comp_rows)
                for end_use, share in shares.items():
                    if carrier == "diesel":
                        kw = use.generator_kw_per_m2 * b.floor_area_m2
                        annual = kw * GENERATOR_TEST[0] * GENERATOR_TEST[1] * DIESEL_L_PER_KWH  # litres per test
                    else:
                        annual = use.intensity[carrier] * b.floor_area_m2 * share * size
                    comp_index[(b.id, carrier, end_use)] = len(comp_rows)
                    comp_rows.append((b.id, carrier, end_use, annual, _SCHEDULE_NAMES.index(use.schedule),
                                      _END_USE_NAMES.index(end_use), epoch_day(b.operation_since)))
                groups[(b.id, carrier)] = (first, len(comp_rows))
        n = len(comp_rows)
        self.n_components = n
        self.comp_key = np.array([entity_key(f"{r[0]}|{r[1]}|{r[2]}") for r in comp_rows], dtype=np.uint64)
        self.comp_sched = np.array([r[4] for r in comp_rows], dtype=np.int64)
        self.comp_end_use = np.array([r[5] for r in comp_rows], dtype=np.int64)
        self.comp_op_day = np.array([r[6] for r in comp_rows], dtype=np.int64)
        self.comp_is_generator = np.array([r[2] == "generator" for r in comp_rows])
        self.comp_gen_offset = (self.comp_key % np.uint64(GENERATOR_TEST_EVERY_DAYS)).astype(np.int64)
        annual_use = np.array([r[3] for r in comp_rows], dtype=np.float64)
        eu = [END_USES[name] for name in _END_USE_NAMES]
        self.comp_base_frac = np.array([eu[i].base for i in self.comp_end_use])
        self.comp_slot_sigma = np.array([eu[i].noise for i in self.comp_end_use])
        self.comp_day_sigma = np.where(self.comp_sched == _SCHEDULE_NAMES.index("always"), 0.02, 0.06)
        # The intraday shapes: one row per (schedule, kind, end use) in use.
        shape_ids: dict[tuple[int, int, int], int] = {}
        shapes: list[np.ndarray] = []
        self.comp_shape = np.zeros((n, 3), dtype=np.int64)
        for c in range(n):
            for kind in (KIND_WORK, KIND_OFF, KIND_EVENT):
                key = (int(self.comp_sched[c]), kind, int(self.comp_end_use[c]))
                if key not in shape_ids:
                    shape_ids[key] = len(shapes)
                    shapes.append(end_use_shape(_SCHEDULE_NAMES[key[0]], kind, _END_USE_NAMES[key[2]]))
                self.comp_shape[c, kind] = shape_ids[key]
        self.shapes = np.array(shapes)
        self.activity = np.array([SCHEDULES[s].activity for s in _SCHEDULE_NAMES])  # (schedules × kinds)
        # Calibration: a climatologically normal reference year uses the annual intensity.
        ref = self._reference_factor(2025)
        # Generators: litres per test run; everything else: a normal day's use [unit/day].
        self.comp_base = np.where(self.comp_is_generator, annual_use,
                                  annual_use / 365.25 / np.where(ref > 0, ref, 1.0))
        # Groups (building, carrier) are contiguous runs of components: a main meter sums one run.
        group_list = sorted(groups.items(), key=lambda kv: kv[1][0])
        self.group_starts = np.array([g[1][0] for g in group_list], dtype=np.int64)
        group_row = {g[0]: i for i, g in enumerate(group_list)}
        # Meters: a row into [group sums; components].
        self.meters = [m for m in plan.meters if m.carrier != "hydrogen"]
        ng = len(group_list)
        rows = []
        for m in self.meters:
            if m.end_use == "main":
                rows.append(group_row[(m.building_id, m.carrier)])
            else:
                rows.append(ng + comp_index[(m.building_id, m.carrier, m.end_use)])
        self.meter_row = np.array(rows, dtype=np.int64)
        self.meter_op_day = np.array([epoch_day(m.operation_since) for m in self.meters], dtype=np.int64)
        self.meter_key = np.array([entity_key(m.id) for m in self.meters], dtype=np.uint64)
        self.cum_rows = np.array([i for i, m in enumerate(self.meters) if m.register == "cumulative"],
                                 dtype=np.int64)
        self.cum_max = np.array([self.meters[i].register_max or 1e12 for i in self.cum_rows], dtype=np.float64)
        # Where each cumulative register stood when it was commissioned [carrier unit].
        self.cum_origin = np.floor(0.9 * self.cum_max * uniform(seed, stream_key("register-origin"),
                                                                self.meter_key[self.cum_rows]))
        self._blocks: dict[int, _YearBlock] = {}

    # -- day level ----------------------------------------------------------------------------------------------
    def _kinds(self, epochs: np.ndarray, types: np.ndarray, term: np.ndarray, forum: np.ndarray) -> np.ndarray:
        return np.stack([day_kinds(self.seed, s, epochs, types, term, forum) for s in _SCHEDULE_NAMES])

    def _factors(self, kinds: np.ndarray, t_mean: np.ndarray, epochs: np.ndarray, types: np.ndarray) -> np.ndarray:
        """(components × days) relative daily consumption, before noise and calibration."""
        comp_kind = kinds[self.comp_sched]  # (components × days)
        act = self.activity[self.comp_sched[:, None], comp_kind]
        mix = self.comp_base_frac[:, None] + (1 - self.comp_base_frac[:, None]) * act
        doy = day_of_year(epochs)
        weather = np.ones_like(mix)
        for i, name in enumerate(_END_USE_NAMES):
            rows = self.comp_end_use == i
            if rows.any() and END_USES[name].weather is not None:
                weather[rows] = weather_factor(END_USES[name].weather, t_mean, doy)[None, :]
        factor = mix * weather
        # Backup generators run only for their monthly test, on a working day.
        test = ((epochs[None, :] + self.comp_gen_offset[:, None]) % GENERATOR_TEST_EVERY_DAYS == 0) & (
            types[None, :] == WORKING)
        return np.where(self.comp_is_generator[:, None], test.astype(np.float64), factor)

    def _reference_factor(self, year: int) -> np.ndarray:
        epochs, types, term, forum = year_calendar(year)
        kinds = self._kinds(epochs, types, term, forum)
        t_clim = climatology(day_of_year(epochs))
        return self._factors(kinds, t_clim, epochs, types).mean(axis=1)

    def _block(self, year: int) -> _YearBlock:
        if year in self._blocks:
            return self._blocks[year]
        first = min(FIRST_YEAR, year)
        prev_end = np.zeros(len(self.cum_rows))
        for y in range(first, year + 1):
            if y in self._blocks:
                prev_end = self._blocks[y].cum_end
                continue
            self._blocks[y] = self._compute_block(y, prev_end)
            prev_end = self._blocks[y].cum_end
        return self._blocks[year]

    def _compute_block(self, year: int, prev_end: np.ndarray) -> _YearBlock:
        epochs, types, term, forum = year_calendar(year)
        kinds = self._kinds(epochs, types, term, forum)
        t_mean = daily_mean_temperature(self.seed, epochs)
        factor = self._factors(kinds, t_mean, epochs, types)
        noise = normal(self.seed, stream_key("component-day"), self.comp_key[:, None], epochs[None, :])
        live = epochs[None, :] >= self.comp_op_day[:, None]
        comp_daily = self.comp_base[:, None] * factor * (1 + self.comp_day_sigma[:, None] * noise) * live
        meter_daily = self._meter_rows(comp_daily)[self.cum_rows]
        running = np.cumsum(meter_daily, axis=1)
        cum_before = prev_end[:, None] + np.concatenate([np.zeros((len(self.cum_rows), 1)), running[:, :-1]],
                                                        axis=1)
        cum_end = prev_end + running[:, -1] if running.shape[1] else prev_end
        return _YearBlock(int(epochs[0]), kinds, t_mean, comp_daily, cum_before, meter_daily, cum_end)

    def _meter_rows(self, comp: np.ndarray) -> np.ndarray:
        """Meter values from component values (any trailing shape): main meters sum their group."""
        sums = np.add.reduceat(comp, self.group_starts, axis=0)
        return np.concatenate([sums, comp], axis=0)[self.meter_row]

    def daily_mean_temperature(self, d: date) -> float:
        """The day's mean outdoor temperature used by the loads [°C]."""
        block = self._block(d.year)
        return float(block.t_mean[epoch_day(d) - block.first_epoch])

    def day_kind_of(self, schedule: str, d: date) -> int:
        """Day kind (work / off / event) of ``d`` for buildings on ``schedule``."""
        block = self._block(d.year)
        return int(block.kinds[_SCHEDULE_NAMES.index(schedule), epoch_day(d) - block.first_epoch])

    # -- quarter-hour level -------------------------------------------------------------------------------------
    def day(self, d: date) -> MeterDay:
        """Readings of every meter (without hydrogen) for the 96 intervals of ``d``, stamped at interval ends."""
        block = self._block(d.year)
        j = epoch_day(d) - block.first_epoch
        ep = epoch_day(d)
        slot_index = (ep * 86_400 - 8 * 3600) // SLOT_S + np.arange(1, SLOTS_PER_DAY + 1, dtype=np.int64)
        comp_kind = block.kinds[self.comp_sched, j]
        shape = self.shapes[self.comp_shape[np.arange(self.n_components), comp_kind]]
        z = normal(self.seed, stream_key("component-slot"), self.comp_key[:, None], slot_index[None, :])
        w = np.maximum(shape * (1 + self.comp_slot_sigma[:, None] * z), 0.0)
        running = np.cumsum(w, axis=1)
        total = running[:, -1:]
        comp_vals = block.comp_daily[:, j:j + 1] * w / np.where(total > 0, total, 1.0)
        values = self._meter_rows(comp_vals)
        live = np.broadcast_to((self.meter_op_day <= ep)[:, None], values.shape)
        # Cumulative registers: origin + running sum before today + today's total × share of today so far.
        cum_vals = values[self.cum_rows]
        cs = np.cumsum(cum_vals, axis=1)
        last = cs[:, -1:]
        share = np.where(last > 0, cs / np.where(last > 0, last, 1.0), 0.0)
        before = self.cum_origin + block.cum_before[:, j]
        unwrapped = before[:, None] + block.cum_daily[:, j:j + 1] * share
        out = np.round(values, 3)
        # Registers truncate (never round up), so the shown value never runs ahead of the true one.
        out[self.cum_rows] = np.floor(np.mod(unwrapped, self.cum_max[:, None]) * 100.0) / 100.0
        wraps_before = np.floor(before / self.cum_max)
        return MeterDay(out, np.array(live), unwrapped, wraps_before)

    def working_day_type(self, d: date) -> int:
        """WORKING, WEEKEND or HOLIDAY (see :mod:`lingang_twin.demo.calendar`)."""
        epochs, types, _, _ = year_calendar(d.year)
        return int(types[epoch_day(d) - int(epochs[0])])


__all__ = ["HOLIDAY", "WEEKEND", "WORKING", "EnergyModel", "MeterDay", "day_kinds"]
