"""Everything that can happen to the column on its way, each in one place.

- **Road incidents** wait at fixed places (drawn before the clock starts, `road.py`): an IED found
  by route clearance or striking the column, a vehicle breaking down, a defended position.
  `road_incident` sends each to its function when the head reaches it.
- **Ambush**: while the column drives on a contested leg, its exposure grows at the ambush rate
  (`horizons.ambush_rate`: lower under drone cover); when it reaches the threshold drawn for the
  next ambush (`Column.threshold`), the march ends its segment there and calls `ambush`.
- **Harassment**: the same for the nights a column halts on a contested leg (`harassed_night`).

The functions that take time are SimPy sub-processes of the lead unit's process (`yield from`
them): they yield the halts they book, and wait for the recoveries that hold the lead unit.
"""

from __future__ import annotations

from collections.abc import Generator

import simpy

from convoysim.model.column import Column
from convoysim.model.hits import ied_targets, random_vehicles
from convoysim.model.plan import Leg
from convoysim.model.record import Activity
from convoysim.model.road import RoadIncident
from convoysim.model.streams import IncidentKind, Own
from convoysim.model.vehicles import VehicleState


def road_incident(column: Column, j: int) -> Generator[simpy.Event, None, None]:
    """The head has reached road incident j: a breakdown, a defended position or an IED.

    An IED laid only after this date (under the threat's schedule) is not there yet."""
    road, plan = column.road, column.plan
    kind = road.kind[j]
    if kind == RoadIncident.BREAKDOWN:
        v = road.vehicle[j]
        if column.fleet.state[v] != VehicleState.MOVING:
            return  # the vehicle is already out of the march: it cannot fail
        yield from breakdown(column, v)
    elif kind == RoadIncident.POSITION:
        yield from defended_position(column, road.position[j])
    elif not plan.ied_by_date.constant and road.accept[j] * plan.ied_by_date.highest >= plan.ied_by_date.at(
        column.env.now
    ):
        return  # no IED was laid here at this date
    elif kind == RoadIncident.IED_FOUND:
        yield from ied_found(column, road.delay_h[j])
    else:
        yield from ied_strike(column, road.struck[j], road.delay_h[j], road.ied[j])
    column.check_strength()


def breakdown(column: Column, v: int) -> Generator[simpy.Event, None, None]:
    """Vehicle v breaks down: its unit waits for its recovery.

    The lead unit waits here; another unit is held by an interrupt from `Column.start_recovery`."""
    column.rec.breakdowns += 1
    if column.trace is not None:
        column.note(f"vehicle {column.plan.roster.ids[v]} breaks down at km {column.vehicle_km(v):.0f}")
    released = column.start_recovery(v, "breakdown")
    if released is not None:
        yield from column.wait_for(released, Activity.INCIDENT_DELAY)
    column.incident("breakdown", int(column.fleet.state[v] == VehicleState.ABANDONED))


def ied_found(column: Column, delay_h: float) -> Generator[simpy.Event, None, None]:
    """Route clearance finds an IED: the column halts while it is cleared."""
    column.rec.ieds_found += 1
    column.incident("ied_found", 0)
    if column.trace is not None:
        column.note(f"route clearance finds an IED at km {column.km:.0f}; {delay_h:.1f} h to clear it")
    if delay_h > 0:
        yield column.halt(delay_h, Activity.INCIDENT_DELAY)


def ied_strike(
    column: Column, struck: int, delay_h: float, place: tuple[int, int]
) -> Generator[simpy.Event, None, None]:
    """An IED strikes `struck` vehicles in a row; the column halts, evacuates and recovers.

    Some vehicles are destroyed, some damaged (recovered), people hurt; the column halts to secure
    the site and evacuate, then waits for its recoveries. Its numbers are keyed by its `place` (cell
    and rank), as the IED itself."""
    plan, ied = column.plan, column.plan.ied
    numbers = column.incident_numbers(IncidentKind.IED_STRIKE, *place)
    column.rec.ied_strikes += 1
    hit = ied_targets(column.fleet, plan.ied_target, struck, numbers.own[Own.TARGET])
    result = column.hit(hit, "ied", "ied", ied.wounded_per_vehicle_hit, ied.killed_per_vehicle_hit, numbers)
    holds = column.recover(result.damaged, "ied")
    column.incident("ied_strike", result.destroyed)
    if column.trace is not None:
        ids = ", ".join(plan.roster.ids[v] for v in hit)
        column.note(
            f"an IED strikes vehicle(s) {ids} at km {column.km:.0f}: {result.destroyed} destroyed, "
            f"{len(result.damaged or ())} damaged, {result.wounded} wounded, {result.killed} killed; {delay_h:.1f} h "
            "delay"
        )
    column.check_strength()
    yield from column.after_incident(delay_h, column.casevac(result.wounded, numbers.number(Own.CASEVAC)), holds)


def defended_position(column: Column, k: int) -> Generator[simpy.Event, None, None]:
    """A line held across the road (the plan's k-th): bypass it by a detour, or breach it in a fight.

    Only while it is held; the scenario's odds decide between bypass and breach."""
    position = column.plan.positions[k]
    spec, now, rec = position.spec, column.env.now, column.rec
    if not position.held_from_h <= now < position.held_until_h:
        return
    numbers = column.incident_numbers(IncidentKind.POSITION, k)
    if numbers.own[Own.HALT] < spec.bypass_prob:
        rec.bypasses += 1
        detour = spec.bypass_km / column.speed + spec.bypass_h.draw(numbers.number(Own.LENGTH))
        column.incident("bypass", 0)
        if column.trace is not None:
            column.note(f"the column bypasses {spec.name} at km {column.km:.0f}: a detour of {detour:.1f} h")
        if detour > 0:
            yield column.halt(detour, Activity.MOVING)  # on the road but not along it: the head stays at its km
        return
    rec.breaches += 1
    duration = spec.breach_h.draw(numbers.number(Own.LENGTH))
    engaged = column.fleet.moving()[: int(spec.vehicles_hit.draw(numbers.number(Own.COUNT)))]
    result = column.hit(engaged, "ambush", "breach", spec.wounded_per_vehicle_hit, spec.killed_per_vehicle_hit, numbers)
    holds = column.recover(result.damaged, "breach")
    column.incident("breach", result.destroyed)
    if column.trace is not None:
        column.note(
            f"the column breaches {spec.name} at km {column.km:.0f}: {duration:.1f} h of fighting, {result.destroyed} "
            f"destroyed, {len(result.damaged or ())} damaged, {result.wounded} wounded, {result.killed} killed"
        )
    if duration > 0:
        yield column.halt(duration, Activity.ENGAGEMENT)
    column.check_strength()
    yield from column.after_incident(0.0, column.casevac(result.wounded, numbers.number(Own.CASEVAC)), holds)


def ambush(column: Column, covered: bool) -> Generator[simpy.Event, None, None]:
    """The ambush itself: the march has driven the head to the moment it happens.

    The k-th ambush (from 0) has its own numbers (`streams.IncidentNumbers`): the fight's length
    (shorter under drone cover, or once a drone already on its way arrives), whether the column
    halts to regroup, and the vehicles in the kill zone; it hits them, fights (a halt booked as
    engagement), evacuates the wounded and waits for the recoveries that hold the lead unit. The
    next ambush's threshold is the (k+1)-th."""
    rec, threat = column.rec, column.plan.ambush
    k = rec.ambushes
    numbers = column.incident_numbers(IncidentKind.AMBUSH, k)
    column.ambush_left = column.threshold(IncidentKind.AMBUSH, k + 1)
    rec.ambushes += 1
    if covered:
        rec.ambushes_covered += 1
    duration = fight_hours(column, threat.engagement_h.draw(numbers.number(Own.LENGTH)), covered)
    regroup = numbers.own[Own.HALT] < threat.halt_prob
    regroup_h = threat.regroup_h.draw(numbers.number(Own.HALT_H))
    positions = None
    if threat.kill_zone_m is None:
        engaged = random_vehicles(column.fleet, int(threat.vehicles_lost.draw(numbers.number(Own.COUNT))), numbers)
    else:
        engaged, positions = kill_zone(column, threat.kill_zone_m / 1000.0, numbers.own[Own.TARGET])
    result = column.hit(
        engaged, "ambush", "ambush", threat.wounded_per_vehicle_hit, threat.killed_per_vehicle_hit, numbers, positions
    )
    holds = column.recover(result.damaged, "ambush")
    column.incident("ambush", result.destroyed)
    if column.trace is not None:
        cover = "under drone cover" if covered else "without drone cover"
        column.note(
            f"ambush at km {column.km:.0f} ({cover}) engages {len(engaged)} vehicles: {duration:.1f} h of fighting, "
            f"{result.destroyed} destroyed, {len(result.damaged or ())} damaged, {result.wounded} wounded, "
            f"{result.killed} killed"
        )
    if duration > 0:
        yield column.halt(duration, Activity.ENGAGEMENT)
    column.check_strength()
    casevac_h = column.casevac(result.wounded, numbers.number(Own.CASEVAC))
    if regroup and regroup_h > 0 and column.trace is not None:
        column.note(f"the column halts {regroup_h:.1f} h to regroup")
    yield from column.after_incident(regroup_h if regroup else 0.0, casevac_h, holds)


def fight_hours(column: Column, duration: float, covered: bool) -> float:
    """An ambush's length: shortened by the drones' factor under cover, or from the moment a drone
    already flying to the column arrives over it."""
    factor = column.plan.drone_engagement_factor
    if covered:
        return duration * factor
    arrives = column.cover.drone_arrives_in_h(column.env.now)
    if arrives < duration:
        column.rec.ambushes_drone_called += 1
        if column.trace is not None:
            column.note(f"a drone on its way arrives over the ambush after {arrives:.1f} h")
        return arrives + (duration - arrives) * factor
    return duration


def kill_zone(column: Column, zone_km: float, u: float) -> tuple[list[int], dict[int, float]]:
    """Vehicles inside a kill zone placed at random (by the uniform `u`) where it overlaps the column,
    and their road km.

    A vehicle's km is its unit head's position less its place in the unit; the zone is drawn
    over the span of every moving vehicle.
    """
    moving = column.fleet.moving()
    if not moving:
        return [], {}
    now, roster, interval = column.env.now, column.plan.roster, column.plan.interval_km
    heads = [column.km] + [f.at(now) for f in column.followers]
    unit, position = roster.unit, roster.position
    kms = [heads[unit[v]] - position[v] * interval for v in moving]
    head, tail = max(kms), min(kms)
    start = tail - zone_km + u * (head - tail + zone_km)
    end = start + zone_km
    inside = {v: km for v, km in zip(moving, kms) if start <= km <= end}
    return list(inside), inside


def harassed_night(column: Column, wait_h: float, leg: Leg) -> float:
    """Harass a night halt of `wait_h` hours on a contested leg; returns the hours the morning start
    is delayed. Exposure grows with the night hours of the halt; each time it reaches the drawn
    threshold the halt is harassed: vehicles lost, delay added. The k-th harassment has its own
    numbers and threshold."""
    plan, rec, harassment = column.plan, column.rec, column.plan.harassment
    if not (leg.contested and harassment.per_night > 0 and plan.night.hours_per_day > 0):
        return 0.0
    now, delay = column.env.now, 0.0
    exposure = harassment.per_night * plan.night.overlap(now, now + wait_h) / plan.night.hours_per_day
    while column.harass_left <= exposure:
        exposure -= column.harass_left
        k = rec.harassments
        numbers = column.incident_numbers(IncidentKind.HARASSMENT, k)
        column.harass_left = column.threshold(IncidentKind.HARASSMENT, k + 1)
        rec.harassments += 1
        hit = random_vehicles(column.fleet, int(harassment.vehicles_lost.draw(numbers.number(Own.COUNT))), numbers)
        for v in hit:
            column.fleet.set(v, VehicleState.DESTROYED)
            column.fleet.fate(v, "destroyed", "harassment", now, column.km)
        delay += harassment.delay_h.draw(numbers.number(Own.LENGTH))
        column.incident("harassment", len(hit))
        if column.trace is not None:
            column.note(f"the halt is harassed during the night: {len(hit)} vehicles lost")
    column.harass_left -= exposure
    return delay
