"""Incidents that wait at fixed places on the road: IEDs and vehicle breakdowns (repair times are
drawn when the failing vehicle is known, by its type).

Both are Poisson processes in space, drawn before the clock starts; the march meets them in order
of position. They are drawn by key (docs/streams.md): IEDs by place, each cell of road with its own
numbers, so a plan with a higher density or another detection keeps every other IED where it was;
breakdowns by vehicle, each vehicle with its own process, so a vehicle added at the tail changes
no other vehicle's breakdowns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache
from operator import itemgetter

import numpy as np

from convoysim.model.plan import Plan
from convoysim.model.streams import Number, NumbersByKey, ReplicationStreams
from convoysim.scenario.distributions import poisson_quantile

CELL_KM = 1.0
"""IEDs are drawn cell by cell: each leg is cut into cells this long (the last one shorter)."""
IED_NUMBERS = 6
"""Numbers each IED owns, always all drawn: position in its cell, keep (date schedule), found,
clearance delay, vehicles destroyed, delay."""
IEDS_PER_ROW = 3
"""IEDs of a cell whose numbers come in the cells' table (more, rarely, come from the cell's own generator)."""
BREAKDOWNS_PER_ROW = 3
"""Breakdowns of a vehicle whose positions come in the vehicles' table (more from its own generator)."""


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
    """For IEDs under a date schedule: a uniform number that keeps the IED with probability
    factor(date) / highest (0 for the other kinds)."""
    vehicle: list[int] = field(default_factory=list)
    """For a breakdown: the vehicle that fails (-1 for the other kinds)."""
    ied: list[tuple[int, int]] = field(default_factory=list)
    """For an IED: its cell and its rank in the cell, the key of its strike's numbers (`streams.IncidentNumbers`)."""


def ied_cells(plan: Plan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cells of road IEDs are drawn in, leg after leg: start km, length km, and the mean count
    of IEDs in each at the schedule's highest density (the same for every replication of a plan)."""
    highest = plan.ied_by_date.highest
    return cells_of_legs(tuple((leg.start_km, leg.end_km, leg.ied_per_km * highest) for leg in plan.legs))


@lru_cache(maxsize=64)
def cells_of_legs(legs: tuple[tuple[float, float, float], ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`ied_cells` for legs given as (start km, end km, IEDs per km)."""
    starts, lengths, means = [0.0], [0.0], [0.0]
    for start_km, end_km, per_km in legs:
        start = np.arange(start_km, end_km, CELL_KM)
        length = np.minimum(CELL_KM, end_km - start)
        starts.extend(start)
        lengths.extend(length)
        means.extend(length * per_km)
    return np.array(starts[1:]), np.array(lengths[1:]), np.array(means[1:])


Item = tuple[float, RoadIncident, int, int, float, float, int, tuple[int, int]]
"""One road incident before sorting: km, kind, struck, position, delay_h, accept, vehicle, ied."""
NOT_AN_IED = (-1, -1)


def draw_ieds(plan: Plan, streams: ReplicationStreams) -> list[Item]:
    """Every IED of one replication, drawn by place at the schedule's highest density (thinned when met).

    Cell c of the road owns row c of a table of numbers: its count (by inversion, so a higher
    density adds IEDs without moving the others), then each IED's own numbers. Which numbers an IED
    uses depends on nothing else, so detection, delays and dates move no other IED."""
    ied = plan.ied
    constant = plan.ied_by_date.constant
    starts, lengths, means = ied_cells(plan)
    numbers = NumbersByKey(streams, "ied", len(starts), 1 + IEDS_PER_ROW * IED_NUMBERS)
    first = numbers.table[:, 0]
    items: list[Item] = []
    for c in np.flatnonzero(first >= np.exp(-means)).tolist():  # the cells with at least one IED
        start, length = float(starts[c]), float(lengths[c])
        count = poisson_quantile(float(means[c]), float(first[c]))
        row = numbers.row(c, 1 + count * IED_NUMBERS)
        for j in range(count):
            position, keep, found, clearance, destroyed, delay = row[1 + j * IED_NUMBERS : 1 + (j + 1) * IED_NUMBERS]
            km = start + length * position
            keep = 0.0 if constant else keep
            if found < ied.detection_prob:
                items.append(
                    (km, RoadIncident.IED_FOUND, 0, -1, ied.clearance_delay_h.draw(Number(clearance)), keep, -1, (c, j))
                )
            else:
                items.append(
                    (
                        km,
                        RoadIncident.IED_STRIKE,
                        int(ied.vehicles_destroyed.draw(Number(destroyed))),
                        -1,
                        ied.delay_h.draw(Number(delay)),
                        keep,
                        -1,
                        (c, j),
                    )
                )
    return items


def draw_breakdowns(plan: Plan, streams: ReplicationStreams) -> list[Item]:
    """Every breakdown point of one replication: one Poisson process in road km per vehicle, at its
    type's failure rate, from the vehicle's own numbers (its count by inversion, then positions).

    A point is in the head's road km; one that falls on a vehicle already out of the march is
    skipped when met (it cannot fail)."""
    roster, total_km = plan.roster, plan.total_km
    numbers = NumbersByKey(streams, "breakdowns", roster.size, 1 + BREAKDOWNS_PER_ROW)
    means = np.array(roster.failures_per_km) * total_km
    first = numbers.table[:, 0]
    items: list[Item] = []
    for v in np.flatnonzero(first >= np.exp(-means)).tolist():  # the vehicles with at least one breakdown
        count = poisson_quantile(float(means[v]), float(first[v]))
        for u in numbers.row(v, 1 + count)[1:]:
            items.append((total_km * u, RoadIncident.BREAKDOWN, 0, -1, 0.0, 0.0, v, NOT_AN_IED))
    return items


def draw_road_incidents(plan: Plan, streams: ReplicationStreams) -> RoadIncidents:
    """Every IED, defended position and breakdown point of one replication, in road order: drawn
    before the clock starts (IEDs at the schedule's highest density, thinned when met)."""
    items = draw_ieds(plan, streams)
    for k, position in enumerate(plan.positions):
        items.append((position.spec.road_km, RoadIncident.POSITION, 0, k, 0.0, 0.0, -1, NOT_AN_IED))
    items += draw_breakdowns(plan, streams)
    items.sort(key=itemgetter(0))  # by position only: equal positions keep the order drawn
    if not items:
        return RoadIncidents()
    km, kind, struck, position, delay, accept, vehicle, ieds = (list(column) for column in zip(*items))
    return RoadIncidents(km, kind, struck, position, delay, accept, vehicle, ieds)
