"""A replication's work, estimated from the compiled plan before anything runs, and a guard that
refuses a run above a limit instead of hanging for hours or exhausting memory.

The estimate is an upper bound of the expected counts (not of every draw): road incidents are the
Poisson means along the road, ambushes and harassment assume the column marches or halts until
the horizon. Each process of the model contributes one small function (`ESTIMATORS`); a new
process (drone sorties, march units) adds its own, so the guard grows with the model.
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

    @property
    def events(self) -> float:
        return sum(self.parts.values())

    @property
    def incidents(self) -> float:
        return sum(v for k, v in self.parts.items() if k in self.recorded)

    def largest(self) -> str:
        return max(self.parts, key=lambda k: self.parts[k])


def _road_incidents(plan: Plan) -> dict[str, float]:
    ieds = sum(leg.ied_per_km * leg.length_km for leg in plan.legs)
    breakdowns = max(plan.roster.failures_total_per_km, plan.vehicles * plan.breakdowns_per_vehicle_km) * plan.total_km
    return {"IEDs (threats.ied)": ieds, "breakdowns (convoy.breakdowns)": breakdowns}


def _moving_hours(plan: Plan) -> float:
    """Hours on the move: the route at the mean speed of its slowest leg, at most the horizon's march hours."""
    slowest = min((leg.speed_factor for leg in plan.legs), default=1.0) * plan.speed_kmh.mean()
    on_horizon = plan.horizon_h * plan.march.hours_per_day / 24.0
    return min(on_horizon, plan.total_km / slowest) if slowest > 0 else on_horizon


def _ambushes(plan: Plan) -> dict[str, float]:
    rate = max((leg.ambush_per_h for leg in plan.legs), default=0.0) * max(1.0, plan.drone_hazard_factor)
    return {"ambushes (threats.ambush)": rate * _moving_hours(plan)}


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
    lead = sum(v for part in (_road_incidents(plan), _ambushes(plan), _halts(plan), _rest_halts(plan)) for v in part.values())
    return {"march units following (convoy.march_units)": 2.0 * followers * (lead + len(plan.legs) + 1)}


def _sorties(plan: Plan) -> dict[str, float]:
    """Each airframe flies a sortie per endurance and turnaround, in four steps, and checks each day."""
    total = 0.0
    for fleet in plan.fleets:
        cycle_h = max(fleet.endurance_h + fleet.turnaround_h, 1.0)
        total += fleet.airframes * (4.0 * (plan.horizon_h / cycle_h + 1.0) + plan.horizon_h / 24.0)
    return {"drone sorties (drones.bases.*.fleet)": total} if total else {}


ESTIMATORS: list[Callable[[Plan], dict[str, float]]] = [_road_incidents, _ambushes, _halts, _coverage, _rest_halts,
                                                       _march_units, _sorties]
"""One function per process of the model, each returning expected events by cause."""
RECORDED = {"IEDs (threats.ied)", "breakdowns (convoy.breakdowns)", "ambushes (threats.ambush)", "harassment (threats.harassment)"}
"""Causes whose events the record keeps as incidents; a new process adds its causes here."""


def estimate(plan: Plan) -> Work:
    parts: dict[str, float] = {"legs": float(len(plan.legs))}
    for estimator in ESTIMATORS:
        parts.update(estimator(plan))
    return Work(parts, frozenset(RECORDED))


def check_work(plan: Plan, replications: int, max_events: int = DEFAULT_MAX_EVENTS,
               max_memory_mb: int = DEFAULT_MAX_MEMORY_MB, tracked: int = 0, streamed_columns: int | None = None) -> Work:
    """Refuse (WorkLimitError) a run whose replications would book more than `max_events` events
    each, or whose records (and `tracked` replications' head paths) would take more than
    `max_memory_mb`; return the estimate otherwise. A run that streams its records to disk keeps
    only `streamed_columns` numbers per replication (arrival hours and documented counts)."""
    work = estimate(plan)
    events = work.events
    if not math.isfinite(events) or events > max_events:
        cause = work.largest()
        raise WorkLimitError(f"one replication would book about {events:,.0f} events, above the limit of {max_events:,} "
                             f"(mostly {cause}: {work.parts[cause]:,.0f}); check those values, or raise --max-events")
    per_replication = (BYTES_PER_RECORD + BYTES_PER_INCIDENT * work.incidents if streamed_columns is None
                       else BYTES_PER_STREAMED_VALUE * streamed_columns)
    memory_mb = (replications * per_replication
                 + min(tracked, replications) * BYTES_PER_TRACK_POINT * events) / 1e6
    if memory_mb > max_memory_mb:
        raise WorkLimitError(f"{replications:,} replications would hold about {memory_mb:,.0f} MB of records, above the "
                             f"limit of {max_memory_mb:,} MB; run fewer replications, or raise --max-memory-mb")
    return work
