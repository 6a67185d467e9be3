"""The column's march: the lead march unit as a SimPy process, the others following it.

The lead unit's process (`ColumnMarch.run`) decides everything the column does as one: it moves
leg by leg in segments that end at the next thing that can change what happens (`horizons`: the
next waypoint, a road incident, the edge of a drone ring, the end of the march window, a change of
drone cover or of the threat, a rest halt, or the moment an ambush happens), halts, fights
(`incidents`), and waits for the recovery of its own vehicles. Every other march unit is a
`units.Follower` process on the path published by the unit ahead, so a breakdown in the third unit
holds up the third unit and those behind it, not the head. Vehicles have identities and fates
(`vehicles.Fleet`); recovery is a SimPy Resource (`recovery.RecoveryService`); drone cover is a
`cover.Cover`; every hour is booked once in the `ledger.Ledger`.

Clock: hours since the scenario's start. Distances: km of road from the first waypoint.
"""

from __future__ import annotations

import math
from collections.abc import Generator

import numpy as np
import simpy

from convoysim.model.column import Column, ColumnDestroyed
from convoysim.model.horizons import Horizon, ambush_rate, in_time, incident_km, on_road, threat_change_h
from convoysim.model.incidents import ambush, harassed_night, road_incident
from convoysim.model.plan import Leg, Plan
from convoysim.model.record import ACTIVITIES, Activity, ReplicationRecord
from convoysim.model.road import RoadIncidents, draw_road_incidents
from convoysim.model.streams import Number, NumbersByKey, ReplicationStreams, name_key
from convoysim.model.units import clamp, passage_time
from convoysim.model.vehicles import VehicleState

LEFT_START_KM = 1e-9
"""A unit whose head is this far past the start has left it (the trace's 'leaves' line)."""

HALTS_PER_ROW = 4
"""Halts of a waypoint whose numbers come in the route's table (more from the waypoint's own generator)."""
DRIVE_IN_MARGIN_KM = 1e-3
"""How far past the tail's length the head drives into the destination, so that every unit's
tail surely reaches it despite rounding."""


class ColumnMarch(Column):
    """The lead march unit of one replication: its SimPy process (`run`) and the halts it takes."""

    def __init__(
        self,
        env: simpy.Environment,
        plan: Plan,
        streams: ReplicationStreams,
        road: RoadIncidents,
        record: ReplicationRecord,
    ):
        super().__init__(env, plan, streams, road, record)
        self.route_numbers = NumbersByKey(streams, "route", len(plan.names), 1 + HALTS_PER_ROW)
        """Row i: the speed of leg i (from waypoint i), then the j-th halt at waypoint i: a leg's speed
        and a halt's length are theirs whatever the plan changes elsewhere (docs/streams.md)."""
        self.event_h = self._event_times()
        self.rest_in_h = plan.rest_halts.first_after_h if plan.rest_halts else math.inf
        """Hours of movement left before the next rest halt; reset by every night halt."""
        self.rests_today = 0
        self.next_incident = 0
        """Index of the next road incident the head meets."""
        self.next_incident_km = incident_km(road.km, 0)
        """Its road km (inf: none is left)."""

    def _event_times(self) -> list[float]:
        """This replication's date of every external event, in model hours; each event's delay draws
        its own number, keyed by its name."""
        times: list[float] = []
        for e in self.plan.events:
            anchor = e.not_before_h if e.after is None else times[e.after]
            number = Number(self.streams.few("events", name_key(e.name))[0])
            times.append(anchor + 24.0 * e.delay_days.draw(number))  # type: ignore[operator]
        return times

    # -- the march ---------------------------------------------------------------------------

    def run(self) -> Generator[simpy.Event, None, None]:
        """The lead unit's SimPy process: the whole march, waypoint by waypoint.

        At each waypoint it takes the halts planned there (`stops_at`), then drives the next leg
        (`travel`). Everything it waits on is a timeout of known length (driving, halts, fights)
        or an event of unknown length (a recovery of one of its vehicles). It ends when the head
        arrives (then it drives on into the destination so the units behind can arrive too) or
        the column is too weak to go on; the horizon may stop the clock before either."""
        plan, rec = self.plan, self.rec
        try:
            yield from self.stops_at(0)
            for leg in plan.legs:
                yield from self.travel(leg)
                i = leg.index + 1
                rec.arrival_h[i] = self.env.now
                if self.trace is not None:
                    self.note(f"head arrives at {plan.names[i]} (km {plan.road_km[i]:.0f}), {self.vehicles} vehicles")
                if i < len(plan.legs):
                    yield from self.stops_at(i)
            rec.end_reason = "arrived"
            self.drive_in()
        except ColumnDestroyed:
            rec.end_reason = "combat_ineffective"
        rec.end_h = self.env.now
        rec.end_km = self.km
        self.cover.stand_down()
        if not rec.arrived:
            self.path.add(self.env.now, self.km)
        self.path.finish()

    def travel(self, leg: Leg) -> Generator[simpy.Event, None, None]:
        """Drive one leg to its end, segment by segment.

        Each segment ends at the nearest horizon (`horizons.on_road`, then `horizons.in_time`);
        the process waits (a timeout) for the segment's hours to pass, then handles what ended
        it: a road incident, an ambush or a rest halt. Outside the march window it halts for the
        night instead."""
        env, plan, cover, ledger = self.env, self.plan, self.cover, self.ledger
        drawn_kmh = plan.speed_kmh.draw(self.route_numbers.number(leg.index, 0))
        self.speed = speed = min(drawn_kmh * leg.speed_factor, leg.pace_kmh)
        moving = Activity.MOVING
        departed = False
        while True:
            now = env.now
            is_open, window_h = plan.march.state(now)
            if not is_open:
                yield from self.night_halt(window_h, leg)
                continue
            if not departed:
                self.rec.departure_h[leg.index] = now
                departed = True
            km = self.km
            at_km, road = on_road(leg.end_km, self.next_incident_km, cover.edge_ahead_km(km))
            ahead = cover.over(0.5 * (km + at_km), now)
            if ahead is None:  # the head entered or left a base's range: its airframes react first
                yield ledger.instant()
                continue
            covered, change_h = ahead
            rate = ambush_rate(leg.ambush_per_h, plan.ambush_by_date, now, covered, plan.drone_hazard_factor)
            dt, what = in_time(
                (at_km - km) / speed,
                road,
                window_h,
                change_h - now,
                threat_change_h(leg.ambush_per_h, plan.ambush_by_date, now),
                self.rest_in_h,
                self.ambush_left,
                rate,
            )
            yield ledger.move(dt, moving, km, speed, covered)
            self.ambush_left -= rate * dt
            self.rest_in_h -= dt
            self.km = at_km if what == road else km + speed * dt  # a place on the road: exactly there
            if what == Horizon.WAYPOINT:
                return
            if what == Horizon.INCIDENT:
                yield from self.meet_incident()
            elif what == Horizon.AMBUSH:
                yield from ambush(self, covered)
            elif what == Horizon.REST:
                yield from self.rest_halt()  # the other horizons only start a new segment

    def meet_incident(self) -> Generator[simpy.Event, None, None]:
        """The head has reached the next road incident (`incidents.road_incident`)."""
        j = self.next_incident
        self.next_incident = j + 1
        self.next_incident_km = incident_km(self.road.km, j + 1)
        yield from road_incident(self, j)

    def drive_in(self) -> None:
        """The head drives on into the destination (a virtual stretch of road past its end) so that
        every unit behind can reach it too."""
        units = self.plan.roster.units
        extra_km = sum(u.length_km for u in units) + DRIVE_IN_MARGIN_KM
        now = self.env.now
        self.path.add(now, self.km)
        self.path.add(now + extra_km / self.speed, self.km + extra_km)

    # -- halts -------------------------------------------------------------------------------

    def stops_at(self, i: int) -> Generator[simpy.Event, None, None]:
        """Close up the column, then take the waypoint's halts, pauses and holds in turn.

        Each is a timeout; a hold lasts until its external event's date plus a delay."""
        stops = self.plan.stops[i]
        if not stops:
            return
        lead = self._lead_unit_vehicles()
        if i > 0 and lead > 1 and self.plan.interval_km > 0:
            length_km = (lead - 1) * self.plan.interval_km
            yield self.halt(length_km / self.speed, Activity.MOVING)
        for j, stop in enumerate(stops):
            wait = self._stop_hours(i, stop, self.route_numbers.number(i, 1 + j))
            if wait > 0:
                if self.trace is not None:
                    what = stop.reason or stop.activity.replace("_", " ")
                    self.note(f"halts at {self.plan.names[i]} for {wait:.1f} h: {what}")
                yield self.halt(wait, Activity[stop.activity.upper()])

    def _stop_hours(self, i: int, stop, number: Number) -> float:
        """How long a planned stop at waypoint i lasts from now (`number`: the stop's own)."""
        if stop.after is not None:
            ends = self.event_h[stop.after] + stop.duration_h.draw(number)  # type: ignore[union-attr]
            if self.trace is not None:
                self.note(
                    f"waits at {self.plan.names[i]} for {self.plan.events[stop.after].name.replace('_', ' ')}"
                    f" (in this replication at {self.event_h[stop.after]:.0f} h) and "
                    f"{ends - self.event_h[stop.after]:.0f} h more"
                )
            return max(0.0, ends - self.env.now)
        if stop.until_h is None:
            return stop.duration_h.draw(number)  # type: ignore[union-attr]
        return max(0.0, stop.until_h - self.env.now)

    def _lead_unit_vehicles(self) -> int:
        """Vehicles of the lead unit still moving with it (the column closes up behind them)."""
        unit = self.plan.roster.units[0]
        state, moving = self.fleet.state, VehicleState.MOVING
        return sum(1 for v in range(unit.first, unit.first + unit.count) if state[v] == moving)

    def rest_halt(self) -> Generator[simpy.Event, None, None]:
        """A short halt while marching (a timeout): the first of the day after its first hour, then at a set rhythm."""
        rest = self.plan.rest_halts
        minutes = rest.first_min if self.rests_today == 0 else rest.each_min  # type: ignore[union-attr]
        self.rests_today += 1
        self.rest_in_h = rest.every_h  # type: ignore[union-attr]
        if minutes > 0:
            yield self.halt(minutes / 60.0, Activity.SCHEDULED_HALT)

    def night_halt(self, wait: float, leg: Leg) -> Generator[simpy.Event, None, None]:
        """Halt (a timeout) until the march window opens again.

        On a contested leg the night may be harassed (`incidents.harassed_night`), which delays
        the morning start."""
        plan = self.plan
        if plan.rest_halts is not None:
            self.rest_in_h, self.rests_today = plan.rest_halts.first_after_h, 0
        if self.trace is not None:
            self.note(f"night halt at km {self.km:.0f} for {wait:.1f} h")
        delay = harassed_night(self, wait, leg)
        yield self.halt(wait, Activity.NIGHT_HALT)
        self.check_strength()
        if delay > 0:
            if self.trace is not None:
                self.note(f"harassment delays the morning start by {delay:.1f} h")
            yield self.halt(delay, Activity.INCIDENT_DELAY)

    # -- the end -----------------------------------------------------------------------------

    def finish(self, horizon_h: float) -> None:
        """Close the record; a booking that runs past the horizon is cut back to it."""
        rec = self.rec
        if rec.end_reason == "horizon":
            km = self.ledger.close(horizon_h)
            if km is not None:
                self.km = km
                rec.end_h = horizon_h
                rec.end_km = km
        rec.vehicles_end = self.vehicles
        rec.hours = dict(zip(ACTIVITIES, self.ledger.hours))
        rec.drone_cover_h = self.cover.hours_until(min(rec.end_h, horizon_h))
        rec.sorties = self.cover.sorties
        rec.events = self.ledger.events


def new_record(plan: Plan, replication: int, trace: bool = False, track: bool = False) -> ReplicationRecord:
    """An empty record for one replication of the plan (arrival at the start at 0 h)."""
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


def march_replication(
    plan: Plan,
    rng: np.random.Generator,
    replication: int = 0,
    trace: bool = False,
    track: bool = False,
    env: simpy.Environment | None = None,
) -> ReplicationRecord:
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
    close_units(column, record, plan)
    return record


def close_units(column: ColumnMarch, rec: ReplicationRecord, plan: Plan) -> None:
    """Per-unit results: tail arrival, hours held, vehicle fates, and (when tracking) head and tail paths."""
    total = plan.total_km
    end_h = rec.end_h
    last = column.followers[-1].path if column.followers else column.path
    last_unit = plan.roster.units[-1]
    rec.tail_arrival_h = passage_time(last.t, last.km, total + last_unit.length_km) if rec.arrived else math.nan
    rec.units_held_h = sum(f.held_h for f in column.followers)
    rec.fates = fates = column.fleet.fates
    lost = rec.lost
    for _, fate, cause, _, _ in fates:
        if (fate == "destroyed" or fate == "abandoned") and cause in lost:
            lost[cause] += 1
    rec.left_behind = column.fleet.state.count(VehicleState.LEFT_BEHIND)
    rec.recovery_wait_h = sum(column.recovery.waits_h)
    rec.people_start = plan.roster.people_total
    if rec.trace is not None:
        for u, unit in enumerate(plan.roster.units[1:], start=1):
            path = column.followers[u - 1].path
            left = passage_time(path.t, path.km, LEFT_START_KM)
            if left == left and left <= end_h:
                rec.trace.append((left, f"{unit.name} ({unit.count} vehicles) leaves {plan.names[0]}"))
            there = passage_time(path.t, path.km, total)
            if there == there and there <= plan.horizon_h:
                rec.trace.append((there, f"{unit.name} reaches {plan.names[-1]}"))
        rec.trace.sort(key=lambda item: item[0])
    if rec.track is not None:
        paths = [column.path] + [f.path for f in column.followers]
        cut = plan.horizon_h
        for u, (unit, path) in enumerate(zip(plan.roster.units, paths)):
            for t, km in zip(path.t, path.km):
                if t > cut:
                    km = path.at(cut)
                    rec.units.append((u, cut, clamp(km, total), clamp(km - unit.length_km, total)))
                    break
                rec.units.append((u, t, clamp(km, total), clamp(km - unit.length_km, total)))
        rec.track.extend((t, head) for u, t, head, _ in rec.units if u == 0)
