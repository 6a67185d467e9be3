"""What one particle's distance needs (`CalibrationProblem`), and where particles are simulated
(`Evaluator`: on any `convoysim.runs.pool` executor, results in proposal order).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convoysim.calibration.distances import (
    COUNT_WEIGHT_H,
    DISTANCES,
    RELATIVE,
    RELATIVE_CAP,
    TERMS,
    Targets,
    documented_duration_h,
)
from convoysim.calibration.priors import UniformPrior
from convoysim.model import compile_plan
from convoysim.runs.counts import count_matrix, count_windows, counted_incidents
from convoysim.runs.montecarlo import run_replications
from convoysim.runs.pool import DaskExecutor, Executor, LocalExecutor, Pool
from convoysim.scenario.loading import ScenarioError, ScenarioSource
from convoysim.scenario.paths import apply_values
from convoysim.scenario.schema import Scenario


@dataclass
class CalibrationProblem:
    """What one particle's distance needs: the scenarios, the priors, the targets, the distance.

    With `others`, one parameter set is fitted to several scenarios (convoys) at once: each
    parameter is set in every scenario (or, `NAME:PATH`, in the one named), every scenario is simulated, and the
    distance is the mean over scenarios of each one's distance (every convoy weighs the same,
    whatever its number of documents). A scenario's distance is the mean over its documented
    windows, dates in hours and counts at `count_weight_h` hours per count outside the window; with a
    relative distance (`RELATIVE`), divided by its documented duration in hours and capped at
    `RELATIVE_CAP`, so the distance is a share of each march's length and a corpus of 2-day and
    40-day marches weighs them alike.
    """

    source: ScenarioSource
    scenario: Scenario
    priors: tuple[UniformPrior, ...]
    replications: int = 9
    distance: str = "window"
    others: tuple[tuple[ScenarioSource, Scenario], ...] = ()
    count_weight_h: float = COUNT_WEIGHT_H
    targets: Targets = field(init=False)

    def __post_init__(self) -> None:
        if self.distance not in DISTANCES:
            raise ValueError(f"unknown distance '{self.distance}'; use one of {', '.join(DISTANCES)}")
        if self.replications < 1:
            raise ValueError("replications per particle must be at least 1")
        if not (self.count_weight_h >= 0 and math.isfinite(self.count_weight_h)):
            raise ValueError("the weight of a count must be a finite number of hours, 0 or more")
        names = [sc.name for _, sc in self.members]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"scenario name '{name}' is given twice; a joint fit needs distinct convoys")
        for _, sc in self.members:
            if not sc.documented:
                raise ValueError(f"scenario '{sc.name}' has no documented milestones to calibrate against")
        self.targets = Targets.from_scenario(self.scenario) if self.scenario.documented_dates else Targets.empty()
        self._targets = [
            Targets.from_scenario(sc) if sc.documented_dates else Targets.empty() for _, sc in self.members
        ]
        self._own = [[p.scenario in (None, sc.name) for p in self.priors] for _, sc in self.members]
        self._scale_h = [self._scale(sc) for _, sc in self.members]

    def _scale(self, scenario: Scenario) -> float:
        """What a scenario's distance is divided by: its documented duration (relative distances), else 1."""
        if self.distance not in RELATIVE:
            return 1.0
        duration = documented_duration_h(scenario)
        if not duration > 0:
            raise ValueError(
                f"scenario '{scenario.name}': documented: the {self.distance} distance divides by the documented "
                "duration of the march, and this scenario documents no arrival after its start"
            )
        return duration

    @property
    def names(self) -> list[str]:
        """The scenarios' names, in the order of `members` (and of each particle's per-convoy distances)."""
        return [sc.name for _, sc in self.members]

    @property
    def members(self) -> list[tuple[ScenarioSource, Scenario]]:
        """Every scenario of the fit, the first one first."""
        return [(self.source, self.scenario), *self.others]

    @property
    def paths(self) -> list[str]:
        """The parameters' names (their paths, `NAME:`-prefixed when set in one scenario only)."""
        return [p.name for p in self.priors]

    def values(self, theta: Sequence[float]) -> dict[str, float | int]:
        """Parameter name -> value at `theta`."""
        return {p.name: p.value(x) for p, x in zip(self.priors, theta)}

    def values_for(self, k: int, theta: Sequence[float]) -> dict[str, float | int]:
        """Scenario `k`'s path -> value at `theta`, for the parameters set in it."""
        return self.member_values(k, self.values(theta))

    def member_values(self, k: int, named: Mapping[str, float | int]) -> dict[str, float | int]:
        """Scenario `k`'s path -> value, from values by parameter name (posterior medians, say)."""
        return {p.path: named[p.name] for p, own in zip(self.priors, self._own[k]) if own}

    def applies_to(self, name: str) -> list[str]:
        """Names of the scenarios the parameter of this name is set in."""
        return [
            sc.name
            for (_, sc), own in zip(self.members, self._own)
            if any(o and p.name == name for p, o in zip(self.priors, own))
        ]

    def scenario_at(self, theta: Sequence[float], k: int = 0) -> Scenario:
        source, scenario = self.members[k]
        return apply_values(source, self.values_for(k, theta), scenario)

    def arrivals(self, theta: Sequence[float], sim_seed: int, k: int = 0) -> tuple[np.ndarray, float]:
        """Arrival matrix (replications x waypoints, hours) of scenario `k` at `theta`, and its horizon."""
        records, plan = self._simulate(theta, sim_seed, k)
        return np.array([r.arrival_h for r in records], dtype=float), plan.horizon_h

    def _simulate(self, theta: Sequence[float], sim_seed: int, k: int):
        plan = compile_plan(self.scenario_at(theta, k))
        return run_replications(plan, sim_seed, range(self.replications)), plan

    def member_distance(self, theta: Sequence[float], sim_seed: int, k: int) -> float:
        """Scenario `k`'s distance: the mean of its per-window terms (dates in hours, counts weighted),
        over its documented duration for a relative distance."""
        records, plan = self._simulate(theta, sim_seed, k)
        date_terms, count_terms = TERMS[self.distance]
        terms = []
        if len(self._targets[k].names):
            arrivals = np.array([r.arrival_h for r in records], dtype=float)
            terms.extend(date_terms(arrivals, self._targets[k], plan.horizon_h))
        windows = count_windows(self.members[k][1], plan.road_km)
        if windows:
            counts = count_matrix([counted_incidents(r) for r in records], windows, plan.start)
            terms.extend(self.count_weight_h * count_terms(counts, windows))
        if self.distance in RELATIVE:
            return min(RELATIVE_CAP, float(np.mean(terms)) / self._scale_h[k])
        return float(np.mean(terms))

    def member_distances(self, theta: Sequence[float], sim_seed: int) -> np.ndarray:
        """The particle's distance to each scenario's documents, in the order of `members`; +inf
        for every one when a scenario is invalid at `theta`. Every scenario runs on the particle's seed."""
        try:
            return np.array([self.member_distance(theta, sim_seed, k) for k in range(len(self.members))])
        except ScenarioError:
            return np.full(len(self.members), math.inf)

    def distance_of(self, theta: Sequence[float], sim_seed: int) -> float:
        """The particle's distance to the documents of every scenario: the mean of `member_distances`."""
        return joint_distance(self.member_distances(theta, sim_seed))

    def predictive_records(self, k: int, draws: Sequence[Proposal]) -> list:
        """One replication of scenario `k` at each drawn particle, replication `i` on the draw's seed:
        a sample of the posterior predictive distribution (parameters and the model's own chance). A
        draw at which the scenario is invalid is left out."""
        out = []
        for theta, seed in draws:
            try:
                plan = compile_plan(self.scenario_at(theta, k))
            except ScenarioError:
                continue
            out.extend(run_replications(plan, seed, range(1)))
        return out


def joint_distance(member_distances: np.ndarray, keep: np.ndarray | None = None) -> float:
    """The joint distance of one particle: the mean of its per-scenario distances (over `keep`, a
    mask of the scenarios counted, all by default); +inf if any of them is."""
    d = np.asarray(member_distances, dtype=float)
    return float(np.mean(d if keep is None else d[keep]))


Proposal = tuple[np.ndarray, int]
"""A particle to simulate and the seed of its replications."""


def proposal_blocks(proposals: Sequence[Proposal], workers: int) -> list[Sequence[Proposal]]:
    """About four blocks per worker: few enough to keep transfer small, enough to balance the load."""
    size = max(1, math.ceil(len(proposals) / (4 * workers)))
    return [proposals[a : a + size] for a in range(0, len(proposals), size)]


def distances_of(problem: CalibrationProblem, proposals: Sequence[Proposal]) -> list[np.ndarray]:
    """A block of particles' per-scenario distances (pool work: the problem is sent to each worker once)."""
    return [problem.member_distances(theta, s) for theta, s in proposals]


def predictive_of(problem: CalibrationProblem, task: tuple[int, Sequence[Proposal]]) -> list:
    """Pool work: `CalibrationProblem.predictive_records` of one scenario and a block of draws."""
    k, draws = task
    return problem.predictive_records(k, draws)


class Evaluator:
    """Simulates particles on an executor's pool, opened when the with-block is entered and kept
    for every generation (the problem is sent to each worker once). Results come back in proposal
    order, so the posterior depends on the seed only, never on where particles ran or how many
    workers there were."""

    def __init__(self, problem: CalibrationProblem, executor: Executor | None = None):
        self.problem, self.executor = problem, executor or LocalExecutor(1)
        self._pool: Pool | None = None

    @property
    def workers(self) -> int:
        return self._pool.workers if self._pool is not None else self.executor.workers

    def __enter__(self) -> "Evaluator":
        pool = self.executor.pool(self.problem)
        pool.__enter__()
        self._pool = pool
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.__exit__(*exc)

    def distances(self, proposals: Sequence[Proposal]) -> list[float]:
        """The proposals' joint distances, in proposal order."""
        return [joint_distance(d) for d in self.member_distances(proposals)]

    def member_distances(self, proposals: Sequence[Proposal]) -> list[np.ndarray]:
        """The proposals' per-scenario distances, in proposal order. Outside a with-block, a pool is
        opened for this call alone (free for one worker; use the with-block to keep worker processes)."""
        if self._pool is None:
            with self:
                return self.member_distances(proposals)
        blocks = proposal_blocks(proposals, self._pool.workers)
        return [d for block in self._pool.map(distances_of, blocks) for d in block]

    def predictive(self, draws: Sequence[tuple[int, Sequence[Proposal]]]) -> list[list]:
        """For each (scenario index, draws) task, the records of `predictive_records`, in task order."""
        if self._pool is None:
            with self:
                return self.predictive(draws)
        return list(self._pool.map(predictive_of, draws))


class SerialEvaluator(Evaluator):
    """Particles one after another in this process; the reference the others must match."""

    def __init__(self, problem: CalibrationProblem):
        super().__init__(problem, LocalExecutor(1))


class PoolEvaluator(Evaluator):
    """Particles on `workers` local worker processes."""

    def __init__(self, problem: CalibrationProblem, workers: int):
        super().__init__(problem, LocalExecutor(workers))


class DaskEvaluator(Evaluator):
    """Particles on a Dask cluster (a scheduler by address, or a LocalCluster started for the fit)."""

    def __init__(
        self, problem: CalibrationProblem, scheduler: str | None = None, workers: int = 2, processes: bool = True
    ):
        super().__init__(problem, DaskExecutor(scheduler, workers, processes))


def evaluator_for(problem: CalibrationProblem, workers: int) -> Evaluator:
    """Particles on `workers` local processes (this one alone for 1)."""
    return Evaluator(problem, LocalExecutor(workers))
