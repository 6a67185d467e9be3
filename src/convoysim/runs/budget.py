"""A replication's work, estimated from the compiled plan before anything runs, and a guard that
refuses a run above a limit instead of hanging for hours or exhausting memory.

The estimate is an upper bound of the expected counts (not of every draw): road incidents are the
Poisson means along the road, ambushes and harassment assume the column marches or halts until
the horizon. Each process of the model contributes one small function (`ESTIMATORS`); a new
process (drone sorties, march units) adds its own, so the guard grows with the model.

Every multiplier a scenario can express is in it: threat schedules (overlapping periods multiply,
and IEDs are drawn at the schedule's highest density), march units (each follower repeats the
lead's stops), defended positions, airframes, and the rows a tracked replication keeps for
tracks.csv and units.csv.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from convoysim.model import Plan

MAX_PRECISION_REPLICATIONS = 20_000
"""The most replications `convoysim run --precision` runs when `-n` does not cap it."""

BYTES_PER_INCIDENT = 150
"""Memory a recorded incident costs (a tuple of four in the record), rounded up."""
BYTES_PER_RECORD = 2_500
"""A replication's record without incidents: counters, hours by activity, arrivals. The baseline's
records take 3.7 kB each with 14 incidents (tracemalloc, 2,000 replications, CPython 3.11)."""
BYTES_PER_TRACK_POINT = 120
"""A tracked replication keeps the head's (t, km) at every booked event, for time-distance charts."""
BYTES_PER_UNIT_POINT = 300
"""A tracked replication keeps (unit, t, head km, tail km) at every change of motion of every unit
(about 170 bytes), and units.csv's text is built whole when written (its line and the joined copy)."""
BYTES_PER_STREAMED_VALUE = 8
"""A run that streams to its directory keeps, per replication, only a row of arrival hours (one
float per waypoint) and a row of documented counts (one integer each)."""
DEFAULT_MAX_EVENTS = 1_000_000
"""Per replication; the baseline books about 100. A million takes about 20 s."""
DEFAULT_MAX_MEMORY_MB = 4_000
"""For the records of a whole run, which are kept until the run is written."""


class WorkLimitError(Exception):
    """A run whose estimated work or memory is above the limit; the message says what drives it."""


@dataclass(frozen=True)
class Work:
    """Expected events of one replication by what causes them; `recorded` are those kept as
    incidents in the record (and so in memory until the run is written)."""

    parts: dict[str, float]
    recorded: frozenset[str] = frozenset()
    unit_points: float = 0.0
    """Rows of units.csv one tracked replication writes (every unit at each change of its motion)."""

    @property
    def events(self) -> float:
        return sum(self.parts.values())

    @property
    def incidents(self) -> float:
        return sum(v for k, v in self.parts.items() if k in self.recorded)

    def largest(self) -> str:
        return max(self.parts, key=lambda k: self.parts[k])

    def causes(self) -> str:
        """The two largest causes with their counts, in words (the second often drives the first:
        march units repeat the lead's stops)."""
        top = sorted(self.parts, key=lambda k: -self.parts[k])[:2]
        return "; then ".join(f"{k}: {self.parts[k]:,.0f}" for k in top if self.parts[k] > 0)


def _road_incidents(plan: Plan) -> dict[str, float]:
    """IEDs are drawn at the highest density the schedule reaches (overlapping periods multiplied)."""
    ieds = sum(leg.ied_per_km * leg.length_km for leg in plan.legs) * plan.ied_by_date.highest
    breakdowns = max(plan.roster.failures_total_per_km, plan.vehicles * plan.breakdowns_per_vehicle_km) * plan.total_km
    return {"IEDs (threats.ied)": ieds, "breakdowns (convoy.breakdowns)": breakdowns}


def _moving_hours(plan: Plan) -> float:
    """Hours on the move: the route at the mean speed of its slowest leg, at most the horizon's march hours."""
    slowest = min((leg.speed_factor for leg in plan.legs), default=1.0) * plan.speed_kmh.mean()
    on_horizon = plan.horizon_h * plan.march.hours_per_day / 24.0
    return min(on_horizon, plan.total_km / slowest) if slowest > 0 else on_horizon


def _ambushes(plan: Plan) -> dict[str, float]:
    rate = (
        max((leg.ambush_per_h for leg in plan.legs), default=0.0)
        * max(1.0, plan.drone_hazard_factor)
        * plan.ambush_by_date.highest
    )
    ambushes = rate * _moving_hours(plan)
    return {"ambushes (threats.ambush)": ambushes, "engagements and regroups (threats.ambush)": 2.0 * ambushes}


def _schedule_changes(plan: Plan) -> dict[str, float]:
    """A movement segment ends at every date a threat's factor changes."""
    changes = plan.ied_by_date.changes + plan.ambush_by_date.changes
    return {"schedule changes (threats.*.schedule)": float(changes)} if changes else {}


def _positions(plan: Plan) -> dict[str, float]:
    """Each defended position is a fight or a detour: a halt, a casevac, and a recovery per vehicle hit."""
    if not plan.positions:
        return {}
    per_position = [
        4.0 + 3.0 * min(float(plan.vehicles), p.spec.vehicles_hit.mean() * 4.0 + 1.0) for p in plan.positions
    ]
    return {"defended positions (threats.positions)": sum(per_position)}


def _halts(plan: Plan) -> dict[str, float]:
    """Night halts (and their harassment) happen between days of marching, not during pauses."""
    days = _days(plan)
    contested_km = sum(leg.length_km for leg in plan.legs if leg.contested)
    per_night = plan.harassment.per_night * contested_km / plan.total_km if plan.total_km > 0 else 0.0
    return {
        "night halts (convoy.march_windows)": 0.0 if plan.march.always else days * max(1, len(plan.march.day)),
        "harassment (threats.harassment)": per_night * days,
        "waypoint stops (halts)": float(sum(len(s) + 1 for s in plan.stops)),
    }


def _coverage(plan: Plan) -> dict[str, float]:
    edges = sum(len(r.intervals_km) * 2 + 2 for r in plan.coverage.rings)
    return {"drone ring edges (drones.bases)": float(edges * (len(plan.legs) + 1))}


def _days(plan: Plan) -> float:
    return _moving_hours(plan) / max(plan.march.hours_per_day, 1e-9) + 1.0


def _rest_halts(plan: Plan) -> dict[str, float]:
    """One short halt after the first hour of each day's march, then one every `every_h`."""
    rest = plan.rest_halts
    if rest is None:
        return {}
    return {"rest halts (convoy.rest_halts)": _days(plan) + _moving_hours(plan) / rest.every_h}


def _march_units(plan: Plan) -> dict[str, float]:
    """Each unit behind the lead moves and halts when the unit ahead does, and waits for its own recoveries."""
    followers = len(plan.roster.units) - 1
    if followers <= 0:
        return {}
    return {"march units following (convoy.march_units)": 2.0 * followers * _lead_changes(plan)}


def _lead_changes(plan: Plan) -> float:
    """Changes of motion of the lead unit, which every unit behind it repeats."""
    lead = sum(
        v
        for part in (
            _road_incidents(plan),
            _ambushes(plan),
            _halts(plan),
            _rest_halts(plan),
            _schedule_changes(plan),
            _positions(plan),
        )
        for v in part.values()
    )
    return lead + len(plan.legs) + 1


def _sorties(plan: Plan) -> dict[str, float]:
    """Each airframe flies a sortie per endurance and turnaround, in four steps, and checks each day."""
    total = 0.0
    for fleet in plan.fleets:
        cycle_h = max(fleet.endurance_h + fleet.turnaround_h, 1.0)
        total += fleet.airframes * (4.0 * (plan.horizon_h / cycle_h + 1.0) + plan.horizon_h / 24.0)
    return {"drone sorties (drones.bases.*.fleet)": total} if total else {}


ESTIMATORS: list[Callable[[Plan], dict[str, float]]] = [
    _road_incidents,
    _ambushes,
    _halts,
    _coverage,
    _rest_halts,
    _schedule_changes,
    _positions,
    _march_units,
    _sorties,
]
"""One function per process of the model, each returning expected events by cause."""
RECORDED = {
    "IEDs (threats.ied)",
    "breakdowns (convoy.breakdowns)",
    "ambushes (threats.ambush)",
    "harassment (threats.harassment)",
    "defended positions (threats.positions)",
}
"""Causes whose events the record keeps as incidents; a new process adds its causes here."""


def estimate(plan: Plan) -> Work:
    parts: dict[str, float] = {"legs": float(len(plan.legs))}
    for estimator in ESTIMATORS:
        parts.update(estimator(plan))
    return Work(parts, frozenset(RECORDED), 2.0 * len(plan.roster.units) * _lead_changes(plan))


def check_work(
    plan: Plan,
    replications: int,
    max_events: int = DEFAULT_MAX_EVENTS,
    max_memory_mb: int = DEFAULT_MAX_MEMORY_MB,
    tracked: int = 0,
    streamed_columns: int | None = None,
) -> Work:
    """Refuse (WorkLimitError) a run whose replications would book more than `max_events` events
    each, or whose records (and `tracked` replications' head paths) would take more than
    `max_memory_mb`; return the estimate otherwise. A run that streams its records to disk keeps
    only `streamed_columns` numbers per replication (arrival hours and documented counts)."""
    work = estimate(plan)
    events = work.events
    if not math.isfinite(events) or events > max_events:
        raise WorkLimitError(
            f"one replication would book about {events:,.0f} events, above the limit of {max_events:,} "
            f"(mostly {work.causes()}); check those values, or raise --max-events"
        )
    per_replication = (
        BYTES_PER_RECORD + BYTES_PER_INCIDENT * work.incidents
        if streamed_columns is None
        else BYTES_PER_STREAMED_VALUE * streamed_columns
    )
    records_mb = replications * per_replication / 1e6
    paths_mb = (
        min(tracked, replications) * (BYTES_PER_TRACK_POINT * events + BYTES_PER_UNIT_POINT * work.unit_points) / 1e6
    )
    if records_mb + paths_mb > max_memory_mb:
        paths = (
            f", {paths_mb:,.0f} MB of them the paths of {min(tracked, replications)} tracked replications "
            "(tracks.csv, units.csv: every march unit's changes of motion)"
            if paths_mb > records_mb
            else ""
        )
        raise WorkLimitError(
            f"{replications:,} replications would hold about {records_mb + paths_mb:,.0f} MB of records{paths}, "
            f"above the limit of {max_memory_mb:,} MB; "
            f"{'use fewer march units' if paths else 'run fewer replications'}, or raise --max-memory-mb"
        )
    return work
