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

from convoysim.model.plan import Leg, Plan
from convoysim.model.record import ACTIVITIES, ReplicationRecord
from convoysim.model.road import BREAKDOWN, IED_FOUND, RoadIncidents, draw_road_incidents
from convoysim.model.streams import ReplicationStreams

MOVING, NIGHT_HALT, SCHEDULED_HALT, OPERATIONAL_PAUSE, INCIDENT_DELAY, ENGAGEMENT = range(len(ACTIVITIES))
_ACTIVITY_INDEX = {name: k for k, name in enumerate(ACTIVITIES)}

_ARRIVE, _INCIDENT, _RING_EDGE, _WINDOW, _BASE_CHANGE, _AMBUSH = range(6)


class ColumnDestroyed(Exception):
    """The column fell below its minimum vehicle count and stops where it is."""


class ColumnMarch:
    """State and behaviour of one column in one replication."""

    def __init__(self, env: simpy.Environment, plan: Plan, streams: ReplicationStreams, road: RoadIncidents,
                 record: ReplicationRecord):
        self.env, self.plan, self.streams, self.road, self.rec = env, plan, streams, road, record
        self.km = 0.0
        self.speed = 0.0
        self.vehicles = plan.vehicles
        self.hours = [0.0] * len(ACTIVITIES)
        self.cover_h = 0.0
        self.events = 0
        self.ambush_left = self._exposure_threshold(streams.ambush)
        self.harass_left = self._exposure_threshold(streams.harassment)
        self.next_incident = 0
        self.trace = record.trace
        self.track = record.track
        self._last: tuple[int, float, float, float, float, float] | None = None

    @staticmethod
    def _exposure_threshold(stream) -> float:
        """Unit-exponential hazard to accumulate before the next event of a hazard process."""
        return -math.log1p(-stream.uniform())

    # -- bookkeeping -------------------------------------------------------------------------

    def _note(self, text: str) -> None:
        if self.trace is not None:
            self.trace.append((self.env.now, text))

    def spend(self, dt: float, activity: int, covered_h: float, now: float, speed: float = 0.0) -> simpy.Timeout:
        """Book `dt` hours from `now` to an activity and return the timeout that lets them pass."""
        self.hours[activity] += dt
        self.cover_h += covered_h
        self.events += 1
        self._last = (activity, now, dt, covered_h, self.km, speed)
        if self.track is not None:
            self.track.append((now, self.km))
        return self.env.timeout(dt)

    def halt(self, dt: float, activity: int) -> simpy.Timeout:
        """A stop in place; drone cover may start or end during it."""
        now = self.env.now
        coverage = self.plan.coverage
        covered_h = coverage.covered_hours(self.km, now, now + dt) if coverage.rings else 0.0
        return self.spend(dt, activity, covered_h, now)

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
        if rec.end_reason == "horizon" and self._last is not None:
            activity, t0, dt, covered_h, km0, speed = self._last
            kept = min(dt, max(0.0, horizon_h - t0))
            if kept < dt:
                self.hours[activity] -= dt - kept
                self.cover_h -= covered_h - covered_h * kept / dt
            self.km = km0 + speed * kept
            rec.end_h = horizon_h
            rec.end_km = self.km
            if self.track is not None:
                self.track.append((horizon_h, self.km))
        rec.vehicles_end = self.vehicles
        rec.hours = dict(zip(ACTIVITIES, self.hours))
        rec.drone_cover_h = self.cover_h
        rec.events = self.events

    # -- the march ---------------------------------------------------------------------------

    def run(self) -> Generator[simpy.Event, None, None]:
        plan, rec = self.plan, self.rec
        try:
            yield from self.stops_at(0)
            for leg in plan.legs:
                yield from self.travel(leg)
                i = leg.index + 1
                rec.arrival_h[i] = self.env.now
                if self.trace is not None:
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
            yield self.halt(length_km / self.speed, MOVING)
        for stop in stops:
            if stop.until_h is None:
                wait = stop.duration_h.draw(self.streams.halts)  # type: ignore[union-attr]
            else:
                wait = max(0.0, stop.until_h - self.env.now)
            if wait > 0:
                if self.trace is not None:
                    what = stop.reason or stop.activity.replace("_", " ")
                    self._note(f"halts at {self.plan.names[i]} for {wait:.1f} h: {what}")
                yield self.halt(wait, _ACTIVITY_INDEX[stop.activity])

    def travel(self, leg: Leg) -> Generator[simpy.Event, None, None]:
        env, plan, rec = self.env, self.plan, self.rec
        march, coverage = plan.march, plan.coverage
        rings = bool(coverage.rings)
        bases_change = rings and not coverage.always_active
        road_km = self.road.km
        n_road = len(road_km)
        end_km = leg.end_km
        hazard = leg.ambush_per_h
        hazard_in_ring = hazard * plan.drone_hazard_factor
        self.speed = speed = plan.speed_kmh.draw(self.streams.speed) * leg.speed_factor
        departed = False
        while True:
            now = env.now
            is_open, until = march.state(now)
            if not is_open:
                yield from self.night_halt(until, leg)
                continue
            if not departed:
                rec.departure_h[leg.index] = now
                departed = True
            km = self.km
            target, what = end_km, _ARRIVE
            j = self.next_incident
            if j < n_road and road_km[j] <= target:
                target, what = road_km[j], _INCIDENT
            covered = False
            if rings:
                edge = coverage.next_boundary_km(km)
                if edge < target:
                    target, what = edge, _RING_EDGE
            dt = (target - km) / speed
            if until < dt:
                dt, what = until, _WINDOW
            if bases_change:
                change = coverage.next_change_h(now) - now
                if change < dt:
                    dt, what = change, _BASE_CHANGE
                covered = coverage.covered(0.5 * (km + target), now)
            elif rings:
                covered = coverage.covered_by_any(0.5 * (km + target))
            rate = hazard_in_ring if covered else hazard
            if rate > 0.0 and self.ambush_left < rate * dt:
                dt, what = self.ambush_left / rate, _AMBUSH
            yield self.spend(dt, MOVING, dt if covered else 0.0, now, speed)
            self.ambush_left -= rate * dt
            self.km = target if what <= _RING_EDGE else km + speed * dt
            if what == _ARRIVE:
                return
            if what == _INCIDENT:
                self.next_incident = j + 1
                yield from self.road_incident(j)
            elif what == _AMBUSH:
                yield from self.ambush(covered)

    def night_halt(self, wait: float, leg: Leg) -> Generator[simpy.Event, None, None]:
        """Halt outside the march window; on a contested leg the halt may be harassed."""
        plan, rec = self.plan, self.rec
        if self.trace is not None:
            self._note(f"night halt at km {self.km:.0f} for {wait:.1f} h")
        delay = 0.0
        harassment = plan.harassment
        if leg.contested and harassment.per_night > 0 and plan.night.hours_per_day > 0:
            now = self.env.now
            exposure = harassment.per_night * plan.night.overlap(now, now + wait) / plan.night.hours_per_day
            stream = self.streams.harassment
            while self.harass_left <= exposure:
                exposure -= self.harass_left
                self.harass_left = self._exposure_threshold(stream)
                rec.harassments += 1
                lost = self.lose(int(harassment.vehicles_lost.draw(stream)), "harassment")
                delay += harassment.delay_h.draw(stream)
                self.incident("harassment", lost)
                self._note(f"the halt is harassed during the night: {lost} vehicles lost")
            self.harass_left -= exposure
        yield self.halt(wait, NIGHT_HALT)
        self.check_strength()
        if delay > 0:
            self._note(f"harassment delays the morning start by {delay:.1f} h")
            yield self.halt(delay, INCIDENT_DELAY)

    def road_incident(self, j: int) -> Generator[simpy.Event, None, None]:
        road, rec = self.road, self.rec
        kind, delay = road.kind[j], road.delay_h[j]
        if kind == BREAKDOWN:
            if road.accept[j] * self.plan.vehicles >= self.vehicles:
                return
            rec.breakdowns += 1
            abandoned = delay > self.plan.abandon_after_h
            self.incident("breakdown", int(abandoned))
            if abandoned:
                delay = self.plan.abandon_after_h
                self.lose(1, "breakdown")
                self._note(f"a vehicle breaks down at km {self.km:.0f} and is abandoned after {delay:.1f} h")
            elif self.trace is not None:
                self._note(f"a vehicle breaks down at km {self.km:.0f}; repaired in {delay:.1f} h")
        elif kind == IED_FOUND:
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
            yield self.halt(delay, INCIDENT_DELAY)

    def ambush(self, covered: bool) -> Generator[simpy.Event, None, None]:
        plan, rec, ambush = self.plan, self.rec, self.plan.ambush
        stream = self.streams.ambush
        self.ambush_left = self._exposure_threshold(stream)
        rec.ambushes += 1
        duration = ambush.engagement_h.draw(stream) * (plan.drone_engagement_factor if covered else 1.0)
        lost = self.lose(int(ambush.vehicles_lost.draw(stream)), "ambush")
        regroup = stream.uniform() < ambush.halt_prob
        regroup_h = ambush.regroup_h.draw(stream)
        self.incident("ambush", lost)
        cover = "under drone cover" if covered else "without drone cover"
        self._note(f"ambush at km {self.km:.0f} ({cover}): {duration:.1f} h of fighting, {lost} vehicles lost")
        if duration > 0:
            yield self.halt(duration, ENGAGEMENT)
        self.check_strength()
        if regroup and regroup_h > 0:
            self._note(f"the column halts {regroup_h:.1f} h to regroup")
            yield self.halt(regroup_h, INCIDENT_DELAY)


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


def march_replication(plan: Plan, rng: np.random.Generator, replication: int = 0,
                      trace: bool = False, track: bool = False, env: simpy.Environment | None = None) -> ReplicationRecord:
    """Run one replication's clock until the column arrives, stops, or the horizon passes.

    `env` (a fresh environment; default simpy.Environment()) lets a class watch the event list.
    """
    streams = ReplicationStreams(rng)
    road = draw_road_incidents(plan, streams)
    env = env if env is not None else simpy.Environment()
    record = new_record(plan, replication, trace, track)
    column = ColumnMarch(env, plan, streams, road, record)
    env.process(column.run())
    env.run(until=plan.horizon_h)
    column.finish(plan.horizon_h)
    return record
