"""Simulated parking, EV charging, hydrogen refuelling and the driverless shuttle for one day at a time.

Every value is a pure function of (seed, entity, instant), like the meters: a parking spot is taken when the car
park's demand at that moment exceeds the spot's own threshold for the day (which drifts smoothly, so cars stay for
hours rather than flickering every quarter-hour); charging sockets work the same way; hydrogen fills arrive as a
Poisson stream; shuttles run a timetable around the loop and their positions follow from it.

Conventions: quarter-hour series are stamped at the end of each interval (00:15 … 24:00); shuttle series every
minute while in service (00:01 … 24:00 grid, the schedule decides) and every quarter-hour when parked.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from lingang_twin.demo.calendar import WORKING, epoch_day
from lingang_twin.demo.energy_model import EnergyModel
from lingang_twin.demo.layout import LayoutPlan, lonlat
from lingang_twin.demo.noise import entity_key, normal, smooth_noise, stream_key, uniform
from lingang_twin.energy.demo.profiles import KIND_EVENT, KIND_WORK, SLOTS_PER_DAY, Schedule, hourly_to_slots
from lingang_twin.energy.demo.profiles import hourly_curve as _curve

_DAY_S = 86_400
_TZ_S = 8 * 3600

# Share of a car park's spots wanted at each hour (0–1), by who uses it; illustrative assumptions.
PARKING_DEMAND: dict[str, Schedule] = {
    "office": Schedule(
        work=_curve({0: 0.05, 6: 0.06, 7: 0.25, 8: 0.65, 9: 0.9, 12: 0.85, 14: 0.92, 17: 0.8, 18: 0.5, 19: 0.25,
                     21: 0.1, 23: 0.06}),
        off=_curve({0: 0.05, 8: 0.06, 10: 0.18, 16: 0.18, 18: 0.08, 23: 0.05})),
    "venue": Schedule(
        work=_curve({0: 0.2, 7: 0.25, 9: 0.5, 12: 0.55, 17: 0.5, 19: 0.45, 22: 0.3, 23: 0.22}),
        off=_curve({0: 0.22, 8: 0.25, 10: 0.45, 16: 0.5, 19: 0.45, 22: 0.3, 23: 0.22}),
        event=_curve({0: 0.25, 6: 0.3, 8: 0.8, 9: 0.97, 17: 0.95, 19: 0.9, 21: 0.7, 23: 0.3})),
    "community": Schedule(
        work=_curve({0: 0.04, 7: 0.08, 8: 0.5, 9: 0.8, 11: 0.85, 12: 0.6, 14: 0.8, 17: 0.6, 18: 0.35, 20: 0.15,
                     23: 0.04}),
        off=_curve({0: 0.04, 8: 0.08, 9: 0.35, 16: 0.35, 18: 0.15, 23: 0.04})),
    "hub": Schedule(
        work=_curve({0: 0.15, 5: 0.1, 7: 0.35, 9: 0.45, 12: 0.6, 14: 0.45, 18: 0.55, 21: 0.4, 23: 0.2}),
        off=_curve({0: 0.15, 6: 0.1, 9: 0.35, 12: 0.55, 17: 0.55, 21: 0.35, 23: 0.2})),
}
FAST_CHARGER_KW = 50.0  # DC sockets from this power up [kW]
FAST_CHARGER_DEMAND = 0.45  # share of the car park's demand that wants a fast charge (assumption)
AC_CHARGING_SHARE = 0.55  # share of a plugged-in hour an AC session is still charging (assumption)
SPOT_CATEGORY_DEMAND = {"normal": 1.0, "ev": 0.75, "accessible": 0.35}
_PARKING_SCHEDULE = {"office": "office", "venue": "venue", "community": "community", "hub": "office"}

# Hydrogen: fills per day and their size [kg]; trucks and buses refuel mostly in the morning and evening.
H2_FILLS_PER_DAY = (34.0, 22.0)  # working day, other days
H2_FILL_KG = (8.0, 30.0)
H2_DEMAND = _curve({0: 0.1, 5: 0.3, 6: 1.0, 9: 1.0, 11: 0.6, 14: 0.6, 17: 1.0, 20: 0.9, 22: 0.3, 23: 0.1})

# The shuttle timetable (illustrative): cruise speed [m/s], dwell at a stop [s], service hours, fleet in service.
SHUTTLE_SPEED_MS = 5.0  # 18 km/h
SHUTTLE_DWELL_S = 40.0
SERVICE_WORKING = (7 * 3600, 20 * 3600 + 1800, 4)  # start [s], end [s], vehicles
SERVICE_OTHER = (9 * 3600, 18 * 3600, 2)
BATTERY_USE_PCT_H = 4.5
BATTERY_CHARGE_PCT_H = 20.0
PASSENGER_DEMAND = _curve({0: 0.5, 7: 3.0, 8: 7.5, 9: 6.0, 10: 3.5, 11: 4.0, 12: 6.0, 13: 4.0, 16: 4.0, 17: 7.0,
                           18: 7.5, 19: 4.0, 21: 2.0, 23: 0.5})


def slot_times(d: date) -> np.ndarray:
    """UTC epoch seconds of the 96 interval ends of local day ``d`` (00:15 … 24:00 Asia/Shanghai)."""
    return epoch_day(d) * _DAY_S - _TZ_S + 900 * np.arange(1, SLOTS_PER_DAY + 1, dtype=np.int64)


def _demand(schedule: Schedule, kind: int, hours: np.ndarray) -> np.ndarray:
    curve = schedule.event if (kind == KIND_EVENT and schedule.event) else (
        schedule.work if kind in (KIND_WORK, KIND_EVENT) else schedule.off)
    xs = np.arange(25, dtype=np.float64)
    return np.interp(hours % 24.0, xs, np.array([*curve, curve[0]]))


class Stations:
    """Parking, charging, hydrogen and shuttle series of a layout."""

    def __init__(self, seed: int, plan: LayoutPlan, energy: EnergyModel) -> None:
        self.seed = seed
        self.plan = plan
        self.energy = energy
        self.spot_ids = [s for p in plan.parking for s in p.spot_ids]
        self.spot_key = np.array([entity_key(s) for s in self.spot_ids], dtype=np.uint64)
        self.spot_factor = np.array([SPOT_CATEGORY_DEMAND[c] for p in plan.parking for c in p.spot_categories])
        self.spot_park = np.repeat(np.arange(len(plan.parking)), [len(p.spot_ids) for p in plan.parking])
        self.park_starts = np.concatenate([[0], np.cumsum([len(p.spot_ids) for p in plan.parking])[:-1]]).astype(
            np.int64)
        self.park_sizes = np.array([len(p.spot_ids) for p in plan.parking], dtype=np.float64)
        self.park_op = np.array([epoch_day(p.operation_since) for p in plan.parking])
        self.socket_station = np.repeat(np.arange(len(plan.chargers)), [c.sockets for c in plan.chargers])
        self.socket_key = np.array([entity_key(f"{c.id}#{k}") for c in plan.chargers for k in range(c.sockets)],
                                   dtype=np.uint64)
        self.socket_kw = np.array([c.socket_kw for c in plan.chargers for _ in range(c.sockets)])
        self.station_starts = np.concatenate([[0], np.cumsum([c.sockets for c in plan.chargers])[:-1]]).astype(
            np.int64)
        self.station_sockets = np.array([c.sockets for c in plan.chargers], dtype=np.float64)
        route = plan.route
        self.path_xy = np.asarray(route.path.coords, dtype=np.float64)
        seg = np.hypot(*np.diff(self.path_xy, axis=0).T)
        self.path_s = np.concatenate([[0.0], np.cumsum(seg)])
        self.route_length = float(self.path_s[-1])
        # Timetable of one loop: breakpoints (time [s] → distance [m]), dwelling at each stop then driving on.
        bt, bs = [0.0], [0.0]
        stops = sorted(route.stop_distances_m)
        for i, s in enumerate(stops):
            if i > 0:
                bt.append(bt[-1] + (s - bs[-1]) / SHUTTLE_SPEED_MS)
                bs.append(s)
            bt.append(bt[-1] + SHUTTLE_DWELL_S)
            bs.append(s)
        bt.append(bt[-1] + (self.route_length - bs[-1]) / SHUTTLE_SPEED_MS)
        bs.append(self.route_length)
        self.loop_t = np.array(bt)
        self.loop_s = np.array(bs)
        self.loop_time_s = float(bt[-1])
        self.vehicle_key = np.array([entity_key(v) for v in route.vehicle_ids], dtype=np.uint64)

    # -- parking ------------------------------------------------------------------------------------------------
    def parking(self, d: date) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(spot occupied 0/1 (spots × 96), car park occupancy [%] (parks × 96), free spots (parks × 96))."""
        t = slot_times(d)
        hours = ((t + _TZ_S) % _DAY_S) / 3600.0
        ep = epoch_day(d)
        demand = np.empty((len(self.plan.parking), SLOTS_PER_DAY))
        for i, p in enumerate(self.plan.parking):
            kind = self.energy.day_kind_of(_PARKING_SCHEDULE[p.kind], d)
            demand[i] = _demand(PARKING_DEMAND[p.kind], kind, hours)
        threshold = uniform(self.seed, stream_key("spot-threshold"), self.spot_key[:, None], np.int64(ep))
        drift = 0.12 * smooth_noise(self.seed, stream_key("spot-drift"), self.spot_key[:, None],
                                    (t // 60)[None, :], 150)
        x = np.mod(threshold + drift, 1.0)
        occupied = (x < demand[self.spot_park] * self.spot_factor[:, None]).astype(np.float64)
        taken = np.add.reduceat(occupied, self.park_starts, axis=0)
        occupancy = np.round(100.0 * taken / self.park_sizes[:, None], 1)
        return occupied, occupancy, self.park_sizes[:, None] - taken

    # -- EV charging --------------------------------------------------------------------------------------------
    def charging(self, d: date) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean power [kW], energy [kWh], free sockets) per station × 96 intervals."""
        t = slot_times(d)
        hours = ((t + _TZ_S) % _DAY_S - 450) / 3600.0  # interval midpoints
        ep = epoch_day(d)
        demand = np.empty((len(self.plan.chargers), SLOTS_PER_DAY))
        for i, c in enumerate(self.plan.chargers):
            kind = self.energy.day_kind_of(_PARKING_SCHEDULE[c.kind], d)
            demand[i] = 0.8 * _demand(PARKING_DEMAND[c.kind], kind, hours)
        fast = self.socket_kw >= FAST_CHARGER_KW
        threshold = uniform(self.seed, stream_key("socket-threshold"), self.socket_key[:, None], np.int64(ep))
        # Fast-charging sessions last well under an hour; a car on an AC socket stays parked for hours.
        minute = (t // 60)[None, :]
        drift = np.where(fast[:, None],
                         0.3 * smooth_noise(self.seed, stream_key("socket-drift-fast"), self.socket_key[:, None],
                                            minute, 30),
                         0.15 * smooth_noise(self.seed, stream_key("socket-drift"), self.socket_key[:, None],
                                             minute, 90))
        share = np.where(fast, FAST_CHARGER_DEMAND, 1.0)[:, None]
        in_use = np.mod(threshold + drift, 1.0) < demand[self.socket_station] * share
        # A charging car draws between about half and all of the socket's power (battery taper, car limits); on
        # an AC socket it is often full long before it leaves, and then draws nothing.
        u = uniform(self.seed, stream_key("socket-draw"), self.socket_key[:, None], (t // 900)[None, :])
        charging = fast[:, None] | (uniform(self.seed, stream_key("socket-full"), self.socket_key[:, None],
                                            (t // 3600)[None, :]) < AC_CHARGING_SHARE)
        power_socket = np.where(in_use & charging, self.socket_kw[:, None] * (0.5 + 0.5 * u), 0.0)
        power = np.round(np.add.reduceat(power_socket, self.station_starts, axis=0), 1)
        energy = np.round(power * 0.25, 3)
        free = self.station_sockets[:, None] - np.add.reduceat(in_use.astype(np.float64), self.station_starts,
                                                               axis=0)
        return power, energy, free

    # -- hydrogen -----------------------------------------------------------------------------------------------
    def hydrogen(self, d: date) -> tuple[np.ndarray, np.ndarray]:
        """(hydrogen dispensed in each interval [kg], hydrogen in storage at its end [kg]), 96 values each.

        A tube trailer tops the storage up to capacity just after midnight."""
        t = slot_times(d)
        working = self.energy.working_day_type(d) == WORKING
        curve = hourly_to_slots(H2_DEMAND)
        lam = (H2_FILLS_PER_DAY[0] if working else H2_FILLS_PER_DAY[1]) * curve / curve.sum()
        u = uniform(self.seed, stream_key("h2-fills"), entity_key(self.plan.hydrogen_station_id), t // 900)
        # Inverse of the Poisson distribution, summed term by term (λ per quarter-hour is below 1).
        fills = np.zeros(SLOTS_PER_DAY)
        p = np.exp(-lam)
        cdf = p.copy()
        for k in range(1, 8):
            fills += u > cdf
            p = p * lam / k
            cdf = cdf + p
        size = H2_FILL_KG[0] + (H2_FILL_KG[1] - H2_FILL_KG[0]) * uniform(
            self.seed, stream_key("h2-size"), entity_key(self.plan.hydrogen_station_id), t // 900)
        dispensed = np.round(fills * size, 2)
        storage = np.round(self.plan.hydrogen_storage_kg - np.cumsum(dispensed), 1)
        return dispensed, storage

    # -- the driverless shuttle ---------------------------------------------------------------------------------
    def shuttle(self, d: date) -> dict[str, np.ndarray]:
        """Every minute of ``d`` for every vehicle: ``speed`` [km/h], ``lon``/``lat`` [degree], ``passengers``,
        ``batteryLevel`` [%], and ``emit`` (minutely in service, quarter-hourly otherwise). Arrays vehicles × 1440."""
        ep = epoch_day(d)
        minutes = np.arange(1, 1441, dtype=np.int64)
        t = ep * _DAY_S - _TZ_S + 60 * minutes  # UTC seconds
        tod = (60 * minutes).astype(np.float64)  # seconds since local midnight
        working = self.energy.working_day_type(d) == WORKING
        start, end, active = SERVICE_WORKING if working else SERVICE_OTHER
        n = len(self.vehicle_key)
        if working:
            spare = ep % n
            fleet = [v for v in range(n) if v != spare][:active]
        else:
            fleet = [int(ep % n), int((ep + 2) % n)][:active]
        T = self.loop_time_s
        dist = np.zeros((n, 1440))
        speed = np.zeros((n, 1440))
        pax = np.zeros((n, 1440))
        battery = np.full((n, 1440), 100.0)
        emit = np.broadcast_to(minutes % 15 == 0, (n, 1440)).copy()
        rate = BATTERY_USE_PCT_H * (1 + 0.08 * normal(self.seed, stream_key("battery-rate"), self.vehicle_key,
                                                      np.int64(ep)))
        hour = tod / 3600.0
        lam = np.interp(hour, np.arange(25), np.array([*PASSENGER_DEMAND, PASSENGER_DEMAND[0]]))
        if not working:
            lam = 0.6 * lam
        for rank, v in enumerate(fleet):
            first = start + rank * T / len(fleet)
            last = first + np.ceil((end - first) / T) * T  # finish the loop under way, back at the depot
            tau = tod - first
            running = (tau >= 0) & (tod <= last)
            loop = np.floor(np.where(running, tau, 0.0) / T)
            phase = np.where(running, tau - loop * T, 0.0)
            dist[v] = np.where(running, np.interp(phase, self.loop_t, self.loop_s), 0.0)
            leg = np.searchsorted(self.loop_t, phase, side="right") - 1
            moving = running & (leg % 2 == 1)
            jitter = normal(self.seed, stream_key("shuttle-speed"), self.vehicle_key[v], t)
            speed[v] = np.where(moving, SHUTTLE_SPEED_MS * 3.6 * (1 + 0.06 * jitter), 0.0)
            stop_leg = (leg // 2).astype(np.int64)
            u = uniform(self.seed, stream_key("shuttle-pax"), self.vehicle_key[v],
                        np.int64(ep) * 1000 + loop.astype(np.int64), stop_leg)
            pax[v] = np.where(running, np.minimum(np.floor(lam * (0.3 + 1.4 * u)), self.plan.route.seats), 0.0)
            used = np.clip(tod - start, 0.0, last - start) / 3600.0 * rate[v]
            after = np.clip(tod - last, 0.0, None) / 3600.0 * BATTERY_CHARGE_PCT_H
            battery[v] = np.minimum(100.0, 100.0 - used + after)
            emit[v] |= (tod >= start) & (tod <= last)
        x = np.interp(dist, self.path_s, self.path_xy[:, 0])
        y = np.interp(dist, self.path_s, self.path_xy[:, 1])
        lon, lat = lonlat(x.ravel(), y.ravel())
        return {"speed": np.round(speed, 1), "lon": np.round(lon.reshape(n, 1440), 6),
                "lat": np.round(lat.reshape(n, 1440), 6), "passengers": pax, "batteryLevel": np.round(battery, 1),
                "emit": emit, "t": t}
