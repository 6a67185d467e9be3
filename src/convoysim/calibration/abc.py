"""Calibration: fit uncertain scenario parameters to the documented milestones by ABC-SMC.

Approximate Bayesian computation by sequential Monte Carlo (population Monte Carlo, Beaumont et
al. 2009, with the adaptive tolerance of Del Moral et al. 2012): a population of parameter vectors
("particles") is drawn from the prior, each is simulated and scored by its distance to the
documents, and every later generation moves the particles through a Gaussian kernel and keeps only
those closer than a tolerance that shrinks to a quantile of the last generation's distances.

Three pieces, swappable on their own, each in its module: the priors (what varies, `UniformPrior`,
`calibration.priors`), the distance (how a simulation is scored against documented windows,
`DISTANCES`, `calibration.distances`) and the evaluator (where particles are simulated, on any
`convoysim.runs.pool` executor, `calibration.problem`). `run_abc_smc`, here, ties them together,
and the summaries at the end turn its result into tables. The names of those modules stay
importable from here.

Every random number comes from one seed: the proposal `j` of generation `t` draws from
`SeedSequence(seed, spawn_key=(t, j))`, and its replications from a seed drawn there, so a fixed
seed gives the same posterior on any number of workers, and a resumed run the same as an
uninterrupted one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from convoysim.calibration.distances import (  # noqa: F401
    COUNT_WEIGHT_H,
    DISTANCES,
    TERMS,
    Targets,
    count_outside,
    crps_terms,
    mean_crps_distance,
    median_window_distance,
    rps_count_terms,
    window_count_terms,
    window_distance_h,
    window_terms,
)
from convoysim.calibration.priors import (  # noqa: F401
    MAX_CORNERS,
    MAX_PRIOR_BOUND,
    ParameterSpecError,
    UniformPrior,
    check_priors,
    parse_param,
)
from convoysim.calibration.problem import (  # noqa: F401
    CalibrationProblem,
    DaskEvaluator,
    Evaluator,
    PoolEvaluator,
    Proposal,
    SerialEvaluator,
    evaluator_for,
    joint_distance,
    proposal_blocks,
)

MAX_PROPOSAL_TRIES = 1000
"""A perturbed particle outside the prior box is redrawn; after this many tries it is clipped."""

LOW_ESS_SHARE = 0.25
"""Below this share of the population as effective sample size, the posterior is flagged as rough."""


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
            raise ValueError(
                f"a budget of {self.budget} evaluations cannot fill two generations of "
                f"{self.population_size} particles; raise --budget or lower --population"
            )
        if not 0.0 < self.quantile < 1.0:
            raise ValueError("the tolerance quantile must lie strictly between 0 and 1")
        if self.max_generations < 1:
            raise ValueError("max_generations must be at least 1")


@dataclass
class Proposals:
    """Every particle a generation simulated, accepted or not, in proposal order: what re-weighting
    the generation under another distance needs (`calibration.loo`). The proposals are a sample of
    the generation's proposal density q (the prior in generation 0); `weights` are prior / q,
    normalised over all of them, so the accepted ones' weights are the population's."""

    particles: np.ndarray
    """Proposals x parameters."""
    seeds: np.ndarray
    """The seed of each proposal's replications."""
    member_distances: np.ndarray
    """Proposals x scenarios: each proposal's distance to each scenario's documents."""
    weights: np.ndarray
    accepted: np.ndarray
    """Whether the proposal entered the population (a proposal within the tolerance simulated in
    the last batch after the population filled is not accepted)."""

    @property
    def distances(self) -> np.ndarray:
        """The joint distance of each proposal (the mean over scenarios)."""
        return np.array([joint_distance(d) for d in self.member_distances])


@dataclass
class Population:
    """One completed generation: particles (n x parameters), normalised weights, distances, and
    (when known) each particle's distance to each scenario (n x scenarios) and all the proposals."""

    generation: int
    epsilon: float
    particles: np.ndarray
    weights: np.ndarray
    distances: np.ndarray
    evaluations: int
    member_distances: np.ndarray | None = None
    proposals: Proposals | None = None

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


def _propose(
    pop: Population | None, priors: Sequence[UniformPrior], chol: np.ndarray | None, rng: np.random.Generator
) -> np.ndarray:
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


def run_generation(
    problem: CalibrationProblem,
    settings: AbcSettings,
    evaluator: Evaluator,
    generation: int,
    previous: Population | None,
    budget_left: int,
    progress: Callable[[int], None] | None = None,
) -> Population | None:
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
    tried: list[tuple[Proposal, np.ndarray, bool]] = []
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
        members = evaluator.member_distances(proposals)
        evaluated += batch
        if progress:
            progress(batch)
        for proposal, each in zip(proposals, members):
            d = joint_distance(each)
            take = math.isfinite(d) and d <= epsilon and len(accepted) < n
            if take:
                accepted.append((proposal[0], d))
            tried.append((proposal, each, take))
    taken = np.array([take for *_, take in tried])
    every = np.array([theta for (theta, _), *_ in tried])
    member_distances = np.array([each for _, each, _ in tried])
    if previous is None:
        q_weights = np.full(len(tried), 1.0 / len(tried))
        epsilon = float(np.max([d for _, d in accepted]))
    else:
        q_weights = _weights(every, previous, cov)  # type: ignore[arg-type]
    particles = every[taken]
    weights = q_weights[taken] / q_weights[taken].sum() if previous is None else _weights(particles, previous, cov)  # type: ignore[arg-type]
    seeds = np.array([s for (_, s), *_ in tried], dtype=np.int64)
    proposals_kept = Proposals(every, seeds, member_distances, q_weights, taken)
    distances_arr = np.array([d for _, d in accepted])
    return Population(
        generation, epsilon, particles, weights, distances_arr, evaluated, member_distances[taken], proposals_kept
    )


def run_abc_smc(
    problem: CalibrationProblem,
    settings: AbcSettings,
    evaluator: Evaluator,
    done: Sequence[Population] = (),
    progress: Callable[[int], None] | None = None,
    on_generation: Callable[[Population], None] | None = None,
) -> CalibrationResult:
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


def posterior_summary(
    pop: Population, priors: Sequence[UniformPrior], base: Mapping[str, Any] | None = None, interval: float = 0.8
) -> list[dict[str, Any]]:
    """Median and central credible interval (80 % by default) of each parameter's marginal."""
    lo_q, hi_q = (1.0 - interval) / 2.0, (1.0 + interval) / 2.0
    rows = []
    for k, prior in enumerate(priors):
        x = pop.particles[:, k]
        lo, med, hi = weighted_quantile(x, pop.weights, [lo_q, 0.5, hi_q])
        mean = float(np.sum(pop.weights * x))
        rows.append(
            {
                "parameter": prior.name,
                "prior_low": prior.low,
                "prior_high": prior.high,
                "base_value": (base or {}).get(prior.name, math.nan),
                "median": float(med),
                "ci80_low": float(lo),
                "ci80_high": float(hi),
                "mean": mean,
                "sd": float(math.sqrt(max(0.0, np.sum(pop.weights * (x - mean) ** 2)))),
            }
        )
    return rows


def posterior_medians(pop: Population, priors: Sequence[UniformPrior]) -> dict[str, float | int]:
    """The posterior median of each parameter, as the value to write into a scenario."""
    return {
        p.name: p.value(float(weighted_quantile(pop.particles[:, k], pop.weights, 0.5))) for k, p in enumerate(priors)
    }


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
