"""A scenario compiled once into what every replication of it reuses: the route in kilometres,
the legs' rates, the windows on the model clock, and the coverage rings as road intervals."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from convoysim import geo
from convoysim.model.coverage import Coverage, RingOnRoad
from convoysim.model.drones import FleetPlan
from convoysim.model.schedule import DateFactor
from convoysim.model.streams import name_key
from convoysim.model.vehicles import Roster, build_roster
from convoysim.scenario.distributions import Distribution
from convoysim.scenario.schema import (
    AmbushThreat,
    Casevac,
    DefendedPosition,
    DroneFleet,
    Harassment,
    IedThreat,
    RestHalts,
    Scenario,
    ThreatPeriod,
)
from convoysim.timewindows import DailyHours


@dataclass(frozen=True)
class Leg:
    """The road from waypoint `index` to waypoint `index + 1`."""

    index: int
    start_km: float
    end_km: float
    speed_factor: float
    contested: bool
    ied_per_km: float
    ambush_per_h: float
    pace_kmh: float = math.inf
    """The most the column moves at on this leg while moving: route clearance's pace, in km per
    day of march windows spread over their hours (waypoint clearance_km_per_day); inf without one."""

    @property
    def length_km(self) -> float:
        return self.end_km - self.start_km


@dataclass(frozen=True)
class WaypointStop:
    """A halt the column makes on reaching a waypoint, in the order they are taken."""

    activity: str
    reason: str
    duration_h: Distribution | None = None
    until_h: float | None = None
    after: int | None = None
    """Index into Plan.events: the halt ends `duration_h` after that event."""


@dataclass(frozen=True)
class PositionPlan:
    """A defended position with its dates on the model clock."""

    spec: DefendedPosition
    held_from_h: float
    held_until_h: float


@dataclass(frozen=True)
class AirEvacuationPlan:
    """Where and when a helicopter can evacuate casualties, on the model clock."""

    from_h: float
    until_h: float
    up_to_km: float


@dataclass(frozen=True)
class EventPlan:
    """An external event: `not_before_h` (or event `after`'s time) plus a random delay in days."""

    name: str
    not_before_h: float | None
    after: int | None
    delay_days: Distribution


DISTANCE_SAMPLES = 200
"""Points along the road (plus the start) at which a drone base's distance is worked out once;
transit times interpolate between them."""


@dataclass(frozen=True)
class Plan:
    """Everything a replication of one scenario reuses, compiled once (`compile_plan`)."""

    start: datetime
    horizon_h: float
    names: tuple[str, ...]
    road_km: tuple[float, ...]
    lats: tuple[float, ...]
    lons: tuple[float, ...]
    legs: tuple[Leg, ...]
    vehicles: int
    roster: Roster
    unit_gap_h: float
    catchup_factor: float
    units_keep_window: bool
    """Whether every march unit stops when the march window closes (else only the head does)."""
    ied_target: str
    recovery_section: int
    after_limit: str
    casevac: Casevac
    events: tuple[EventPlan, ...]
    interval_km: float
    min_vehicles: int
    speed_kmh: Distribution
    march: DailyHours
    night: DailyHours
    breakdowns_per_vehicle_km: float
    repair_h: Distribution
    abandon_after_h: float
    stops: tuple[tuple[WaypointStop, ...], ...]
    ied: IedThreat
    ambush: AmbushThreat
    harassment: Harassment
    drone_hazard_factor: float
    drone_engagement_factor: float
    coverage: Coverage
    rest_halts: RestHalts | None = None
    ied_by_date: DateFactor = DateFactor(())
    ambush_by_date: DateFactor = DateFactor(())
    positions: tuple[PositionPlan, ...] = ()
    fleets: tuple[FleetPlan, ...] = ()
    """Sortie fleets, one per base, when the bases have fleets (then `coverage` only marks ring edges)."""
    fleet_names: tuple[str, ...] = ()
    casevac_air: tuple[AirEvacuationPlan, ...] = ()
    """`casevac.air`'s windows converted to model hours once, not at every evacuation."""

    @property
    def total_km(self) -> float:
        return self.road_km[-1]


def _route_geometry(scenario: Scenario) -> tuple[list[float], list[float], list[float]]:
    """Road kilometres and coordinates of every waypoint, filling the gaps the sources leave."""
    wps = scenario.route.waypoints
    if wps[0].road_km is None:
        km = [0.0]
        for a, b in zip(wps, wps[1:]):
            km.append(km[-1] + scenario.route.winding_factor * geo.great_circle_km(a.lat, a.lon, b.lat, b.lon))  # type: ignore[arg-type]
    else:
        km = [float(w.road_km) for w in wps]  # type: ignore[arg-type]
    known = [i for i, w in enumerate(wps) if w.lat is not None]
    lats, lons = [0.0] * len(wps), [0.0] * len(wps)
    for i, w in enumerate(wps):
        if w.lat is not None:
            lats[i], lons[i] = w.lat, w.lon  # type: ignore[assignment]
            continue
        before = max(k for k in known if k < i)
        after = min(k for k in known if k > i)
        frac = (km[i] - km[before]) / (km[after] - km[before])
        lats[i], lons[i] = geo.intermediate_point(
            wps[before].lat, wps[before].lon, wps[after].lat, wps[after].lon, frac
        )  # type: ignore[arg-type]
    return km, lats, lons


def compile_plan(scenario: Scenario) -> Plan:
    """The scenario as every replication uses it: kilometres, model hours and per-leg rates."""
    km, lats, lons = _route_geometry(scenario)
    threats, convoy = scenario.threats, scenario.convoy
    events = _events(scenario)
    rings = _rings(scenario, km, lats, lons)
    offset_h = scenario.start.hour + scenario.start.minute / 60.0 + scenario.start.second / 3600.0
    night, march = _daily_windows(scenario, offset_h)
    mdbf = convoy.breakdowns.mean_km_between_failures
    # Longer than 40 lines: one keyword per Plan field, a list to read rather than logic.
    return Plan(
        start=scenario.start,
        horizon_h=scenario.horizon_days * 24.0,
        names=tuple(scenario.waypoint_names),
        road_km=tuple(km),
        lats=tuple(lats),
        lons=tuple(lons),
        legs=_legs(scenario, km, march.hours_per_day),
        vehicles=convoy.vehicles,  # type: ignore[arg-type]
        roster=build_roster(convoy),
        unit_gap_h=convoy.unit_gap_min / 60.0,
        catchup_factor=convoy.catchup_speed_factor,
        units_keep_window=convoy.every_unit_keeps_window,
        ied_target=convoy.ied_target,
        recovery_section=convoy.recovery.section_vehicles,
        after_limit=convoy.recovery.after_limit,
        casevac=scenario.casevac,
        events=events,
        interval_km=convoy.interval_m / 1000.0,
        min_vehicles=convoy.min_vehicles,
        speed_kmh=convoy.speed_kmh,
        march=march,
        night=night,
        breakdowns_per_vehicle_km=1.0 / mdbf if mdbf else 0.0,
        repair_h=convoy.breakdowns.repair_h,
        abandon_after_h=convoy.breakdowns.abandon_after_h,
        stops=_stops(scenario, km, events),
        ied=threats.ied,
        ambush=threats.ambush,
        harassment=threats.harassment,
        drone_hazard_factor=scenario.drones.hazard_factor,
        drone_engagement_factor=scenario.drones.engagement_factor,
        coverage=Coverage(rings, scenario.horizon_days * 24.0),
        rest_halts=convoy.rest_halts,
        ied_by_date=_by_date(scenario, threats.ied.schedule),
        ambush_by_date=_by_date(scenario, threats.ambush.schedule),
        positions=tuple(
            PositionPlan(p, _hours(scenario, p.held_from, -math.inf), _hours(scenario, p.held_until, math.inf))
            for p in sorted(threats.positions, key=lambda p: p.road_km)
        ),
        fleets=_fleets(scenario, rings, km, lats, lons),
        fleet_names=tuple(scenario.drones.bases),
        casevac_air=_air_evacuation(scenario),
    )


def _legs(scenario: Scenario, km: list[float], march_h_per_day: float) -> tuple[Leg, ...]:
    """The road between consecutive waypoints with its speed factor, pace and threat rates."""
    ied, ambush = scenario.threats.ied, scenario.threats.ambush
    legs = []
    for i, wp in enumerate(scenario.route.waypoints[1:]):
        contested = wp.contested
        per_100km = ied.per_100km if contested else ied.uncontested_per_100km
        legs.append(
            Leg(
                index=i,
                start_km=km[i],
                end_km=km[i + 1],
                speed_factor=wp.terrain_factor * (ied.clearance_speed_factor if contested else 1.0),
                contested=contested,
                ied_per_km=per_100km * wp.ied_factor / 100.0,
                ambush_per_h=ambush.hazard_per_h * wp.ambush_factor if contested else 0.0,
                pace_kmh=wp.clearance_km_per_day / march_h_per_day if wp.clearance_km_per_day else math.inf,
            )
        )
    return tuple(legs)


def _stops(scenario: Scenario, km: list[float], events: tuple[EventPlan, ...]) -> tuple[tuple[WaypointStop, ...], ...]:
    """Each waypoint's halts, pauses and holds, in the order the column takes them."""
    index = {name: i for i, name in enumerate(scenario.waypoint_names)}
    stops: list[list[WaypointStop]] = [[] for _ in km]
    for h in scenario.halts.at_waypoints:
        stops[index[h.waypoint]].append(WaypointStop("scheduled_halt", h.reason, duration_h=h.duration_h))
    for h in scenario.halts.pauses:
        stops[index[h.waypoint]].append(WaypointStop("operational_pause", h.reason, duration_h=h.duration_h))
    event_index = {e.name: i for i, e in enumerate(events)}
    for h in scenario.halts.holds:
        if h.until is not None:
            stop = WaypointStop("operational_pause", h.reason, until_h=scenario.hours(h.until))
        else:
            stop = WaypointStop("operational_pause", h.reason, duration_h=h.delay_h, after=event_index[h.after])  # type: ignore[index]
        stops[index[h.waypoint]].append(stop)
    return tuple(tuple(s) for s in stops)


def _rings(scenario: Scenario, km: list[float], lats: list[float], lons: list[float]) -> list[RingOnRoad]:
    """Each drone base's ring as the stretches of road inside it, with its active hours."""
    rings = []
    for name, base in scenario.drones.bases.items():
        rings.append(
            RingOnRoad(
                name=name,
                intervals_km=tuple(geo.ring_intervals(km, lats, lons, (base.lat, base.lon), base.coverage_radius_km)),
                active_from_h=scenario.hours(base.active_from) if base.active_from else -math.inf,
                active_until_h=scenario.hours(base.active_until) if base.active_until else math.inf,
            )
        )
    return rings


def _daily_windows(scenario: Scenario, offset_h: float) -> tuple[DailyHours, DailyHours]:
    """The night and the march window on the model clock (no moving by night unless allowed)."""
    convoy = scenario.convoy
    night = DailyHours([(convoy.night.from_h, convoy.night.to_h)], offset_h)
    march = DailyHours([(w.from_h, w.to_h) for w in convoy.march_windows], offset_h)
    if not convoy.move_by_night:
        march = march.minus(night)
    return night, march


def _air_evacuation(scenario: Scenario) -> tuple[AirEvacuationPlan, ...]:
    """The air evacuation windows in model hours (open-ended where the scenario gives no date)."""
    start = scenario.start
    return tuple(
        AirEvacuationPlan(
            (window.from_date - start).total_seconds() / 3600.0 if window.from_date else -math.inf,
            (window.until_date - start).total_seconds() / 3600.0 if window.until_date else math.inf,
            window.up_to_km,
        )
        for window in scenario.casevac.air
    )


def _events(scenario: Scenario) -> tuple[EventPlan, ...]:
    """External events in an order where each comes after the one it waits on."""
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        after = scenario.events[name].after
        if after is not None:
            visit(after)
        ordered.append(name)

    for name in scenario.events:
        visit(name)
    index = {name: i for i, name in enumerate(ordered)}
    out = []
    for name in ordered:
        e = scenario.events[name]
        out.append(
            EventPlan(
                name,
                scenario.hours(e.not_before) if e.not_before else None,
                index[e.after] if e.after else None,
                e.delay_days,
            )
        )
    return tuple(out)


def _fleets(
    scenario: Scenario, rings: list[RingOnRoad], km: list[float], lats: list[float], lons: list[float]
) -> tuple[FleetPlan, ...]:
    """Each base's fleet with its distance to the road sampled every few km (for transit times); none
    when no base has a fleet (then the rings alone decide cover, as geometry)."""
    out = []
    total = km[-1]
    samples = [total * i / float(DISTANCE_SAMPLES) for i in range(DISTANCE_SAMPLES + 1)]
    bases = scenario.drones.bases.values()
    if all(base.fleet is None for base in bases):
        return ()
    for ring, (name, base) in zip(rings, scenario.drones.bases.items()):
        fleet = base.fleet or DroneFleet()  # a ring among fleets: the limiting case of a fleet
        distance = tuple(geo.great_circle_km(base.lat, base.lon, *geo.position_at(km, lats, lons, x)) for x in samples)
        out.append(
            FleetPlan(
                ring=ring,
                radius_km=base.coverage_radius_km,
                airframes=fleet.airframes,
                cruise_kmh=fleet.cruise_kmh or math.inf,
                endurance_h=fleet.endurance_h or math.inf,
                turnaround_h=fleet.turnaround_h,
                unflyable_day_prob=fleet.unflyable_day_prob,
                airframe_down_prob=fleet.airframe_down_prob,
                call_on_ambush=fleet.call_on_ambush,
                day_offset_h=scenario.start.timestamp() / 3600.0,
                key=name_key(name),
                road_km=tuple(samples),
                distance_km=distance,
            )
        )
    return tuple(out)


def _hours(scenario: Scenario, when: datetime | None, default: float) -> float:
    return scenario.hours(when) if when is not None else default


def _by_date(scenario: Scenario, periods: list[ThreatPeriod]) -> DateFactor:
    return DateFactor(
        (_hours(scenario, p.from_date, -math.inf), _hours(scenario, p.until_date, math.inf), p.factor) for p in periods
    )
