"""Leave-one-convoy-out: how well a joint fit predicts a convoy it did not see, without refitting.

A joint ABC-SMC fit keeps, for its last generation, every proposal it simulated (accepted or not),
with each proposal's distance to every convoy and its importance weight prior / proposal density
(`abc.Proposals`). The posterior without convoy j is formed from those same simulations:

1. Take the proposals up to the last one accepted (the sampler's own sample: in it, exactly the
   accepted proposals lie within the tolerance).
2. Score each by its distance to the other convoys: the mean of its per-convoy distances without j.
3. Re-threshold: keep the n nearest under that distance, n being the fit's population (the same
   acceptance rate, so the tolerance is the n-th smallest distance without j).
4. Weight them by their importance weights, renormalised.

This is importance sampling of the ABC posterior with the distance over the other convoys, at the
tolerance where the full fit's acceptance rate holds, and it is exact in that sense as the sample
grows, *if* the proposal density covers that posterior. It need not: the last generation's proposals
were drawn around a population that had already seen convoy j, so where the posterior without j
reaches further, few proposals lie and the re-weighted posterior is too narrow (its effective
sample size, reported, shows it). A true refit also runs its own sequence of tolerances. With
convoy j's distance constant over the proposals (a convoy that carries no information), the
ordering is unchanged and the posterior without j is the full posterior.

Each convoy is then predicted from its leave-one-out posterior: `draws` particles drawn by weight,
one replication of the convoy at each (parameters and the model's chance together: the posterior
predictive), scored as `convoysim validate` scores a corpus (`validation.corpus_summary`). The
in-sample prediction draws from the full posterior with the same replication seeds, so the two
differ only by what the fit saw.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from convoysim.calibration.abc import Population, Proposals, UniformPrior, posterior_summary
from convoysim.calibration.problem import CalibrationProblem, Evaluator
from convoysim.calibration.validation import CorpusSummary, Validation, corpus_summary
from convoysim.model import compile_plan
from convoysim.runs.compare import compare_run
from convoysim.runs.montecarlo import MonteCarloRun

DRAWS = 200
"""Posterior draws per convoy (one replication each) for the predictive distributions."""

PREDICTIVE_KEY = 7_100
"""The spawn key of the predictive draws, apart from the fit's (generation, proposal) keys."""

WORSE_COVERAGE = 0.15
"""A drop in coverage from in sample to out of sample beyond this is reported as a poor carry-over."""
WORSE_CRPS = 1.5
"""As is a median relative CRPS out of sample more than this many times the in-sample one."""


class LeaveOneOutError(ValueError):
    """A calibration a leave-one-out cannot use: why, and what to do."""


def sampled(proposals: Proposals) -> Proposals:
    """The proposals up to the last accepted one: the sample in which the accepted set is exactly
    the set within the tolerance."""
    last = int(np.flatnonzero(proposals.accepted)[-1]) + 1
    return Proposals(
        proposals.particles[:last],
        proposals.seeds[:last],
        proposals.member_distances[:last],
        proposals.weights[:last],
        proposals.accepted[:last],
    )


def reweighted(proposals: Proposals, keep: np.ndarray | None = None) -> Population:
    """The posterior under the distance over the scenarios in `keep` (a mask; all by default), from
    the proposals of a generation: the n nearest of the sampled proposals, n the number accepted,
    weighted by prior / proposal density. `epsilon` is the tolerance this amounts to."""
    sample = sampled(proposals)
    n = int(sample.accepted.sum())
    d = sample.member_distances if keep is None else sample.member_distances[:, np.asarray(keep, dtype=bool)]
    joint = d.mean(axis=1)
    finite = np.isfinite(joint)
    epsilon = float(np.sort(joint[finite])[min(n, int(finite.sum())) - 1])
    chosen = finite & (joint <= epsilon)
    weights = sample.weights[chosen] / sample.weights[chosen].sum()
    return Population(-1, epsilon, sample.particles[chosen], weights, joint[chosen], len(joint), d[chosen])


def leave_out(proposals: Proposals, k: int) -> Population:
    """The posterior without scenario `k` (module docstring)."""
    keep = np.ones(proposals.member_distances.shape[1], dtype=bool)
    keep[k] = False
    return reweighted(proposals, keep)


def predictive_draws(pop: Population, k: int, draws: int, seed: int) -> list[tuple[np.ndarray, int]]:
    """`draws` particles drawn by weight, each with the seed of its one replication. The draw `i` of
    scenario `k` gets the same replication seed whatever the population, so an in-sample and an
    out-of-sample prediction share their chance and differ only by the parameters."""
    ss = np.random.SeedSequence(seed, spawn_key=(PREDICTIVE_KEY, k))
    rng = np.random.default_rng(ss)
    picks = rng.choice(len(pop.weights), size=draws, p=pop.weights)
    seeds = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(PREDICTIVE_KEY, k, 1)))
    replication_seeds = seeds.integers(0, 2**63 - 1, size=draws)
    return [(pop.particles[i], int(s)) for i, s in zip(picks, replication_seeds)]


def predictive_validation(problem: CalibrationProblem, k: int, records: list, seed: int) -> Validation:
    """Scenario `k`'s predictive sample (one record per draw) scored as a run of it."""
    scenario = problem.members[k][1]
    run = MonteCarloRun(scenario, compile_plan(scenario), seed, records, 1, 0.0)
    return Validation(run, compare_run(run))


@dataclass
class ConvoyOut:
    """One convoy left out: its leave-one-out posterior and its predictions in and out of sample."""

    name: str
    posterior: Population
    summary: list[dict[str, Any]]
    in_sample: Validation
    out_of_sample: Validation


@dataclass
class LeaveOneOut:
    """Every convoy of a joint fit predicted in sample (full posterior) and out of sample."""

    convoys: list[ConvoyOut]
    draws: int
    seed: int
    full: Population
    cpu_s: float = math.nan
    wall_s: float = math.nan

    @property
    def in_sample(self) -> CorpusSummary:
        return corpus_summary([c.in_sample for c in self.convoys])

    @property
    def out_of_sample(self) -> CorpusSummary:
        return corpus_summary([c.out_of_sample for c in self.convoys])

    def verdict(self) -> list[str]:
        """In words: the scores in and out of sample, and whether the fit carries over."""
        inside, outside = self.in_sample, self.out_of_sample
        lines = [
            f"in sample: {_pct(inside.coverage)} of documented durations inside the 80% interval, median relative "
            f"CRPS {inside.median_relative_crps:.2f}; out of sample (each convoy left out): {_pct(outside.coverage)}, "
            f"{outside.median_relative_crps:.2f}"
        ]
        lost = [
            a.name for a, b in zip(inside.rows, outside.rows) if a.inside and not b.inside
        ]  # rows keep the convoys' order
        poor = outside.coverage < inside.coverage - WORSE_COVERAGE or (
            outside.median_relative_crps > WORSE_CRPS * inside.median_relative_crps
        )
        if poor:
            lines.append(
                "the fit is good in sample and poor out of sample: it does not predict convoys it did not see as "
                "well as those it did" + (f" (inside only in sample: {', '.join(lost)})" if lost else "")
            )
        elif lost:
            lines.append(f"inside in sample but not out of sample: {', '.join(lost)}")
        else:
            lines.append("the fit carries over: out of sample is about as good as in sample")
        rough = [c.name for c in self.convoys if c.posterior.ess < 0.25 * len(self.full.weights)]
        if rough:
            lines.append(
                "few proposals carry the posterior without "
                + ", ".join(rough)
                + " (effective sample size below a quarter of the population): the re-weighting is rough there "
                "and its posterior likely too narrow; a true refit without that convoy is the check"
            )
        return lines

    def rows(self) -> list[dict[str, Any]]:
        """leave_one_out.csv: one row per convoy, scores in and out of sample and the posterior's ESS."""
        out = []
        for c, a, b in zip(self.convoys, self.in_sample.rows, self.out_of_sample.rows):
            out.append(
                {
                    "convoy": c.name,
                    "documented_h": a.documented_h,
                    "ess_without": c.posterior.ess,
                    "epsilon_without": c.posterior.epsilon,
                    "inside_in_sample": a.inside,
                    "inside_out_of_sample": b.inside,
                    "relative_crps_in_sample": a.relative_crps,
                    "relative_crps_out_of_sample": b.relative_crps,
                    "pit_in_sample": a.pit,
                    "pit_out_of_sample": b.pit,
                    "p50_h_out_of_sample": b.p50_h,
                }
            )
        return out

    def record(self) -> dict[str, Any]:
        return {
            "draws_per_convoy": self.draws,
            "seed": self.seed,
            "in_sample": self.in_sample.to_dict(),
            "out_of_sample": self.out_of_sample.to_dict(),
            "verdict": self.verdict(),
            "posteriors_without": {c.name: c.summary for c in self.convoys},
            "cpu_s": self.cpu_s,
            "wall_s": self.wall_s,
        }


def _pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:.0f}%"


def leave_one_out(
    problem: CalibrationProblem,
    proposals: Proposals,
    priors: Sequence[UniformPrior],
    evaluator: Evaluator,
    seed: int,
    draws: int = DRAWS,
) -> LeaveOneOut:
    """Each scenario of a joint fit predicted from the posterior without it (re-weighted, module
    docstring) and from the full posterior; raises LeaveOneOutError for a fit of one scenario or
    proposals that do not match the problem's scenarios."""
    k_all = len(problem.members)
    if k_all < 2:
        raise LeaveOneOutError("a leave-one-out needs a joint fit of at least 2 scenarios (convoys)")
    if proposals.member_distances.shape[1] != k_all:
        raise LeaveOneOutError(
            f"the fit's proposals hold distances to {proposals.member_distances.shape[1]} scenarios, "
            f"the calibration has {k_all}"
        )
    if draws < 2:
        raise LeaveOneOutError("the predictive distributions need at least 2 draws per convoy")
    wall, cpu = time.perf_counter(), time.process_time()
    full = reweighted(proposals)
    without = [leave_out(proposals, k) for k in range(k_all)]
    tasks = []
    for k in range(k_all):
        tasks.append((k, predictive_draws(full, k, draws, seed)))
        tasks.append((k, predictive_draws(without[k], k, draws, seed)))
    records = evaluator.predictive(tasks)
    convoys = []
    for k, (_, scenario) in enumerate(problem.members):
        convoys.append(
            ConvoyOut(
                scenario.name,
                without[k],
                posterior_summary(without[k], priors),
                predictive_validation(problem, k, records[2 * k], seed),
                predictive_validation(problem, k, records[2 * k + 1], seed),
            )
        )
    return LeaveOneOut(convoys, draws, seed, full, time.process_time() - cpu, time.perf_counter() - wall)
