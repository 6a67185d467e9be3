"""Incidents that wait at fixed places on the road: IEDs and vehicle breakdowns (repair times are
drawn when the failing vehicle is known, by its type).

Both are Poisson processes in space, drawn before the clock starts by walking the road with
exponential gaps; the march meets them in order of position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum
from operator import itemgetter

from convoysim.model.plan import Plan
from convoysim.model.streams import ReplicationStreams, Substream


class RoadIncident(IntEnum):
    """What waits at a place on the road."""

    IED_FOUND = 0
    IED_STRIKE = 1
    BREAKDOWN = 2
    POSITION = 3


@dataclass
class RoadIncidents:
    """Sorted by `km`: for each incident its kind, delay in hours and the numbers below."""

    km: list[float] = field(default_factory=list)
    kind: list[RoadIncident] = field(default_factory=list)
    struck: list[int] = field(default_factory=list)
    """For an IED strike: how many vehicles in a row it hits (0 for the other kinds)."""
    position: list[int] = field(default_factory=list)
    """For a defended position: its index in `Plan.positions` (-1 for the other kinds)."""
    delay_h: list[float] = field(default_factory=list)
    accept: list[float] = field(default_factory=list)
    """For breakdowns: a uniform number that picks the failing vehicle by its failure rate, and thins
    the points that fall on vehicles already out of the march (they cannot fail). For IEDs under a
    date schedule: a uniform number that keeps the IED with probability factor(date) / highest."""


def poisson_points(stream: Substream, start_km: float, end_km: float, per_km: float) -> list[float]:
    """Positions of a homogeneous Poisson process of `per_km` points per km on [start, end)."""
    points: list[float] = []
    if per_km <= 0.0:
        return points
    uniform, log1p = stream.uniform, math.log1p
    x = start_km - log1p(-uniform()) / per_km
    while x < end_km:
        points.append(x)
        x -= log1p(-uniform()) / per_km
    return points


def draw_road_incidents(plan: Plan, streams: ReplicationStreams) -> RoadIncidents:
    """Every IED, defended position and breakdown point of one replication, in road order: drawn
    before the clock starts (IEDs at the schedule's highest density, thinned when met)."""
    ied, s = plan.ied, streams.ied
    found_p = ied.detection_prob
    by_date = plan.ied_by_date
    highest = by_date.highest
    items: list[tuple[float, RoadIncident, int, int, float, float]] = []
    for leg in plan.legs:
        for km in poisson_points(s, leg.start_km, leg.end_km, leg.ied_per_km * highest):
            keep = 0.0 if by_date.constant else s.uniform()
            if s.uniform() < found_p:
                items.append((km, RoadIncident.IED_FOUND, 0, -1, ied.clearance_delay_h.draw(s), keep))
            else:
                items.append(
                    (km, RoadIncident.IED_STRIKE, int(ied.vehicles_destroyed.draw(s)), -1, ied.delay_h.draw(s), keep)
                )
    for k, position in enumerate(plan.positions):
        items.append((position.spec.road_km, RoadIncident.POSITION, 0, k, 0.0, 0.0))
    b = streams.breakdowns
    for km in poisson_points(b, 0.0, plan.total_km, plan.roster.failures_total_per_km):
        items.append((km, RoadIncident.BREAKDOWN, 0, -1, 0.0, b.uniform()))
    items.sort(key=itemgetter(0))  # by position only: equal positions keep the order drawn
    if not items:
        return RoadIncidents()
    km, kind, struck, position, delay, accept = (list(column) for column in zip(*items))
    return RoadIncidents(km, kind, struck, position, delay, accept)
