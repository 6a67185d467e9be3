"""All random numbers of one replication, drawn up front in numpy batches.

Drawing everything before the clock starts keeps per-event Python work small and makes a
replication a pure function of its generator: the same stream always gives the same march.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convoysim.model.plan import Plan

ROAD_IED_FOUND, ROAD_IED_STRIKE, ROAD_BREAKDOWN = 0, 1, 2
"""Kinds of incident that wait at a fixed place on the road for the column to reach it."""

HAZARD_BATCH = 16
"""Ambushes and harassments drawn ahead; more are drawn in the rare run that uses them all."""


@dataclass
class RoadIncidents:
    """Incidents sorted by road position; `value` and `delay_h` mean what the kind says."""

    km: list[float]
    kind: list[int]
    vehicles: list[int]
    delay_h: list[float]
    accept: list[float]
    """Uniform draws that thin breakdowns as vehicles are lost (a lost vehicle cannot fail)."""


@dataclass
class HazardDraws:
    """Unit-exponential exposure thresholds and the consequences of each event, in order."""

    threshold: list[float]
    duration_h: list[float]
    vehicles: list[int]
    halt: list[bool]
    regroup_h: list[float]


@dataclass
class Draws:
    leg_speed_kmh: list[float]
    road: RoadIncidents
    ambush: HazardDraws
    harassment: HazardDraws
    stop_h: list[list[float]]
    """Duration of each waypoint stop, NaN for holds (they end at a date)."""


def draw_road_incidents(plan: Plan, rng: np.random.Generator) -> RoadIncidents:
    ied = plan.ied
    lengths = np.array([leg.length_km for leg in plan.legs])
    starts = np.array([leg.start_km for leg in plan.legs])
    rates = np.array([leg.ied_per_km for leg in plan.legs])
    counts = rng.poisson(rates * lengths)
    n_ied = int(counts.sum())
    leg_of = np.repeat(np.arange(len(plan.legs)), counts)
    ied_km = starts[leg_of] + rng.random(n_ied) * lengths[leg_of]
    found = rng.random(n_ied) < ied.detection_prob
    ied_vehicles = np.where(found, 0, ied.vehicles_destroyed.sample(rng, n_ied).astype(int))
    ied_delay = np.where(found, ied.clearance_delay_h.sample(rng, n_ied), ied.delay_h.sample(rng, n_ied))
    ied_kind = np.where(found, ROAD_IED_FOUND, ROAD_IED_STRIKE)

    expected = plan.vehicles * plan.total_km * plan.breakdowns_per_vehicle_km
    n_bd = int(rng.poisson(expected)) if expected > 0 else 0
    bd_km = rng.random(n_bd) * plan.total_km
    repair = plan.repair_h.sample(rng, n_bd)
    accept = rng.random(n_bd)

    km = np.concatenate([ied_km, bd_km])
    order = np.argsort(km, kind="stable")
    return RoadIncidents(
        km=km[order].tolist(),
        kind=np.concatenate([ied_kind, np.full(n_bd, ROAD_BREAKDOWN)])[order].tolist(),
        vehicles=np.concatenate([ied_vehicles, np.ones(n_bd, dtype=int)])[order].tolist(),
        delay_h=np.concatenate([ied_delay, repair])[order].tolist(),
        accept=np.concatenate([np.zeros(n_ied), accept])[order].tolist(),
    )


def draw_hazard(threat, rng: np.random.Generator, duration, regroup, size: int = HAZARD_BATCH) -> HazardDraws:
    """A batch of hazard events; `duration` and `regroup` are the threat's distributions."""
    halt_prob = getattr(threat, "halt_prob", 0.0)
    return HazardDraws(
        threshold=rng.exponential(1.0, size).tolist(),
        duration_h=duration.sample(rng, size).tolist(),
        vehicles=threat.vehicles_lost.sample(rng, size).astype(int).tolist(),
        halt=(rng.random(size) < halt_prob).tolist() if halt_prob > 0 else [False] * size,
        regroup_h=regroup.sample(rng, size).tolist() if regroup is not None else [0.0] * size,
    )


def draw_ambushes(plan: Plan, rng: np.random.Generator) -> HazardDraws:
    return draw_hazard(plan.ambush, rng, plan.ambush.engagement_h, plan.ambush.regroup_h)


def draw_harassments(plan: Plan, rng: np.random.Generator) -> HazardDraws:
    return draw_hazard(plan.harassment, rng, plan.harassment.delay_h, None)


def draw_replication(plan: Plan, rng: np.random.Generator) -> Draws:
    speeds = plan.speed_kmh.sample(rng, len(plan.legs)) * np.array([leg.speed_factor for leg in plan.legs])
    stop_h = [
        [float(s.duration_h.sample(rng, 1)[0]) if s.duration_h is not None else float("nan") for s in stops]
        for stops in plan.stops
    ]
    return Draws(
        leg_speed_kmh=speeds.tolist(),
        road=draw_road_incidents(plan, rng),
        ambush=draw_ambushes(plan, rng),
        harassment=draw_harassments(plan, rng),
        stop_h=stop_h,
    )
