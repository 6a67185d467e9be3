"""The column's march as one SimPy process.

The column is modelled as a single body whose state holds its vehicle count; its length is that
count times the vehicle interval, so every loss shortens it and the time the tail needs to close
up at a halt. Each vehicle fails on its own (breakdowns are drawn per vehicle-kilometre). The head
moves leg by leg in segments that end at the next thing that can change what happens: the next
waypoint, a road incident, the edge of a drone ring, a base starting or stopping, the end of the
march window, or the moment the accumulated ambush hazard triggers an ambush.

Clock: hours since the scenario's start. Distances: km of road from the first waypoint.
"""

from __future__ import annotations

import math
from collections.abc import Generator

import numpy as np
import simpy

from convoysim.model.draws import (
    ROAD_BREAKDOWN,
    ROAD_IED_FOUND,
    Draws,
    HazardDraws,
    draw_ambushes,
    draw_harassments,
)
from convoysim.model.plan import Leg, Plan
from convoysim.model.record import ReplicationRecord
from convoysim.timewindows import EPS_H

_ARRIVE, _INCIDENT, _RING_EDGE, _WINDOW, _BASE_CHANGE, _AMBUSH = range(6)


class ColumnDestroyed(Exception):
    """The column fell below its minimum vehicle count and stops where it is."""


class ColumnMarch:
    """State and behaviour of one column in one replication."""

    def __init__(self, env: simpy.Environment, plan: Plan, draws: Draws, rng: np.random.Generator,
                 record: ReplicationRecord):
        self.env, self.plan, self.draws, self.rng, self.rec = env, plan, draws, rng, record
        self.km = 0.0
        self.speed = 0.0
        self.vehicles = plan.vehicles
        self.n_ambush = 0
        self.ambush_left = draws.ambush.threshold[0]
        self.n_harass = 0
        self.harass_left = draws.harassment.threshold[0]
        self.next_incident = 0
        self.trace = record.trace
        self.track = record.track
        self._last: tuple[str, float, float, float, float, float] | None = None

    # -- bookkeeping -------------------------------------------------------------------------

    def _note(self, text: str) -> None:
        if self.trace is not None:
            self.trace.append((self.env.now, text))

    def spend(self, dt: float, activity: str, covered_h: float, speed: float = 0.0) -> simpy.Timeout:
        """Book `dt` hours to an activity and return the timeout that lets them pass."""
        rec = self.rec
        rec.hours[activity] += dt
        rec.drone_cover_h += covered_h
        rec.events += 1
        self._last = (activity, self.env.now, dt, covered_h, self.km, speed)
        if self.track is not None:
            self.track.append((self.env.now, self.km))
        return self.env.timeout(dt)

    def halt(self, dt: float, activity: str) -> simpy.Timeout:
        """A stop in place; drone cover may start or end during it."""
        now = self.env.now
        return self.spend(dt, activity, self.plan.coverage.covered_hours(self.km, now, now + dt))

    def lose(self, n: int, cause: str) -> int:
        n = min(n, self.vehicles)
        self.vehicles -= n
        self.rec.lost[cause] += n
        return n

    def incident(self, kind: str, lost: int) -> None:
        self.rec.incidents.append((kind, self.env.now, self.km, lost))

    def check_strength(self) -> None:
        if self.vehicles < self.plan.min_vehicles:
            self._note(f"only {self.vehicles} vehicles left, below the minimum of {self.plan.min_vehicles}: the column stops")
            raise ColumnDestroyed

    def finish(self, horizon_h: float) -> None:
        """Close the record; a booking that runs past the horizon is cut back to it."""
        rec = self.rec
        rec.vehicles_end = self.vehicles
        if rec.end_reason != "horizon" or self._last is None:
            return
        activity, t0, dt, covered_h, km0, speed = self._last
        kept = min(dt, max(0.0, horizon_h - t0))
        if kept < dt:
            rec.hours[activity] -= dt - kept
            rec.drone_cover_h -= covered_h - covered_h * kept / dt
        self.km = km0 + speed * kept
        rec.end_h = horizon_h
        rec.end_km = self.km
        if self.track is not None:
            self.track.append((horizon_h, self.km))

    # -- the march ---------------------------------------------------------------------------

    def run(self) -> Generator[simpy.Event, None, None]:
        plan, rec = self.plan, self.rec
        try:
            yield from self.stops_at(0)
            for leg in plan.legs:
                yield from self.travel(leg)
                i = leg.index + 1
                rec.arrival_h[i] = self.env.now
                self._note(f"head arrives at {plan.names[i]} (km {plan.road_km[i]:.0f}), {self.vehicles} vehicles")
                if i < len(plan.legs):
                    yield from self.stops_at(i)
            rec.end_reason = "arrived"
        except ColumnDestroyed:
            rec.end_reason = "combat_ineffective"
        rec.end_h = self.env.now
        rec.end_km = self.km
        if self.track is not None:
            self.track.append((self.env.now, self.km))

    def stops_at(self, i: int) -> Generator[simpy.Event, None, None]:
        """Close up the column, then take the waypoint's halts, pauses and holds in turn."""
        stops = self.plan.stops[i]
        if not stops:
            return
        if i > 0 and self.vehicles > 1 and self.plan.interval_km > 0:
            length_km = (self.vehicles - 1) * self.plan.interval_km
            yield self.halt(length_km / self.speed, "moving")
        for stop, duration in zip(stops, self.draws.stop_h[i]):
            wait = duration if stop.until_h is None else max(0.0, stop.until_h - self.env.now)
            if wait > 0:
                what = stop.reason or stop.activity.replace("_", " ")
                self._note(f"halts at {self.plan.names[i]} for {wait:.1f} h: {what}")
                yield self.halt(wait, stop.activity)

    def travel(self, leg: Leg) -> Generator[simpy.Event, None, None]:
        env, plan, rec, coverage = self.env, self.plan, self.rec, self.plan.coverage
        road = self.draws.road
        self.speed = speed = self.draws.leg_speed_kmh[leg.index]
        departed = False
        while True:
            wait = plan.march.until_open(env.now)
            if wait > 0:
                yield from self.night_halt(wait, leg)
                continue
            if not departed:
                rec.departure_h[leg.index] = env.now
                departed = True
            km = self.km
            target, what = leg.end_km, _ARRIVE
            j = self.next_incident
            if j < len(road.km) and road.km[j] <= target:
                target, what = road.km[j], _INCIDENT
            edge = coverage.next_boundary_km(km)
            if edge < target:
                target, what = edge, _RING_EDGE
            dt = (target - km) / speed
            close = plan.march.until_close(env.now)
            if close < dt:
                dt, what = close, _WINDOW
            change = coverage.next_change_h(env.now) - env.now
            if change < dt:
                dt, what = change, _BASE_CHANGE
            covered = coverage.covered(0.5 * (km + target), env.now)
            rate = leg.ambush_per_h * (plan.drone_hazard_factor if covered else 1.0)
            if rate > 0 and self.ambush_left < rate * dt:
                dt, what = self.ambush_left / rate, _AMBUSH
            yield self.spend(dt, "moving", dt if covered else 0.0, speed)
            self.ambush_left -= rate * dt
            self.km = target if what <= _RING_EDGE else km + speed * dt
            if what == _ARRIVE:
                return
            if what == _INCIDENT:
                self.next_incident += 1
                yield from self.road_incident(j)
            elif what == _AMBUSH:
                yield from self.ambush(covered)

    def night_halt(self, wait: float, leg: Leg) -> Generator[simpy.Event, None, None]:
        """Halt outside the march window; on a contested leg the halt may be harassed."""
        plan, rec = self.plan, self.rec
        now = self.env.now
        self._note(f"night halt at km {self.km:.0f} for {wait:.1f} h")
        delay = 0.0
        per_night = plan.harassment.per_night
        if leg.contested and per_night > 0 and plan.night.hours_per_day > 0:
            exposure = per_night * plan.night.overlap(now, now + wait) / plan.night.hours_per_day
            while self.harass_left <= exposure:
                exposure -= self.harass_left
                h = self._next(self.draws.harassment, self.n_harass, draw_harassments)
                self.n_harass += 1
                self.harass_left = self.draws.harassment.threshold[self.n_harass]
                rec.harassments += 1
                lost = self.lose(h.vehicles[self.n_harass - 1], "harassment")
                self.incident("harassment", lost)
                delay += h.duration_h[self.n_harass - 1]
                self._note(f"the halt is harassed during the night: {lost} vehicles lost")
            self.harass_left -= exposure
        yield self.halt(wait, "night_halt")
        self.check_strength()
        if delay > 0:
            self._note(f"harassment delays the morning start by {delay:.1f} h")
            yield self.halt(delay, "incident_delay")

    def _next(self, batch: HazardDraws, used: int, draw) -> HazardDraws:
        """The batch with room for one more event, extended from the run's own generator."""
        if used + 1 >= len(batch.threshold):
            more = draw(self.plan, self.rng)
            for name in ("threshold", "duration_h", "vehicles", "halt", "regroup_h"):
                getattr(batch, name).extend(getattr(more, name))
        return batch

    def road_incident(self, j: int) -> Generator[simpy.Event, None, None]:
        road, rec = self.draws.road, self.rec
        kind, delay = road.kind[j], road.delay_h[j]
        if kind == ROAD_BREAKDOWN:
            if road.accept[j] * self.plan.vehicles >= self.vehicles:
                return
            rec.breakdowns += 1
            abandoned = delay > self.plan.abandon_after_h
            self.incident("breakdown", int(abandoned))
            if abandoned:
                delay = self.plan.abandon_after_h
                self.lose(1, "breakdown")
                self._note(f"a vehicle breaks down at km {self.km:.0f} and is abandoned after {delay:.1f} h")
            else:
                self._note(f"a vehicle breaks down at km {self.km:.0f}; repaired in {delay:.1f} h")
        elif kind == ROAD_IED_FOUND:
            rec.ieds_found += 1
            self.incident("ied_found", 0)
            self._note(f"route clearance finds an IED at km {self.km:.0f}; {delay:.1f} h to clear it")
        else:
            rec.ied_strikes += 1
            lost = self.lose(road.vehicles[j], "ied")
            self.incident("ied_strike", lost)
            self._note(f"an IED strikes the column at km {self.km:.0f}: {lost} vehicles destroyed, {delay:.1f} h delay")
        self.check_strength()
        if delay > 0:
            yield self.halt(delay, "incident_delay")

    def ambush(self, covered: bool) -> Generator[simpy.Event, None, None]:
        plan, rec = self.plan, self.rec
        a = self._next(self.draws.ambush, self.n_ambush, draw_ambushes)
        k = self.n_ambush
        self.n_ambush += 1
        self.ambush_left = a.threshold[self.n_ambush]
        rec.ambushes += 1
        duration = a.duration_h[k] * (plan.drone_engagement_factor if covered else 1.0)
        lost = self.lose(a.vehicles[k], "ambush")
        self.incident("ambush", lost)
        cover = "under drone cover" if covered else "without drone cover"
        self._note(f"ambush at km {self.km:.0f} ({cover}): {duration:.1f} h of fighting, {lost} vehicles lost")
        if duration > 0:
            yield self.halt(duration, "engagement")
        self.check_strength()
        if a.halt[k] and a.regroup_h[k] > 0:
            self._note(f"the column halts {a.regroup_h[k]:.1f} h to regroup")
            yield self.halt(a.regroup_h[k], "incident_delay")


def new_record(plan: Plan, replication: int, trace: bool = False, track: bool = False) -> ReplicationRecord:
    n = len(plan.names)
    arrival = [math.nan] * n
    arrival[0] = 0.0
    return ReplicationRecord(
        replication=replication,
        waypoints=plan.names,
        vehicles_start=plan.vehicles,
        arrival_h=arrival,
        departure_h=[math.nan] * n,
        trace=[] if trace else None,
        track=[] if track else None,
    )


def march_replication(plan: Plan, draws: Draws, rng: np.random.Generator, replication: int = 0,
                      trace: bool = False, track: bool = False) -> ReplicationRecord:
    """Run one replication's clock until the column arrives, stops, or the horizon passes."""
    env = simpy.Environment()
    record = new_record(plan, replication, trace, track)
    column = ColumnMarch(env, plan, draws, rng, record)
    env.process(column.run())
    env.run(until=plan.horizon_h)
    column.finish(plan.horizon_h)
    return record
