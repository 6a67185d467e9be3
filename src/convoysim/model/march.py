"""The column's march: the lead march unit as a SimPy process, the others following it.

The lead unit's process decides everything the column does as one: it moves leg by leg in
segments that end at the next thing that can change what happens (the next waypoint, a road
incident, the edge of a drone ring, a base starting or stopping, the end of the march window, or
the moment the accumulated ambush hazard triggers an ambush), halts, fights, and waits for the
recovery of its own vehicles. Every other march unit is a `units.Follower` process on the path
published by the unit ahead, so a breakdown in the third unit holds up the third unit and those
behind it, not the head. Vehicles have identities and fates (`vehicles.Fleet`); recovery is a
SimPy Resource (`recovery.RecoveryService`).

Clock: hours since the scenario's start. Distances: km of road from the first waypoint.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Generator

import numpy as np
import simpy
from simpy.events import Timeout

from convoysim.model.drones import DroneCover
from convoysim.model.hits import HitResult, apply_hits, ied_targets, random_vehicles
from convoysim.model.plan import Leg, Plan
from convoysim.model.record import ACTIVITIES, ReplicationRecord
from convoysim.model.recovery import RecoveryService
from convoysim.model.road import BREAKDOWN, IED_FOUND, POSITION, RoadIncidents, draw_road_incidents
from convoysim.model.streams import ReplicationStreams
from convoysim.model.units import Follower, Hold, UnitPath, clamp, passage_time
from convoysim.model.vehicles import MOVING as VEHICLE_MOVING
from convoysim.model.vehicles import ABANDONED, DESTROYED, LEFT_BEHIND, Fleet

MOVING, NIGHT_HALT, SCHEDULED_HALT, OPERATIONAL_PAUSE, INCIDENT_DELAY, ENGAGEMENT = range(len(ACTIVITIES))
_ACTIVITY_INDEX = {name: k for k, name in enumerate(ACTIVITIES)}

_ARRIVE, _INCIDENT, _RING_EDGE, _WINDOW, _BASE_CHANGE, _AMBUSH, _REST = range(7)


class ColumnDestroyed(Exception):
    """The column fell below its minimum vehicle count and stops where it is."""


class ColumnMarch:
    """State and behaviour of one column in one replication."""

    def __init__(self, env: simpy.Environment, plan: Plan, streams: ReplicationStreams, road: RoadIncidents,
                 record: ReplicationRecord):
        self.env, self.plan, self.streams, self.road, self.rec = env, plan, streams, road, record
        self.km = 0.0
        self.speed = 0.0
        self.fleet = Fleet(plan.roster)
        self.recovery = RecoveryService(env, self.fleet, plan.recovery_section, plan.abandon_after_h,
                                        plan.after_limit == "leave_behind", record.trace)
        self.path = UnitPath(env)
        self.followers: list[Follower] = []
        ahead = self.path
        for unit in plan.roster.units[:-1]:
            follower = Follower(env, ahead, unit.length_km, plan.unit_gap_h, plan.catchup_factor)
            self.followers.append(follower)
            ahead = follower.path
        self.event_h = self._event_times()
        self.rest_in_h = plan.rest_halts.first_after_h if plan.rest_halts else math.inf
        """Hours of movement left before the next rest halt; reset by every night halt."""
        self.rests_today = 0
        self._waiting: tuple[int, float] | None = None
        self.lead_holds: list[simpy.Event | None] = []
        self.ring_cover = bool(plan.coverage.rings) and not plan.fleets
        """Cover by fixed rings (geometry alone); otherwise by the drones on station, if any."""
        self.drones = DroneCover(env, plan.fleets, plan.fleet_names, streams.drones, record.trace) if plan.fleets else None
        self.hours = [0.0] * len(ACTIVITIES)
        self.cover_h = 0.0
        self.events = 0
        self.ambush_left = self._exposure_threshold(streams.ambush)
        self.harass_left = self._exposure_threshold(streams.harassment)
        self.next_incident = 0
        self.trace = record.trace
        self.track = record.track
        self._last: tuple[int, float, float, float, float, float] | None = None

    @property
    def vehicles(self) -> int:
        """Vehicles still with the column (moving, queued or under recovery)."""
        return self.fleet.with_column

    def _event_times(self) -> list[float]:
        """This replication's date of every external event, in model hours."""
        times: list[float] = []
        stream = self.streams.events
        for e in self.plan.events:
            anchor = e.not_before_h if e.after is None else times[e.after]
            times.append(anchor + 24.0 * e.delay_days.draw(stream))  # type: ignore[operator]
        return times

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
        km = self.km
        self._last = (activity, now, dt, covered_h, km, speed)
        self.path.add_stretch(now, km, now + dt, km + speed * dt)
        return Timeout(self.env, dt)

    def wait_for(self, event: simpy.Event, activity: int) -> Generator[simpy.Event, None, None]:
        """Stand still until `event` fires (its length is not known in advance), then book the time."""
        now = self.env.now
        self.path.add(now, self.km)
        self._waiting = (activity, now)
        yield event
        self._waiting = None
        self.events += 1
        dt = self.env.now - now
        self.hours[activity] += dt
        if self.ring_cover:
            self.cover_h += self.plan.coverage.covered_hours(self.km, now, self.env.now)
        self.path.add(self.env.now, self.km)

    def halt(self, dt: float, activity: int) -> simpy.Timeout:
        """A stop in place; drone cover may start or end during it."""
        now = self.env._now
        covered_h = self.plan.coverage.covered_hours(self.km, now, now + dt) if self.ring_cover else 0.0
        return self.spend(dt, activity, covered_h, now)

    def hit(self, vehicles: list[int], kind: str, cause: str, wounded, killed, stream,
            positions: dict[int, float] | None = None) -> HitResult:
        """Apply an incident to the vehicles it hits; damaged vehicles start their recovery."""
        result = apply_hits(self.fleet, vehicles, kind, cause, self.env.now, self.km, wounded, killed, stream, positions)
        rec = self.rec
        rec.wounded[cause] += result.wounded
        rec.killed[cause] += result.killed
        if result.wounded or result.killed:
            rec.casualties.append((cause, self.env.now, self.km, result.wounded, result.killed))
        rec.damaged += len(result.damaged)  # type: ignore[arg-type]
        self.lead_holds = [self.start_recovery(v, cause, damage=True) for v in result.damaged or ()]
        return result

    def start_recovery(self, v: int, cause: str, damage: bool = False) -> simpy.Event | None:
        """Start a vehicle's recovery; returns the event the lead unit must wait for, if it is in it."""
        plan = self.plan
        kind = plan.roster.kinds[plan.roster.kind[v]]
        repair = (kind.damage_repair_h if damage else kind.repair_h).draw(self.streams.recovery)
        released = self.env.event()
        unit = plan.roster.unit[v]
        self.env.process(self.recovery.recover(v, repair, cause, self.vehicle_km(v), released))
        if unit == 0:
            return released
        follower = self.followers[unit - 1]
        if follower.process.is_alive:
            follower.process.interrupt(Hold(released))
        if self.trace is not None:
            self._note(f"{plan.roster.units[unit].name}: vehicle {plan.roster.ids[v]} ({kind.name}) needs recovery; the unit waits for it")
        return None

    def vehicle_km(self, v: int) -> float:
        """Road km of vehicle v now: its unit head's position less its place in the unit."""
        plan = self.plan
        unit = plan.roster.unit[v]
        head = self.km if unit == 0 else self.followers[unit - 1].at(self.env.now)
        return clamp(head - plan.roster.position[v] * plan.interval_km, plan.total_km)

    def casevac(self, wounded: int) -> float:
        """Hours the column halts to evacuate its wounded: by air where and when a helicopter can come."""
        if wounded <= 0:
            return 0.0
        cv, now = self.plan.casevac, self.env.now
        start = self.plan.start
        for window in cv.air:
            lo = (window.from_date - start).total_seconds() / 3600.0 if window.from_date else -math.inf
            hi = (window.until_date - start).total_seconds() / 3600.0 if window.until_date else math.inf
            if lo <= now < hi and self.km <= window.up_to_km:
                self.rec.casevacs_air += 1
                return cv.air_h.draw(self.streams.vehicles)
        self.rec.casevacs_ground += 1
        return cv.ground_h.draw(self.streams.vehicles)

    def after_incident(self, delay: float, casevac_h: float, activity: int) -> Generator[simpy.Event, None, None]:
        """Halt for the longer of the incident's delay and the evacuation, then for the lead unit's recoveries."""
        wait = max(delay, casevac_h)
        if wait > 0:
            yield self.halt(wait, activity)
        holds = [e for e in self.lead_holds if e is not None and not e.processed]
        self.lead_holds = []
        if holds:
            yield from self.wait_for(self.env.all_of(holds), INCIDENT_DELAY)

    def incident(self, kind: str, lost: int) -> None:
        self.rec.incidents.append((kind, self.env.now, self.km, lost))

    def check_strength(self) -> None:
        if self.vehicles < self.plan.min_vehicles:
            if self.trace is not None:
                self._note(f"only {self.vehicles} vehicles left, below the minimum of {self.plan.min_vehicles}: the column stops")
            raise ColumnDestroyed

    def finish(self, horizon_h: float) -> None:
        """Close the record; a booking that runs past the horizon is cut back to it."""
        rec = self.rec
        if rec.end_reason == "horizon" and self._waiting is not None:
            activity, t0 = self._waiting
            self.hours[activity] += max(0.0, horizon_h - t0)
            if self.ring_cover:
                self.cover_h += self.plan.coverage.covered_hours(self.km, t0, max(t0, horizon_h))
            rec.end_h = horizon_h
            rec.end_km = self.km
        elif rec.end_reason == "horizon" and self._last is not None:
            activity, t0, dt, covered_h, km0, speed = self._last
            kept = min(dt, max(0.0, horizon_h - t0))
            if kept < dt:
                self.hours[activity] -= dt - kept
                self.cover_h -= covered_h - covered_h * kept / dt
            self.km = km0 + speed * kept
            rec.end_h = horizon_h
            rec.end_km = self.km
        rec.vehicles_end = self.vehicles
        rec.hours = dict(zip(ACTIVITIES, self.hours))
        if self.drones is not None:
            self.cover_h = self.drones.covered_hours_until(min(rec.end_h, horizon_h))
            rec.sorties = self.drones.sorties
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
            self.drive_in()
        except ColumnDestroyed:
            rec.end_reason = "combat_ineffective"
        rec.end_h = self.env.now
        rec.end_km = self.km
        if self.drones is not None:
            self.drones.stand_down()
        if not rec.arrived:
            self.path.add(self.env.now, self.km)
        self.path.finish()

    def drive_in(self) -> None:
        """The head drives on into the destination (a virtual stretch of road past its end) so that
        every unit behind can reach it too."""
        units = self.plan.roster.units
        extra_km = sum(u.length_km for u in units) + 1e-3
        now = self.env.now
        self.path.add(now, self.km)
        self.path.add(now + extra_km / self.speed, self.km + extra_km)

    def _lead_unit_vehicles(self) -> int:
        unit = self.plan.roster.units[0]
        state = self.fleet.state
        return sum(1 for v in range(unit.first, unit.first + unit.count) if state[v] == VEHICLE_MOVING)

    def stops_at(self, i: int) -> Generator[simpy.Event, None, None]:
        """Close up the column, then take the waypoint's halts, pauses and holds in turn."""
        stops = self.plan.stops[i]
        if not stops:
            return
        lead = self._lead_unit_vehicles()
        if i > 0 and lead > 1 and self.plan.interval_km > 0:
            length_km = (lead - 1) * self.plan.interval_km
            yield self.halt(length_km / self.speed, MOVING)
        for stop in stops:
            if stop.after is not None:
                ends = self.event_h[stop.after] + stop.duration_h.draw(self.streams.events)  # type: ignore[union-attr]
                wait = max(0.0, ends - self.env.now)
                if self.trace is not None:
                    self._note(f"waits at {self.plan.names[i]} for {self.plan.events[stop.after].name.replace('_', ' ')}"
                               f" (in this replication at {self.event_h[stop.after]:.0f} h) and {ends - self.event_h[stop.after]:.0f} h more")
            elif stop.until_h is None:
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
        drones = self.drones
        rings = bool(coverage.rings)
        bases_change = self.ring_cover and not coverage.always_active
        road_km = self.road.km
        n_road = len(road_km)
        end_km = leg.end_km
        base_hazard = leg.ambush_per_h
        by_date = plan.ambush_by_date
        dated = base_hazard > 0.0 and not by_date.constant
        hazard = base_hazard * by_date.at(env.now)
        hazard_in_ring = hazard * plan.drone_hazard_factor
        self.speed = speed = plan.speed_kmh.draw(self.streams.speed) * leg.speed_factor
        departed = False
        edge = -math.inf
        """The next ring boundary ahead of the head; looked up again only once the head passes it."""
        while True:
            now = env._now
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
                if km + 1e-9 >= edge:  # the head moves forward only: the cached edge holds until passed
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
            elif drones is not None:
                if drones.column_at(0.5 * (km + target)):
                    self.events += 1
                    yield env.timeout(0.0)  # let the airframes react before the segment is decided
                    continue
                change = drones.next_change_h() - now
                if change < dt:
                    dt, what = change, _BASE_CHANGE
                covered = drones.covered
            elif rings:
                covered = coverage.covered_by_any(0.5 * (km + target))
            if dated:
                hazard = base_hazard * by_date.at(now)
                hazard_in_ring = hazard * plan.drone_hazard_factor
                change = by_date.next_change_h(now) - now
                if change < dt:
                    dt, what = change, _BASE_CHANGE
            if self.rest_in_h < dt:
                dt, what = self.rest_in_h, _REST
            rate = hazard_in_ring if covered else hazard
            if rate > 0.0 and self.ambush_left < rate * dt:
                dt, what = self.ambush_left / rate, _AMBUSH
            yield self.spend(dt, MOVING, dt if covered else 0.0, now, speed)
            self.ambush_left -= rate * dt
            self.rest_in_h -= dt
            self.km = target if what <= _RING_EDGE else km + speed * dt
            if what == _ARRIVE:
                return
            if what == _INCIDENT:
                self.next_incident = j + 1
                yield from self.road_incident(j)
            elif what == _AMBUSH:
                yield from self.ambush(covered)
            elif what == _REST:
                yield from self.rest_halt()

    def rest_halt(self) -> Generator[simpy.Event, None, None]:
        """A short halt while marching: the first of the day after its first hour, then at a set rhythm."""
        rest = self.plan.rest_halts
        minutes = rest.first_min if self.rests_today == 0 else rest.each_min  # type: ignore[union-attr]
        self.rests_today += 1
        self.rest_in_h = rest.every_h  # type: ignore[union-attr]
        if minutes > 0:
            yield self.halt(minutes / 60.0, SCHEDULED_HALT)

    def night_halt(self, wait: float, leg: Leg) -> Generator[simpy.Event, None, None]:
        """Halt outside the march window; on a contested leg the halt may be harassed."""
        plan, rec = self.plan, self.rec
        if plan.rest_halts is not None:
            self.rest_in_h, self.rests_today = plan.rest_halts.first_after_h, 0
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
                hit = random_vehicles(self.fleet, int(harassment.vehicles_lost.draw(stream)), stream)
                for v in hit:
                    self.fleet.set(v, DESTROYED)
                    self.fleet.fate(v, "destroyed", "harassment", self.env.now, self.km)
                lost = len(hit)
                delay += harassment.delay_h.draw(stream)
                self.incident("harassment", lost)
                if self.trace is not None:
                    self._note(f"the halt is harassed during the night: {lost} vehicles lost")
            self.harass_left -= exposure
        yield self.halt(wait, NIGHT_HALT)
        self.check_strength()
        if delay > 0:
            if self.trace is not None:
                self._note(f"harassment delays the morning start by {delay:.1f} h")
            yield self.halt(delay, INCIDENT_DELAY)

    def road_incident(self, j: int) -> Generator[simpy.Event, None, None]:
        road, rec, plan = self.road, self.rec, self.plan
        kind, delay = road.kind[j], road.delay_h[j]
        if kind == BREAKDOWN:
            v = self._failing_vehicle(road.accept[j])
            if v is None:
                return
            rec.breakdowns += 1
            if self.trace is not None:
                self._note(f"vehicle {plan.roster.ids[v]} breaks down at km {self.vehicle_km(v):.0f}")
            released = self.start_recovery(v, "breakdown")
            if released is not None:
                yield from self.wait_for(released, INCIDENT_DELAY)
            self.incident("breakdown", int(self.fleet.state[v] == ABANDONED))
        elif kind == POSITION:
            yield from self.defended_position(plan.positions[road.vehicles[j]])
        elif not plan.ied_by_date.constant and road.accept[j] * plan.ied_by_date.highest >= plan.ied_by_date.at(self.env.now):
            return  # no IED was laid here at this date
        elif kind == IED_FOUND:
            rec.ieds_found += 1
            self.incident("ied_found", 0)
            if self.trace is not None:
                self._note(f"route clearance finds an IED at km {self.km:.0f}; {delay:.1f} h to clear it")
            if delay > 0:
                yield self.halt(delay, INCIDENT_DELAY)
        else:
            rec.ied_strikes += 1
            ied, stream = plan.ied, self.streams.vehicles
            struck = ied_targets(self.fleet, plan.ied_target, road.vehicles[j], stream)
            result = self.hit(struck, "ied", "ied", ied.wounded_per_vehicle_hit, ied.killed_per_vehicle_hit, stream)
            self.incident("ied_strike", result.destroyed)
            if self.trace is not None:
                ids = ", ".join(plan.roster.ids[v] for v in struck)
                self._note(f"an IED strikes vehicle(s) {ids} at km {self.km:.0f}: {result.destroyed} destroyed, "
                           f"{len(result.damaged or ())} damaged, {result.wounded} wounded, {result.killed} killed; {delay:.1f} h delay")
            self.check_strength()
            yield from self.after_incident(delay, self.casevac(result.wounded), INCIDENT_DELAY)
        self.check_strength()

    def _failing_vehicle(self, u: float) -> int | None:
        """The vehicle a breakdown point belongs to (picked by failure rate), or None when it falls on
        a vehicle already out of the march: the points were drawn for the whole column, and thinning
        them so keeps the rest a Poisson process of the moving vehicles' rates."""
        roster = self.plan.roster
        v = bisect_right(roster.failures_cumulative, u * roster.failures_total_per_km)
        if v < roster.size and self.fleet.state[v] == VEHICLE_MOVING:
            return v
        return None

    def ambush(self, covered: bool) -> Generator[simpy.Event, None, None]:
        plan, rec, ambush = self.plan, self.rec, self.plan.ambush
        stream = self.streams.ambush
        self.ambush_left = self._exposure_threshold(stream)
        rec.ambushes += 1
        if covered:
            rec.ambushes_covered += 1
        duration = ambush.engagement_h.draw(stream)
        if covered:
            duration *= plan.drone_engagement_factor
        elif self.drones is not None:
            arrives = self.drones.next_arrival_h() - self.env.now
            if arrives < duration:
                rec.ambushes_drone_called += 1
                if self.trace is not None:
                    self._note(f"a drone on its way arrives over the ambush after {arrives:.1f} h")
                duration = arrives + (duration - arrives) * plan.drone_engagement_factor
        regroup = stream.uniform() < ambush.halt_prob
        regroup_h = ambush.regroup_h.draw(stream)
        positions = None
        if ambush.kill_zone_m is None:
            engaged = random_vehicles(self.fleet, int(ambush.vehicles_lost.draw(stream)), stream)
        else:
            engaged, positions = self.kill_zone(ambush.kill_zone_m / 1000.0, stream)
        result = self.hit(engaged, "ambush", "ambush", ambush.wounded_per_vehicle_hit, ambush.killed_per_vehicle_hit,
                          self.streams.vehicles, positions)
        self.incident("ambush", result.destroyed)
        if self.trace is not None:
            cover = "under drone cover" if covered else "without drone cover"
            self._note(f"ambush at km {self.km:.0f} ({cover}) engages {len(engaged)} vehicles: {duration:.1f} h of fighting, "
                       f"{result.destroyed} destroyed, {len(result.damaged or ())} damaged, {result.wounded} wounded, {result.killed} killed")
        if duration > 0:
            yield self.halt(duration, ENGAGEMENT)
        self.check_strength()
        casevac_h = self.casevac(result.wounded)
        if regroup and regroup_h > 0:
            if self.trace is not None:
                self._note(f"the column halts {regroup_h:.1f} h to regroup")
        yield from self.after_incident(regroup_h if regroup else 0.0, casevac_h, INCIDENT_DELAY)

    def defended_position(self, position) -> Generator[simpy.Event, None, None]:
        """Breach the line in a fight, or bypass it by a detour, as the scenario's odds say."""
        spec, now, rec = position.spec, self.env.now, self.rec
        if not position.held_from_h <= now < position.held_until_h:
            return
        stream = self.streams.vehicles
        if stream.uniform() < spec.bypass_prob:
            rec.bypasses += 1
            detour = spec.bypass_km / self.speed + spec.bypass_h.draw(stream)
            self.incident("bypass", 0)
            if self.trace is not None:
                self._note(f"the column bypasses {spec.name} at km {self.km:.0f}: a detour of {detour:.1f} h")
            if detour > 0:
                yield self.halt(detour, MOVING)
            return
        rec.breaches += 1
        duration = spec.breach_h.draw(stream)
        engaged = self.fleet.moving()[:int(spec.vehicles_hit.draw(stream))]
        result = self.hit(engaged, "ambush", "breach", spec.wounded_per_vehicle_hit, spec.killed_per_vehicle_hit, stream)
        self.incident("breach", result.destroyed)
        if self.trace is not None:
            self._note(f"the column breaches {spec.name} at km {self.km:.0f}: {duration:.1f} h of fighting, {result.destroyed} "
                       f"destroyed, {len(result.damaged or ())} damaged, {result.wounded} wounded, {result.killed} killed")
        if duration > 0:
            yield self.halt(duration, ENGAGEMENT)
        self.check_strength()
        yield from self.after_incident(0.0, self.casevac(result.wounded), INCIDENT_DELAY)

    def kill_zone(self, zone_km: float, stream) -> tuple[list[int], dict[int, float]]:
        """Vehicles inside a kill zone placed at random where it overlaps the column, and their road km.

        A vehicle's km is its unit head's position less its place in the unit; the zone is drawn
        over the span of every moving vehicle.
        """
        moving = self.fleet.moving()
        if not moving:
            return [], {}
        now, roster, interval = self.env.now, self.plan.roster, self.plan.interval_km
        heads = [self.km] + [f.at(now) for f in self.followers]
        unit, position = roster.unit, roster.position
        kms = [heads[unit[v]] - position[v] * interval for v in moving]
        head, tail = max(kms), min(kms)
        start = tail - zone_km + stream.uniform() * (head - tail + zone_km)
        end = start + zone_km
        inside = {v: km for v, km in zip(moving, kms) if start <= km <= end}
        return list(inside), inside


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
    rec.left_behind = column.fleet.state.count(LEFT_BEHIND)
    rec.recovery_wait_h = sum(column.recovery.waits_h)
    rec.people_start = plan.roster.people_total
    if rec.trace is not None:
        for u, unit in enumerate(plan.roster.units[1:], start=1):
            path = column.followers[u - 1].path
            left = passage_time(path.t, path.km, 0.0 + 1e-9)
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
