"""Armed drones as a sortie process: each airframe of a base's fleet is a SimPy process.

An airframe on the ground waits until its base is active, the day is flyable, it is serviceable
that day and the column is inside the base's datalink radius; if another airframe of its base
covers the column, it waits to take off in time to relieve it on station (so a fleet keeps one
drone over the column at a time, as long as it can); then it takes off, transits to the
column head, stays on station while the column stays in range and its fuel allows the return,
flies back and turns around. The column is covered while at least one drone is on station.

`SortieCover` is the march's `cover.Cover` when bases have fleets. The march tells it where the
head is at every segment start (`over` -> `column_at`); entering a ring wakes the airframes
waiting for it, leaving it recalls those on station. The march ends its segments at
`next_change_h`, the next moment a drone arrives on station or leaves it, so the hazard it
integrates is exact. Airframes report to it (`took_off`, `arrive`, `leave`, `due_changed`); they
never write its counters.

The fixed ring of a base without a fleet is the limiting case: one airframe, no transit, unlimited
endurance, no turnaround (tests/model/test_drones.py shows the two agree in distribution).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Generator
from dataclasses import dataclass

import simpy

from convoysim.model.cover import Cover
from convoysim.model.coverage import Coverage, RingOnRoad
from convoysim.model.streams import NumbersByDay, ReplicationStreams

AIRFRAMES_PER_ROW = 7
"""Airframes of a base whose serviceability comes in the base's row of a day (more have their own)."""


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
    """Hours from 1 January 1970 00:00 UTC to the model's time 0: days are numbered by date, so a
    day's weather is the same in a plan that starts on another day."""
    key: int
    """The base's key for its numbers (from its name: `streams.name_key`)."""
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
    """One drone of a base's fleet; its sorties are a SimPy process (`fly`)."""

    __slots__ = (
        "cover",
        "fleet",
        "base",
        "name",
        "process",
        "on_station",
        "due",
        "outbound",
        "leaves_h",
        "day",
        "day_ok",
        "service",
        "_transit_km",
        "_transit_h",
    )

    def __init__(self, cover: "SortieCover", base: int, index: int, name: str):
        self.cover, self.base, self.name = cover, base, name
        self.fleet = cover.fleets[base]
        self.service = (
            (cover.days[base], 1 + index)
            if index < AIRFRAMES_PER_ROW
            else (NumbersByDay(cover.streams, "drone_days", (self.fleet.key, index), 1), 0)
        )
        """Where its serviceability is by day: a column of its base's days (numbers, column)."""
        self.on_station = False
        self.outbound = False
        self.due = math.inf
        """When this airframe next arrives on station or leaves it."""
        self.leaves_h = -math.inf
        """When this airframe, on station or on its way, will leave the column (-inf: on the ground)."""
        self.day: int | None = None
        self.day_ok = False
        """The last day `SortieCover.flyable` was asked about for this airframe, and its answer."""
        self._transit_km = math.nan
        self._transit_h = 0.0
        """The transit time to the head, for the head's km it was worked out at."""
        self.process = cover.env.process(self.fly())

    def fly(self) -> Generator[simpy.Event, None, None]:
        """The airframe's SimPy process: one sortie after another until the march is over.

        Between sorties it waits on the ground (`until_needed`); a sortie (`sortie`) flies out,
        stays over the column and flies home. It ends when its base stops flying for good."""
        while not self.cover.done:
            out_h = yield from self.until_needed()
            if out_h is None:
                return
            yield from self.sortie(out_h)

    def until_needed(self) -> Generator[simpy.Event, None, float | None]:
        """Wait on the ground until this airframe should take off.

        Returns its transit time out, None when its base has stopped flying for good or the
        march is over.

        It waits (a timeout) for its base to become active, on the event `entered` while the
        column is out of the base's range, (a timeout) for the next day when today is not
        flyable for it, and (a timeout) for the moment to relieve a drone of its base that covers
        the column now, so that the fleet keeps one drone over the column as long as it can."""
        cover, fleet, env, base = self.cover, self.fleet, self.cover.env, self.base
        active_from_h, active_until_h = fleet.ring.active_from_h, fleet.ring.active_until_h
        while not cover.done:
            now = env.now
            if now < active_from_h:
                yield env.timeout(active_from_h - now)
                continue
            if now >= active_until_h:
                return None
            if not cover.in_range[base]:
                yield cover.entered[base]
                continue
            if not cover.flyable(self, now):
                yield env.timeout(cover.next_day_h(fleet, now) - now)
                continue
            out = self.transit_h()
            relief = cover.covered_until(base) - out
            if relief > now:
                yield env.timeout(relief - now)
                continue
            return out
        return None

    def sortie(self, out_h: float) -> Generator[simpy.Event, None, None]:
        """Take off, fly `out_h` hours to the column, stay over it, fly home and turn around.

        It stays on station (a timeout) until its fuel only just allows the way back from the
        edge of range or its base stops flying; the march interrupts it earlier when the column
        leaves the base's range or the march ends."""
        cover, fleet, env = self.cover, self.fleet, self.cover.env
        now = env.now
        back = fleet.radius_km / fleet.cruise_kmh if math.isfinite(fleet.cruise_kmh) else 0.0
        self.leaves_h = now + fleet.endurance_h - back
        cover.took_off(self)
        if out_h > 0.0:
            self.outbound, self.due = True, now + out_h
            cover.due_changed()
            yield env.timeout(out_h)
            self.outbound = False
        now = env.now
        station = min(self.leaves_h - now, fleet.ring.active_until_h - now)
        if cover.in_range[self.base] and station > 0.0 and not cover.done:
            self.on_station, self.due = True, now + station
            cover.due_changed()
            cover.arrive(self, now)
            try:
                yield env.timeout(station)
            except simpy.Interrupt:
                pass
            self.on_station, self.due = False, math.inf
            self.leaves_h = -math.inf
            cover.leave(self, env.now)
        self.due, self.leaves_h = math.inf, -math.inf
        cover.due_changed()
        home = self.transit_h()
        if home + fleet.turnaround_h > 0.0:
            yield env.timeout(home + fleet.turnaround_h)

    def transit_h(self) -> float:
        """Hours to fly between the base and the column head (worked out again only when the head moved)."""
        km = self.cover.head_km
        if km != self._transit_km:
            self._transit_km = km
            self._transit_h = self.fleet.transit_h(km)
        return self._transit_h


class SortieCover(Cover):
    """Every fleet of one replication and the cover they give the column: a `Cover` whose column is
    covered while at least one drone is on station. The airframes keep the clock of hours covered
    (`arrive`, `leave`): a drone can arrive or leave during a halt."""

    def __init__(
        self,
        env: simpy.Environment,
        fleets: tuple[FleetPlan, ...],
        names: tuple[str, ...],
        streams: ReplicationStreams,
        trace: list[tuple[float, str]] | None,
        coverage: Coverage | None = None,
    ):
        super().__init__(coverage if coverage is not None else Coverage([fleet.ring for fleet in fleets]))
        self.env, self.fleets, self.streams, self.trace = env, fleets, streams, trace
        self.days = [NumbersByDay(streams, "drone_days", (fleet.key,), 1 + AIRFRAMES_PER_ROW) for fleet in fleets]
        """Each base's numbers by UTC day: its weather, then its first airframes' serviceability."""
        self.head_km = 0.0
        self.in_range = [False] * len(fleets)
        self.entered = [env.event() for _ in fleets]
        self.on_station = 0
        self.covered = False
        """Whether at least one drone is on station (kept by arrive and leave: the march reads it every segment)."""
        self.cover_h = 0.0
        self.sorties = 0
        self._since = 0.0
        self._base_day: list[int | None] = [None] * len(fleets)
        self._base_ok = [False] * len(fleets)
        """Per base, the last day asked about in `flyable` and whether it was flyable."""
        self.done = False
        self.next_due: float | None = math.inf
        """Cached `next_change_h`; None when an airframe's `due` changed since it was computed (`due_changed`)."""
        self.airframes = [
            Airframe(self, b, a, f"drone {names[b]}-{a + 1}")
            for b, fleet in enumerate(fleets)
            for a in range(fleet.airframes)
        ]
        self._fleet_of = [[a for a in self.airframes if a.base == b] for b in range(len(fleets))]
        """Each base's airframes, for `covered_until` (asked at every take-off decision)."""

    def note(self, text: str) -> None:
        """Add a line to the replication's trace, when one is kept."""
        if self.trace is not None:
            self.trace.append((self.env.now, text))

    def took_off(self, airframe: Airframe) -> None:
        """An airframe takes off: one more sortie."""
        self.sorties += 1
        if self.trace is not None:
            self.note(f"{airframe.name} takes off")

    def due_changed(self) -> None:
        """An airframe's `due` changed: `next_change_h` must look again."""
        self.next_due = None

    def arrive(self, airframe: Airframe, now: float) -> None:
        """A drone arrives on station: the column is covered from now on."""
        if self.on_station == 0:
            self._since = now
        self.on_station += 1
        self.covered = True
        if self.trace is not None:
            self.note(f"{airframe.name} on station over the column")

    def leave(self, airframe: Airframe, now: float) -> None:
        """A drone leaves the column: its cover ends with the last one's."""
        self.on_station -= 1
        if self.on_station == 0:
            self.cover_h += now - self._since
            self.covered = False
        if self.trace is not None:
            self.note(f"{airframe.name} leaves the column")

    # -- the Cover interface ---------------------------------------------------------------

    def over(self, km: float, now: float) -> tuple[bool, float] | None:
        if self.column_at(km):
            return None
        return self.covered, self.next_change_h()

    def moved(self, dt: float, covered: bool) -> float:
        return 0.0  # the airframes keep the clock (arrive, leave)

    def stood(self, km: float, t0: float, t1: float) -> float:
        return 0.0

    def take_back(self, hours: float) -> None:
        pass

    def hours_until(self, t: float) -> float:
        return self.covered_hours_until(t)

    def drone_arrives_in_h(self, now: float) -> float:
        return self.next_arrival_h() - now

    # -- what the airframes ask --------------------------------------------------------------

    def covered_hours_until(self, t: float) -> float:
        """Hours covered from the start to t (t not before the last change)."""
        return self.cover_h + (max(0.0, t - self._since) if self.on_station else 0.0)

    def covered_until(self, base: int) -> float:
        """When the last airframe of `base` now on station or on its way will leave the column."""
        until = -math.inf
        for a in self._fleet_of[base]:
            if a.leaves_h > until:
                until = a.leaves_h
        return until

    def next_change_h(self) -> float:
        """When the next drone arrives on station or leaves it (inf: none will).

        The march asks at every segment, airframes change their `due` a few times a sortie: the
        minimum is kept in `next_due` and recomputed only after a change (fly sets it to None)."""
        due = self.next_due
        if due is None:
            due = math.inf
            for a in self.airframes:
                if a.due < due:
                    due = a.due
            self.next_due = due
        return due

    def next_arrival_h(self) -> float:
        """When the next drone already flying to the column arrives on station (inf: none is)."""
        return min((a.due for a in self.airframes if a.outbound and a.fleet.call_on_ambush), default=math.inf)

    def column_at(self, km: float) -> bool:
        """The head is at `km`: wake or recall airframes whose range changed. True if any did."""
        self.head_km = km
        changed = False
        in_range = self.in_range
        for b, fleet in enumerate(self.fleets):
            inside = fleet.ring.covers(km)
            if inside == in_range[b]:
                continue
            in_range[b] = inside
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
        """Whether the airframe may fly on the day of `now`: its base's weather, then (if that allows)
        its own serviceability, each the day's own number (keyed by base or airframe and UTC day), so
        a day's answer is the same whenever, and whether, it is asked. The clock only runs forward,
        so the last day asked per base and per airframe is all that needs remembering."""
        fleet = airframe.fleet
        day = int((now + fleet.day_offset_h) // 24.0)
        if day == airframe.day:
            return airframe.day_ok
        ok = True
        if fleet.unflyable_day_prob > 0.0:
            b = airframe.base
            if self._base_day[b] != day:
                self._base_day[b] = day
                self._base_ok[b] = self.days[b].at(day, 0) >= fleet.unflyable_day_prob
            ok = self._base_ok[b]
        if ok and fleet.airframe_down_prob > 0.0:
            numbers, column = airframe.service
            ok = numbers.at(day, column) >= fleet.airframe_down_prob
        airframe.day, airframe.day_ok = day, ok
        return ok

    @staticmethod
    def next_day_h(fleet: FleetPlan, now: float) -> float:
        return (math.floor((now + fleet.day_offset_h) / 24.0) + 1) * 24.0 - fleet.day_offset_h


DroneCover = SortieCover
"""The name tests and older code use for the sortie fleets' cover."""
