"""Calibration: fit uncertain scenario parameters to the documented milestones by ABC-SMC.

Approximate Bayesian computation by sequential Monte Carlo (population Monte Carlo, Beaumont et
al. 2009, with the adaptive tolerance of Del Moral et al. 2012): a population of parameter vectors
("particles") is drawn from the prior, each is simulated and scored by its distance to the
documents, and every later generation moves the particles through a Gaussian kernel and keeps only
those closer than a tolerance that shrinks to a quantile of the last generation's distances.

Three pieces, swappable on their own: the priors (what varies, `UniformPrior`), the distance (how a
simulation is scored against documented windows, `DISTANCES`) and the evaluator (where particles
are simulated: `SerialEvaluator`, `PoolEvaluator`, `DaskEvaluator`). `run_abc_smc` ties them together.

Every random number comes from one seed: the proposal `j` of generation `t` draws from
`SeedSequence(seed, spawn_key=(t, j))`, and its replications from a seed drawn there, so a fixed
seed gives the same posterior on any number of workers, and a resumed run the same as an
uninterrupted one.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convoysim.runs.compare import crps_window
from convoysim.runs.counts import CountWindow, count_matrix, count_windows, counted_incidents, rps_window
from convoysim.scenario.loading import ScenarioError, ScenarioSource
from convoysim.model import compile_plan
from convoysim.runs.cluster import CONNECT_TIMEOUT_S, dask_client
from convoysim.runs.montecarlo import run_replications
from convoysim.scenario.paths import ParameterPathError, apply_values, full_tree, resolve
from convoysim.scenario.schema import Scenario
from convoysim.runs.workerwatch import watch_parent

MAX_PROPOSAL_TRIES = 1000
"""A perturbed particle outside the prior box is redrawn; after this many tries it is clipped."""

MAX_CORNERS = 6
"""Up to this many parameters every corner of the prior box is checked; beyond, each edge alone."""

LOW_ESS_SHARE = 0.25
"""Below this share of the population as effective sample size, the posterior is flagged as rough."""


class ParameterSpecError(ValueError):
    """A `--param PATH=LOW:HIGH` that cannot be used, with the reason."""

    def __init__(self, spec: str, reason: str):
        self.spec, self.reason = spec, reason
        super().__init__(f"--param {spec}: {reason}")


# -- priors ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UniformPrior:
    """A parameter named by its scenario path, equally likely anywhere in [low, high].

    `integer` parameters (a vehicle count) are rounded to the nearest whole number when applied.
    In a fit of several scenarios, `scenario` names the one scenario it is set in (`NAME:PATH`);
    without it, it is set in every scenario, and each must have it.
    """

    path: str
    low: float
    high: float
    integer: bool = False
    scenario: str | None = None

    @property
    def name(self) -> str:
        """The parameter's name in outputs: its path, prefixed by its scenario's name when scoped."""
        return f"{self.scenario}:{self.path}" if self.scenario else self.path

    @property
    def width(self) -> float:
        return self.high - self.low

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high

    def value(self, x: float) -> float | int:
        """The value written into the scenario for the particle coordinate `x`."""
        return int(round(x)) if self.integer else float(x)

    def as_spec(self) -> str:
        return f"{self.name}={self.low!r}:{self.high!r}"


MIN_PRIOR_WIDTH, MIN_PRIOR_RELATIVE_WIDTH = 1e-100, 1e-9
"""A prior narrower than this (absolute, or relative to its bounds) has no spread to fit: a range one
float apart, or of subnormal numbers, makes the particles' covariance singular."""
MAX_PRIOR_BOUND = 1e12
"""Larger prior bounds overflow the perturbation kernel's variance (x² past 1e308) into infinities."""


def parse_param(spec: str) -> UniformPrior:
    """`[SCENARIO:]PATH=LOW:HIGH` as a uniform prior; raises ParameterSpecError on a malformed spec."""
    name, eq, bounds = spec.partition("=")
    scenario, colon, path = name.strip().rpartition(":")
    path, scenario = path.strip(), (scenario.strip() or None)
    if not eq or not path or (colon and not scenario):
        raise ParameterSpecError(spec, "write PATH=LOW:HIGH, e.g. convoy.speed_kmh.median=8:20 "
                                       "(or SCENARIO:PATH=LOW:HIGH to set it in one scenario of a joint fit)")
    low_text, colon, high_text = bounds.partition(":")
    if not colon:
        raise ParameterSpecError(spec, f"the range '{bounds}' needs LOW:HIGH, e.g. 8:20")
    try:
        low, high = float(low_text), float(high_text)
    except ValueError:
        raise ParameterSpecError(spec, f"the range '{bounds}' is not two numbers LOW:HIGH") from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ParameterSpecError(spec, "the range must be finite")
    if max(abs(low), abs(high)) > MAX_PRIOR_BOUND:
        raise ParameterSpecError(spec, f"bounds beyond {MAX_PRIOR_BOUND:g} overflow the fit's arithmetic; no scenario value is that large")
    if not low < high:
        raise ParameterSpecError(spec, f"LOW ({low:g}) must be below HIGH ({high:g})")
    if high - low < max(MIN_PRIOR_WIDTH, MIN_PRIOR_RELATIVE_WIDTH * max(abs(low), abs(high))):
        raise ParameterSpecError(spec, f"the range {low!r} to {high!r} is too narrow to fit (its particles' spread would "
                                       "underflow); give a wider range, or set the value in the scenario")
    return UniformPrior(path, low, high, scenario=scenario)


def _value_at(tree: Any, keys: Sequence[str | int]) -> Any:
    for key in keys:
        tree = tree[key]
    return tree


def check_priors(source: ScenarioSource, scenario: Scenario, priors: Sequence[UniformPrior],
                 others: Sequence[tuple[ScenarioSource, Scenario]] = ()) -> list[UniformPrior]:
    """The priors checked against the scenario (and the `others` of a joint fit): each path names
    one number in every scenario it is set in (all of them, or the one its `NAME:` prefix names),
    and each scenario is valid at the edges of the prior box (so a particle inside it is, for
    box-shaped constraints).

    Raises ParameterPathError (with the closest valid path) or ParameterSpecError.
    """
    members = [(source, scenario), *others]
    names = [sc.name for _, sc in members]
    fulls = [full_tree(sc) for _, sc in members]
    checked: list[UniformPrior] = []
    seen: set[tuple[Any, ...]] = set()
    for prior in priors:
        if prior.scenario is not None and prior.scenario not in names:
            raise ParameterSpecError(prior.as_spec(), f"no scenario named '{prior.scenario}' in this fit "
                                                      f"(scenarios: {', '.join(names)})")
        targets = [i for i, name in enumerate(names) if prior.scenario in (None, name)]
        missing = [i for i in targets if not _resolves(fulls[i], prior.path)]
        if len(missing) == len(targets):
            resolve(fulls[missing[0]], prior.path)  # raises ParameterPathError with the closest valid path
        if missing:
            having = next(names[i] for i in targets if i not in missing)
            raise ParameterSpecError(prior.as_spec(), f"scenario '{names[missing[0]]}' has no {prior.path}; to fit it in "
                                                      f"'{having}' only, write {having}:{prior.path}=LOW:HIGH")
        found: list[Any] = []
        for i in targets:
            keys = tuple(resolve(fulls[i], prior.path))
            if (i, keys) in seen:
                raise ParameterSpecError(prior.as_spec(), "this parameter is given twice")
            seen.add((i, keys))
            found.append(_value_at(fulls[i], keys))
        for current in found:
            _check_number(prior, current)
        integer = isinstance(found[0], int)
        if integer and (prior.low != round(prior.low) or prior.high != round(prior.high)):
            raise ParameterSpecError(prior.as_spec(), "this parameter is a whole number; give whole-number bounds")
        checked.append(UniformPrior(prior.path, prior.low, prior.high, integer, prior.scenario))
    for (src, sc), name in zip(members, names):
        own = [p for p in checked if p.scenario in (None, name)]
        for values in _edges(own):
            try:
                apply_values(src, values, sc)
            except ScenarioError as err:
                at = ", ".join(f"{path}={value:g}" for path, value in values.items())
                spec = " ".join(p.as_spec() for p in own if p.path in values)
                where = f" '{name}'" if others else ""
                raise ParameterSpecError(spec, f"the scenario{where} is invalid at {at}: "
                                               f"{err.path + ': ' if err.path else ''}{err.reason}") from None
    return checked


def _check_number(prior: UniformPrior, current: Any) -> None:
    if isinstance(current, dict):
        numbers = [k for k, v in current.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        example = f"{prior.path}.{numbers[0]}" if numbers else prior.path
        raise ParameterPathError(prior.path, "names a distribution or section, not a number; name one of its numbers", example)
    if isinstance(current, (bool, str)):
        raise ParameterSpecError(prior.as_spec(), f"the value there is {current!r}, not a number")


def _resolves(full: Any, path: str) -> bool:
    try:
        resolve(full, path)
    except ParameterPathError:
        return False
    return True


def _edges(priors: Sequence[UniformPrior]) -> list[dict[str, float | int]]:
    """The points of the prior box at which the scenario must be valid."""
    if len(priors) <= MAX_CORNERS:
        return [{p.path: p.value(x) for p, x in zip(priors, corner)} for corner in itertools.product(*[(p.low, p.high) for p in priors])]
    return [{p.path: p.value(x)} for p in priors for x in (p.low, p.high)]


# -- distance -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """The documented milestones as columns of the arrival matrix and windows in model hours."""

    names: tuple[str, ...]
    columns: np.ndarray
    earliest_h: np.ndarray
    latest_h: np.ndarray

    @classmethod
    def empty(cls) -> "Targets":
        none = np.array([], dtype=float)
        return cls((), np.array([], dtype=int), none, none)

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> "Targets":
        names = scenario.waypoint_names
        docs = scenario.documented_dates
        if not docs:
            raise ValueError(f"scenario '{scenario.name}' has no documented milestones to calibrate against")
        return cls(
            tuple(m.waypoint for m in docs),
            np.array([names.index(m.waypoint) for m in docs], dtype=int),
            np.array([scenario.hours(m.earliest) for m in docs], dtype=float),
            np.array([scenario.hours(m.latest) for m in docs], dtype=float),
        )


def window_distance_h(arrivals_h: np.ndarray, targets: Targets, horizon_h: float) -> np.ndarray:
    """Hours from each simulated arrival to its documented window, 0 inside it.

    One row per replication, one column per milestone; a column that never arrives is placed at
    the horizon, so it counts against the parameters as the latest possible arrival.
    """
    x = np.asarray(arrivals_h, dtype=float)[:, targets.columns]
    x = np.where(np.isnan(x), horizon_h, x)
    return np.maximum(0.0, np.maximum(targets.earliest_h - x, x - targets.latest_h))


def window_terms(arrivals_h: np.ndarray, targets: Targets, horizon_h: float) -> np.ndarray:
    """Per milestone, the median over replications of the hours outside its window. The median
    keeps one unlucky replication (a rare ambush) from deciding a particle."""
    return np.median(window_distance_h(arrivals_h, targets, horizon_h), axis=0)


def crps_terms(arrivals_h: np.ndarray, targets: Targets, horizon_h: float) -> np.ndarray:
    """Per milestone, the replications' CRPS against the window (compare.crps_window)."""
    x = np.asarray(arrivals_h, dtype=float)[:, targets.columns]
    x = np.where(np.isnan(x), horizon_h, x)
    return np.array([crps_window(x[:, k], a, b) for k, (a, b) in enumerate(zip(targets.earliest_h, targets.latest_h))])


def median_window_distance(arrivals_h: np.ndarray, targets: Targets, horizon_h: float) -> float:
    """The default distance of the dates: window_terms averaged over milestones, so one badly
    documented date costs in proportion to its error and does not decide the fit alone."""
    return float(np.mean(window_terms(arrivals_h, targets, horizon_h)))


def mean_crps_distance(arrivals_h: np.ndarray, targets: Targets, horizon_h: float) -> float:
    """The alternative distance of the dates: crps_terms averaged over milestones; it also rewards
    a spread that matches the window's width."""
    return float(np.mean(crps_terms(arrivals_h, targets, horizon_h)))


def count_outside(counts: np.ndarray, low: int, high: int) -> np.ndarray:
    """Counts outside the window [low, high], 0 inside."""
    return np.maximum(0, np.maximum(low - counts, counts - high))


def window_count_terms(counts: np.ndarray, windows: Sequence[CountWindow]) -> np.ndarray:
    """Per documented count, the median over replications of the counts outside its window."""
    return np.array([float(np.median(count_outside(counts[:, k], w.low, w.high))) for k, w in enumerate(windows)])


def rps_count_terms(counts: np.ndarray, windows: Sequence[CountWindow]) -> np.ndarray:
    """Per documented count, the replications' RPS against its window (counts.rps_window)."""
    return np.array([rps_window(counts[:, k], w.low, w.high) for k, w in enumerate(windows)])


DISTANCES: dict[str, Callable[[np.ndarray, Targets, float], float]] = {
    "window": median_window_distance,
    "crps": mean_crps_distance,
}
"""The distance of the dates alone, by name (what `--distance` chooses)."""

TERMS = {
    "window": (window_terms, window_count_terms),
    "crps": (crps_terms, rps_count_terms),
}
"""Per-window terms of each distance: (dates, in hours; counts, in counts)."""

COUNT_WEIGHT_H = 12.0
"""Hours of distance that one count outside its documented window costs (the default of --count-weight-h)."""


# -- simulating one particle ----------------------------------------------------------------------


@dataclass
class CalibrationProblem:
    """What one particle's distance needs: the scenarios, the priors, the targets, the distance.

    With `others`, one parameter set is fitted to several scenarios (convoys) at once: each
    parameter is set in every scenario (or, `NAME:PATH`, in the one named), every scenario is simulated, and the
    distance is the mean over scenarios of each one's distance (every convoy weighs the same,
    whatever its number of documents). A scenario's distance is the mean over its documented
    windows, dates in hours and counts at `count_weight_h` hours per count outside the window.
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
        self._targets = [Targets.from_scenario(sc) if sc.documented_dates else Targets.empty() for _, sc in self.members]
        self._own = [[p.scenario in (None, sc.name) for p in self.priors] for _, sc in self.members]

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
        return [sc.name for (_, sc), own in zip(self.members, self._own)
                if any(o and p.name == name for p, o in zip(self.priors, own))]

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
        """Scenario `k`'s distance: the mean of its per-window terms (dates in hours, counts weighted)."""
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
        return float(np.mean(terms))

    def distance_of(self, theta: Sequence[float], sim_seed: int) -> float:
        """The particle's distance to the documents of every scenario (their mean); +inf when a
        scenario is invalid at `theta`. Every scenario runs on the particle's seed."""
        try:
            return float(np.mean([self.member_distance(theta, sim_seed, k) for k in range(len(self.members))]))
        except ScenarioError:
            return math.inf


Proposal = tuple[np.ndarray, int]
"""A particle to simulate and the seed of its replications."""


class SerialEvaluator:
    """Simulates particles one after another in this process; the reference the pool must match."""

    def __init__(self, problem: CalibrationProblem):
        self.problem = problem

    def __enter__(self) -> "SerialEvaluator":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def distances(self, proposals: Sequence[Proposal]) -> list[float]:
        return [self.problem.distance_of(theta, s) for theta, s in proposals]


_worker_problem: CalibrationProblem | None = None


def _init_worker(problem: CalibrationProblem, main_pid: int) -> None:
    global _worker_problem
    _worker_problem = problem
    watch_parent(main_pid)


def _distances_in_worker(proposals: Sequence[Proposal]) -> list[float]:
    assert _worker_problem is not None, "worker started without a calibration problem"
    return [_worker_problem.distance_of(theta, s) for theta, s in proposals]


class PoolEvaluator:
    """Simulates particles on local worker processes, started when the context is entered.

    Results come back in proposal order, so the posterior does not depend on the worker count.
    """

    def __init__(self, problem: CalibrationProblem, workers: int):
        self.problem, self.workers = problem, workers
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> "PoolEvaluator":
        self._pool = ProcessPoolExecutor(self.workers, initializer=_init_worker, initargs=(self.problem, os.getpid()))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def distances(self, proposals: Sequence[Proposal]) -> list[float]:
        assert self._pool is not None, "use the evaluator in a with-block"
        blocks = proposal_blocks(proposals, self.workers)
        return [d for block in self._pool.map(_distances_in_worker, blocks) for d in block]


def proposal_blocks(proposals: Sequence[Proposal], workers: int) -> list[Sequence[Proposal]]:
    """About four blocks per worker: few enough to keep transfer small, enough to balance the load."""
    size = max(1, math.ceil(len(proposals) / (4 * workers)))
    return [proposals[a:a + size] for a in range(0, len(proposals), size)]


def _distances_of(proposals: Sequence[Proposal], problem: CalibrationProblem) -> list[float]:
    return [problem.distance_of(theta, s) for theta, s in proposals]


class DaskEvaluator:
    """Simulates particles on a Dask cluster (a scheduler by address, or a LocalCluster started
    when the context is entered). The problem is sent to every worker once; results come back in
    proposal order, so the posterior is the local pool's for the same seed."""

    connect_timeout_s = CONNECT_TIMEOUT_S

    def __init__(self, problem: CalibrationProblem, scheduler: str | None = None, workers: int = 2,
                 processes: bool = True):
        self.problem, self.scheduler, self.workers, self.processes = problem, scheduler, workers, processes
        self._cluster: Any = None
        self._client: Any = None
        self._problem: Any = None

    def __enter__(self) -> "DaskEvaluator":
        self._cluster = dask_client(self.scheduler, self.workers, self.processes, self.connect_timeout_s)
        self._client, self.workers = self._cluster.__enter__()
        try:
            self._problem = self._client.scatter(self.problem, broadcast=True)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._cluster is not None:
            self._cluster.__exit__(None, None, None)
            self._cluster = self._client = self._problem = None

    def distances(self, proposals: Sequence[Proposal]) -> list[float]:
        assert self._client is not None, "use the evaluator in a with-block"
        futures = self._client.map(_distances_of, proposal_blocks(proposals, self.workers), problem=self._problem,
                                   pure=False)
        return [d for block in self._client.gather(futures) for d in block]


Evaluator = SerialEvaluator | PoolEvaluator | DaskEvaluator


def evaluator_for(problem: CalibrationProblem, workers: int) -> SerialEvaluator | PoolEvaluator:
    return SerialEvaluator(problem) if workers <= 1 else PoolEvaluator(problem, workers)


# -- ABC-SMC --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AbcSettings:
    """How the sampler runs. `budget` counts particle evaluations (each `replications` runs)."""

    seed: int = 0
    population_size: int = 100
    budget: int = 2000
    max_generations: int = 20
    quantile: float = 0.5
    """Each generation's tolerance is this quantile of the previous generation's distances."""
    min_acceptance: float = 0.02
    """Stop once a generation accepts fewer than this share of its proposals."""
    min_epsilon: float = 0.0
    """Stop once the tolerance reaches this distance (0: every milestone median in its window)."""

    def __post_init__(self) -> None:
        if self.population_size < 2:
            raise ValueError("the population needs at least 2 particles")
        if self.budget < 2 * self.population_size:
            raise ValueError(f"a budget of {self.budget} evaluations cannot fill two generations of "
                             f"{self.population_size} particles; raise --budget or lower --population")
        if not 0.0 < self.quantile < 1.0:
            raise ValueError("the tolerance quantile must lie strictly between 0 and 1")
        if self.max_generations < 1:
            raise ValueError("max_generations must be at least 1")


@dataclass
class Population:
    """One completed generation: particles (n x parameters), normalised weights, distances."""

    generation: int
    epsilon: float
    particles: np.ndarray
    weights: np.ndarray
    distances: np.ndarray
    evaluations: int

    @property
    def acceptance_rate(self) -> float:
        return len(self.weights) / self.evaluations if self.evaluations else math.nan

    @property
    def ess(self) -> float:
        """Effective sample size of the weights (Kish)."""
        return float(1.0 / np.sum(self.weights**2))

    @property
    def rough(self) -> bool:
        """A few lucky particles carry most of the weight (ESS below LOW_ESS_SHARE of the
        population), so credible intervals drawn from it are rough."""
        return self.ess < LOW_ESS_SHARE * len(self.weights)


@dataclass
class CalibrationResult:
    populations: list[Population]
    stop_reason: str
    evaluations: int

    @property
    def posterior(self) -> Population:
        return self.populations[-1]


def proposal_rng(seed: int, generation: int, j: int) -> np.random.Generator:
    """The stream of proposal `j` of a generation: fixed by the seed alone, on any worker."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(generation, j)))


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float | Sequence[float]) -> np.ndarray:
    """Quantiles of a weighted sample: the inverse of its step CDF, interpolated at mid-weights."""
    order = np.argsort(values)
    v, w = np.asarray(values, dtype=float)[order], np.asarray(weights, dtype=float)[order]
    cdf = (np.cumsum(w) - 0.5 * w) / np.sum(w)
    return np.interp(q, cdf, v)


def kernel_covariance(pop: Population, priors: Sequence[UniformPrior]) -> np.ndarray:
    """Twice the weighted covariance of the population (Beaumont et al. 2009), kept positive definite."""
    k = pop.particles.shape[1]
    cov = np.atleast_2d(np.cov(pop.particles, rowvar=False, aweights=pop.weights)) * 2.0
    floor = np.array([(1e-3 * p.width) ** 2 for p in priors])
    return cov.reshape(k, k) + np.diag(floor)


def _propose(pop: Population | None, priors: Sequence[UniformPrior], chol: np.ndarray | None,
             rng: np.random.Generator) -> np.ndarray:
    if pop is None:
        return np.array([float(p.value(p.sample(rng))) for p in priors])
    for _ in range(MAX_PROPOSAL_TRIES):
        i = rng.choice(len(pop.weights), p=pop.weights)
        theta = pop.particles[i] + chol @ rng.standard_normal(len(priors))
        theta = np.array([float(p.value(x)) for p, x in zip(priors, theta)])
        if all(p.contains(x) for p, x in zip(priors, theta)):
            return theta
    return np.array([float(p.value(min(max(x, p.low), p.high))) for p, x in zip(priors, theta)])


def _weights(new: np.ndarray, previous: Population, cov: np.ndarray) -> np.ndarray:
    """Importance weights prior(theta) / sum_j W_j K(theta | theta_j), for a uniform prior."""
    inv = np.linalg.inv(cov)
    diff = new[:, None, :] - previous.particles[None, :, :]
    log_k = -0.5 * np.einsum("nmi,ij,nmj->nm", diff, inv, diff)
    log_mix = np.log(previous.weights)[None, :] + log_k
    top = log_mix.max(axis=1, keepdims=True)
    log_w = -(top[:, 0] + np.log(np.exp(log_mix - top).sum(axis=1)))
    w = np.exp(log_w - log_w.max())
    return w / w.sum()


def run_generation(problem: CalibrationProblem, settings: AbcSettings, evaluator: Evaluator,
                   generation: int, previous: Population | None, budget_left: int,
                   progress: Callable[[int], None] | None = None) -> Population | None:
    """Fill one generation, or return None when the budget runs out first.

    Proposals are simulated in batches of a fixed size and accepted in proposal order, so which
    particles make the generation depends on the seed only, never on the number of workers.
    """
    n = settings.population_size
    if previous is None:
        epsilon, chol, cov = math.inf, None, None
    else:
        epsilon = float(np.quantile(previous.distances, settings.quantile))
        cov = kernel_covariance(previous, problem.priors)
        chol = np.linalg.cholesky(cov)
    accepted: list[tuple[np.ndarray, float]] = []
    evaluated = 0
    while len(accepted) < n:
        batch = min(n, budget_left - evaluated)
        if batch <= 0:
            return None
        proposals = []
        for j in range(evaluated, evaluated + batch):
            rng = proposal_rng(settings.seed, generation, j)
            theta = _propose(previous, problem.priors, chol, rng)
            proposals.append((theta, int(rng.integers(0, 2**63 - 1))))
        distances = evaluator.distances(proposals)
        evaluated += batch
        if progress:
            progress(batch)
        for (theta, _), d in zip(proposals, distances):
            if math.isfinite(d) and d <= epsilon and len(accepted) < n:
                accepted.append((theta, d))
    particles = np.array([theta for theta, _ in accepted])
    distances_arr = np.array([d for _, d in accepted])
    if previous is None:
        weights = np.full(n, 1.0 / n)
        epsilon = float(np.max(distances_arr))
    else:
        weights = _weights(particles, previous, cov)  # type: ignore[arg-type]
    return Population(generation, epsilon, particles, weights, distances_arr, evaluated)


def run_abc_smc(problem: CalibrationProblem, settings: AbcSettings, evaluator: Evaluator,
                done: Sequence[Population] = (), progress: Callable[[int], None] | None = None,
                on_generation: Callable[[Population], None] | None = None) -> CalibrationResult:
    """Run ABC-SMC until the budget, the generation limit, the acceptance floor or the tolerance
    floor stops it. `done` holds generations completed earlier (a resumed run continues them and
    ends where an uninterrupted run would); `on_generation` is called after each new one."""
    populations = list(done)
    used = sum(p.evaluations for p in populations)
    reason = _stop_reason(populations, settings, used)
    while reason is None:
        previous = populations[-1] if populations else None
        generation = len(populations)
        pop = run_generation(problem, settings, evaluator, generation, previous, settings.budget - used, progress)
        if pop is None:
            used = settings.budget
            reason = f"budget of {settings.budget} evaluations ran out during generation {generation}"
            break
        populations.append(pop)
        used += pop.evaluations
        if on_generation:
            on_generation(pop)
        reason = _stop_reason(populations, settings, used)
    return CalibrationResult(populations, reason, used)


def _stop_reason(populations: Sequence[Population], settings: AbcSettings, used: int) -> str | None:
    if not populations:
        return None
    last = populations[-1]
    if len(populations) >= settings.max_generations:
        return f"reached {settings.max_generations} generations"
    if last.generation > 0 and last.acceptance_rate < settings.min_acceptance:
        return f"acceptance rate {last.acceptance_rate:.3f} fell below {settings.min_acceptance}"
    if last.generation > 0 and last.epsilon <= settings.min_epsilon:
        return f"tolerance reached {last.epsilon:g} h"
    if settings.budget - used < settings.population_size:
        return f"budget of {settings.budget} evaluations is spent"
    return None


# -- summaries ------------------------------------------------------------------------------------


def posterior_summary(pop: Population, priors: Sequence[UniformPrior], base: Mapping[str, Any] | None = None,
                      interval: float = 0.8) -> list[dict[str, Any]]:
    """Median and central credible interval (80 % by default) of each parameter's marginal."""
    lo_q, hi_q = (1.0 - interval) / 2.0, (1.0 + interval) / 2.0
    rows = []
    for k, prior in enumerate(priors):
        x = pop.particles[:, k]
        lo, med, hi = weighted_quantile(x, pop.weights, [lo_q, 0.5, hi_q])
        mean = float(np.sum(pop.weights * x))
        rows.append({
            "parameter": prior.name,
            "prior_low": prior.low,
            "prior_high": prior.high,
            "base_value": (base or {}).get(prior.name, math.nan),
            "median": float(med),
            "ci80_low": float(lo),
            "ci80_high": float(hi),
            "mean": mean,
            "sd": float(math.sqrt(max(0.0, np.sum(pop.weights * (x - mean) ** 2)))),
        })
    return rows


def posterior_medians(pop: Population, priors: Sequence[UniformPrior]) -> dict[str, float | int]:
    """The posterior median of each parameter, as the value to write into a scenario."""
    return {p.name: p.value(float(weighted_quantile(pop.particles[:, k], pop.weights, 0.5))) for k, p in enumerate(priors)}


def history_row(pop: Population, cumulative: int) -> dict[str, Any]:
    """One row of history.csv: how the generation went."""
    return {
        "generation": pop.generation,
        "epsilon_h": pop.epsilon,
        "evaluations": pop.evaluations,
        "cumulative_evaluations": cumulative,
        "accepted": len(pop.weights),
        "acceptance_rate": pop.acceptance_rate,
        "ess": pop.ess,
        "median_distance_h": float(np.median(pop.distances)),
    }
