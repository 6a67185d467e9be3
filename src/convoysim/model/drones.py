"""Armed drones as a sortie process: each airframe of a base's fleet is a SimPy process.

An airframe on the ground waits until its base is active, the day is flyable, it is serviceable
that day and the column is inside the base's datalink radius; if another airframe of its base
covers the column, it waits to take off in time to relieve it on station (so a fleet keeps one
drone over the column at a time, as long as it can); then it takes off, transits to the
column head, stays on station while the column stays in range and its fuel allows the return,
flies back and turns around. The column is covered while at least one drone is on station.

The march tells the fleet where the head is at every segment start (`column_at`); entering a
ring wakes the airframes waiting for it, leaving it recalls those on station. The march ends its
segments at `next_change_h`, the next moment a drone arrives on station or leaves it, so the
hazard it integrates is exact.

The fixed ring of a base without a fleet is the limiting case: one airframe, no transit, unlimited
endurance, no turnaround (tests/model/test_drones.py shows the two agree in distribution).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Generator
from dataclasses import dataclass

import simpy

from convoysim.model.coverage import RingOnRoad
from convoysim.model.streams import Substream


@dataclass(frozen=True)
class FleetPlan:
    """One base's fleet, compiled: its ring on the road, and its distance to each road km."""

    ring: RingOnRoad
    radius_km: float
    airframes: int
    cruise_kmh: float
    endurance_h: float
    turnaround_h: float
    unflyable_day_prob: float
    airframe_down_prob: float
    call_on_ambush: bool
    day_offset_h: float
    """Hours from midnight UTC to the model's time 0, to number days."""
    road_km: tuple[float, ...]
    distance_km: tuple[float, ...]
    """Great-circle distance from the base to the road at `road_km` points."""

    def distance_at(self, km: float) -> float:
        xs, ys = self.road_km, self.distance_km
        k = bisect_right(xs, km)
        if k == 0:
            return ys[0]
        if k == len(xs):
            return ys[-1]
        f = (km - xs[k - 1]) / (xs[k] - xs[k - 1])
        return ys[k - 1] + f * (ys[k] - ys[k - 1])

    def transit_h(self, km: float) -> float:
        return self.distance_at(km) / self.cruise_kmh if math.isfinite(self.cruise_kmh) else 0.0


class Airframe:
    __slots__ = ("cover", "fleet", "base", "name", "process", "on_station", "due", "outbound", "leaves_h")

    def __init__(self, cover: "DroneCover", base: int, name: str):
        self.cover, self.base, self.name = cover, base, name
        self.fleet = cover.fleets[base]
        self.on_station = False
        self.outbound = False
        self.due = math.inf
        """When this airframe next arrives on station or leaves it."""
        self.leaves_h = -math.inf
        """When this airframe, on station or on its way, will leave the column (-inf: on the ground)."""
        self.process = cover.env.process(self.fly())

    def fly(self) -> Generator[simpy.Event, None, None]:
        cover, fleet, env = self.cover, self.fleet, self.cover.env
        ring = fleet.ring
        while not cover.done:
            now = env.now
            if now < ring.active_from_h:
                yield env.timeout(ring.active_from_h - now)
                continue
            if now >= ring.active_until_h:
                return
            if not cover.in_range[self.base]:
                yield cover.entered[self.base]
                continue
            if not cover.flyable(self, now):
                yield env.timeout(cover.next_day_h(fleet, now) - now)
                continue
            out = fleet.transit_h(cover.head_km)
            relief = cover.covered_until(self.base) - out
            if relief > now:  # another airframe covers the column: take off in time to relieve it
                yield env.timeout(relief - now)
                continue
            back = fleet.radius_km / fleet.cruise_kmh if math.isfinite(fleet.cruise_kmh) else 0.0
            self.leaves_h = now + fleet.endurance_h - back  # fuel for the way back from the edge of range
            cover.sorties += 1
            cover.note(f"{self.name} takes off")
            if out > 0.0:
                self.outbound, self.due = True, now + out
                yield env.timeout(out)
                self.outbound = False
            now = env.now
            station = min(self.leaves_h - now, ring.active_until_h - now)
            if cover.in_range[self.base] and station > 0.0 and not cover.done:
                self.on_station, self.due = True, now + station
                cover.arrive(now)
                cover.note(f"{self.name} on station over the column")
                try:
                    yield env.timeout(station)
                except simpy.Interrupt:
                    pass
                self.on_station, self.due = False, math.inf
                self.leaves_h = -math.inf
                cover.leave(env.now)
                cover.note(f"{self.name} leaves the column")
            self.due, self.leaves_h = math.inf, -math.inf
            home = fleet.transit_h(cover.head_km)
            if home + fleet.turnaround_h > 0.0:
                yield env.timeout(home + fleet.turnaround_h)


class DroneCover:
    """Every fleet of one replication and the cover they give the column."""

    def __init__(self, env: simpy.Environment, fleets: tuple[FleetPlan, ...], names: tuple[str, ...],
                 stream: Substream, trace: list[tuple[float, str]] | None):
        self.env, self.fleets, self.stream, self.trace = env, fleets, stream, trace
        self.head_km = 0.0
        self.in_range = [False] * len(fleets)
        self.entered = [env.event() for _ in fleets]
        self.on_station = 0
        self.cover_h = 0.0
        self.sorties = 0
        self._since = 0.0
        self._days: dict[tuple[int, int], bool] = {}
        self.done = False
        self.airframes = [Airframe(self, b, f"drone {names[b]}-{a + 1}")
                          for b, fleet in enumerate(fleets) for a in range(fleet.airframes)]

    @property
    def covered(self) -> bool:
        return self.on_station > 0

    def note(self, text: str) -> None:
        if self.trace is not None:
            self.trace.append((self.env.now, text))

    def arrive(self, now: float) -> None:
        if self.on_station == 0:
            self._since = now
        self.on_station += 1

    def leave(self, now: float) -> None:
        self.on_station -= 1
        if self.on_station == 0:
            self.cover_h += now - self._since

    def covered_hours_until(self, t: float) -> float:
        """Hours covered from the start to t (t not before the last change)."""
        return self.cover_h + (max(0.0, t - self._since) if self.on_station else 0.0)

    def covered_until(self, base: int) -> float:
        """When the last airframe of `base` now on station or on its way will leave the column."""
        return max((a.leaves_h for a in self.airframes if a.base == base), default=-math.inf)

    def next_change_h(self) -> float:
        return min((a.due for a in self.airframes), default=math.inf)

    def next_arrival_h(self, base_in_range_only: bool = True) -> float:
        """When the next drone already flying to the column arrives on station (inf: none is)."""
        return min((a.due for a in self.airframes if a.outbound and a.fleet.call_on_ambush), default=math.inf)

    def column_at(self, km: float) -> bool:
        """The head is at `km`: wake or recall airframes whose range changed. True if any did."""
        self.head_km = km
        changed = False
        for b, fleet in enumerate(self.fleets):
            inside = fleet.ring.covers(km)
            if inside == self.in_range[b]:
                continue
            self.in_range[b] = inside
            changed = True
            if inside:
                entered = self.entered[b]
                self.entered[b] = self.env.event()
                entered.succeed()
            else:
                for a in self.airframes:
                    if a.base == b and a.on_station:
                        a.process.interrupt("out of range")
        return changed

    def stand_down(self) -> None:
        """The march is over: recall every drone on station and fly no more sorties."""
        self.done = True
        for a in self.airframes:
            if a.on_station:
                a.process.interrupt("march over")

    def flyable(self, airframe: Airframe, now: float) -> bool:
        fleet = airframe.fleet
        day = int((now + fleet.day_offset_h) // 24.0)
        if fleet.unflyable_day_prob > 0.0:
            key = (airframe.base, day)
            if key not in self._days:
                self._days[key] = self.stream.uniform() >= fleet.unflyable_day_prob
            if not self._days[key]:
                return False
        if fleet.airframe_down_prob > 0.0:
            key = (-1 - self.airframes.index(airframe), day)
            if key not in self._days:
                self._days[key] = self.stream.uniform() >= fleet.airframe_down_prob
            if not self._days[key]:
                return False
        return True

    @staticmethod
    def next_day_h(fleet: FleetPlan, now: float) -> float:
        return (math.floor((now + fleet.day_offset_h) / 24.0) + 1) * 24.0 - fleet.day_offset_h
