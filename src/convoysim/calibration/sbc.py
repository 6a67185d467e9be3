"""Simulation-based calibration: testing the calibration procedure itself (Talts et al. 2018).

A calibration is only as honest as its credible intervals. To test them, draw a "true" parameter
set from the prior, let the model write the documents of a synthetic convoy at it (one
replication's arrival dates and counts, each turned into a window as wide as the real scenario's
window, with the truth at a uniformly random place inside it), fit those documents exactly as
`convoysim calibrate` does, and see where the truth falls in the posterior. Over many truths, a
calibrated procedure puts the truth inside its 80 % credible interval 80 % of the time, and the
truth's rank among posterior draws is uniform (a flat rank histogram). A posterior that is too
narrow shows as low coverage and a U-shaped histogram; one that is too wide, as high coverage and
a hump; a biased one, as a slope.

Every random number comes from one seed: truth `i` draws its parameters, its synthetic documents
and the seed of its fit from `SeedSequence(seed, spawn_key=(i, ...))`. The synthetic scenarios
are written as files (a full copy of each base scenario with its `documented:` list replaced), so
a user can open the documents any truth was fitted to.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy import stats

from convoysim.calibration.abc import AbcSettings, CalibrationProblem, Population, UniformPrior, posterior_summary
from convoysim.calibration.workflow import CalibrationRun
from convoysim.model import compile_plan
from convoysim.runs.counts import count_matrix, count_windows, counted_incidents
from convoysim.runs.montecarlo import run_replications
from convoysim.scenario.loading import build_scenario, read_source
from convoysim.scenario.paths import full_tree
from convoysim.scenario.schema import Scenario

RANK_DRAWS = 99
"""Posterior draws each truth is ranked among: ranks 0-99, 100 values, so 2, 4, 5, 10 or 20 bins are equal."""

INTERVAL = 0.8
"""The credible interval whose coverage is measured: the one `convoysim calibrate` prints."""

COVERAGE_TARGET = (0.7, 0.9)
"""The share of truths an honest 80 % interval should hold, allowing for a reduced budget and ~50 truths."""

SYNTHETIC_NOTE = "synthetic: one replication of the model at the truth, the window placed at random around it"


@dataclass(frozen=True)
class SbcTruth:
    """One synthetic truth and what the calibration made of it."""

    index: int
    theta: np.ndarray
    """The true parameter vector, in the priors' order."""
    posterior: Population
    stop_reason: str
    evaluations: int
    seconds: float
    """Wall-clock seconds of the fit."""
    folder: Path
    """Where its synthetic scenarios and its calibration directory are."""


def _stream(seed: int, index: int, *more: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index, *more)))


def draw_truth(priors: Sequence[UniformPrior], seed: int, index: int) -> np.ndarray:
    """Truth `index`: one draw from the priors (whole-number parameters rounded, as in the fit)."""
    rng = _stream(seed, index, 0)
    return np.array([float(p.value(p.sample(rng))) for p in priors])


def synthetic_documents(
    problem: CalibrationProblem, k: int, theta: Sequence[float], rng: np.random.Generator
) -> list[dict[str, Any]]:
    """The documents of scenario `k` of the fit as one replication at `theta` would leave them.

    Each documented date and count of the real scenario becomes a window of the same width
    (hours, or whole counts) around that replication's value, the value at a uniformly random
    place inside it, as a reporter who knows the true date only to within a window. A
    milestone the replication never reaches is dated at the horizon, as the distance of the fit
    places non-arrivals.
    """
    scenario = problem.members[k][1]
    plan = compile_plan(problem.scenario_at(theta, k))
    record = run_replications(plan, int(rng.integers(0, 2**63 - 1)), range(1))[0]
    names = scenario.waypoint_names
    documents = []
    for entry in full_tree(scenario)["documented"]:
        doc = dict(entry, note=SYNTHETIC_NOTE)
        if "waypoint" in entry:
            width_h = scenario.hours(_date(entry["latest"])) - scenario.hours(_date(entry["earliest"]))
            t_h = record.arrival_h[names.index(entry["waypoint"])]
            t_h = plan.horizon_h if math.isnan(t_h) else float(t_h)
            earliest_h = round((t_h - rng.uniform() * width_h) * 60.0) / 60.0  # whole minutes, as documents are
            doc["earliest"] = _text(scenario, earliest_h)
            doc["latest"] = _text(scenario, earliest_h + width_h)
        documents.append(doc)
    windows = count_windows(scenario, plan.road_km)
    if windows:
        counts = count_matrix([counted_incidents(record)], windows, plan.start)[0]
        count_docs = [d for d in documents if "count" in d]
        for doc, count in zip(count_docs, counts):
            width = int(doc["high"]) - int(doc["low"])
            low = max(0, int(count) - int(rng.integers(0, width + 1)))
            doc["low"], doc["high"] = low, low + width
    return documents


def _date(value: Any) -> datetime:
    """A documented date of full_tree (text or datetime) as a datetime."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _text(scenario: Scenario, hours: float) -> str:
    return (scenario.start + timedelta(hours=hours)).isoformat()


def synthetic_problem(
    problem: CalibrationProblem, theta: Sequence[float], seed: int, index: int, folder: Path
) -> CalibrationProblem:
    """The same fit (priors, distance, replications) on synthetic documents drawn at `theta`.

    Each scenario is written to `folder` as a full copy of its base with the synthetic
    `documented:` list, and read back, as a user's scenario file would be.
    """
    folder.mkdir(parents=True, exist_ok=True)
    members = []
    for k, (source, scenario) in enumerate(problem.members):
        data = copy.deepcopy(source.data)
        data["documented"] = synthetic_documents(problem, k, theta, _stream(seed, index, 1, k))
        path = folder / f"{scenario.name}.yaml"
        path.write_text(
            f"# Synthetic documents of SBC truth {index}: "
            + ", ".join(f"{p.name}={x:.6g}" for p, x in zip(problem.priors, theta))
            + "\n"
            + yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
            encoding="utf-8",
        )
        src = read_source(path)
        members.append((src, build_scenario(src)))
    (source, scenario), others = members[0], tuple(members[1:])
    return replace(problem, source=source, scenario=scenario, others=others)


def fit_truth(
    problem: CalibrationProblem, settings: AbcSettings, seed: int, index: int, folder: Path, workers: int = 1
) -> SbcTruth:
    """Truth `index`: draw it, write its documents, and calibrate on them as `convoysim calibrate`
    does (CalibrationRun: checkpointed ABC-SMC in `folder/calibration`)."""
    theta = draw_truth(problem.priors, seed, index)
    synthetic = synthetic_problem(problem, theta, seed, index, folder)
    fit_seed = int(_stream(seed, index, 2).integers(0, 2**31 - 1))
    started = time.perf_counter()
    result = CalibrationRun.open(synthetic, replace(settings, seed=fit_seed), folder / "calibration").fit(workers)
    return SbcTruth(
        index, theta, result.posterior, result.stop_reason, result.evaluations, time.perf_counter() - started, folder
    )


def run_sbc(
    problem: CalibrationProblem,
    settings: AbcSettings,
    truths: int,
    seed: int,
    folder: Path,
    workers: int = 1,
    on_truth: Callable[[SbcTruth], None] | None = None,
) -> list[SbcTruth]:
    """Fit `truths` synthetic truths in turn (each in `folder/truth-NNN`)."""
    done = []
    for i in range(truths):
        truth = fit_truth(problem, settings, seed, i, Path(folder) / f"truth-{i:03d}", workers)
        done.append(truth)
        if on_truth:
            on_truth(truth)
    return done


def posterior_rank(
    posterior: Population, k: int, value: float, rng: np.random.Generator, draws: int = RANK_DRAWS
) -> int:
    """How many of `draws` weighted posterior draws of parameter `k` lie below `value` (ties split
    at random): Talts et al.'s rank statistic, uniform on 0..draws for a calibrated posterior."""
    sample = posterior.particles[rng.choice(len(posterior.weights), size=draws, p=posterior.weights), k]
    ties = int(np.sum(sample == value))
    return int(np.sum(sample < value)) + int(rng.integers(0, ties + 1))


def truth_rows(
    truth: SbcTruth, priors: Sequence[UniformPrior], seed: int, posterior: Population | None = None
) -> list[dict[str, Any]]:
    """Per parameter: the truth, the posterior median and 80 % interval (as the calibration's
    summary gives them), whether the truth is inside, its rank among RANK_DRAWS draws, and the
    standardised error (truth - mean) / sd. `posterior` replaces the fitted one (a test of the test)."""
    pop = truth.posterior if posterior is None else posterior
    rng = _stream(seed, truth.index, 3)
    rows = []
    for k, (prior, row) in enumerate(zip(priors, posterior_summary(pop, priors, interval=INTERVAL))):
        value = float(truth.theta[k])
        sd = row["sd"]
        rows.append(
            {
                "truth_index": truth.index,
                "parameter": prior.name,
                "truth": value,
                "median": row["median"],
                "ci80_low": row["ci80_low"],
                "ci80_high": row["ci80_high"],
                "inside_ci80": bool(row["ci80_low"] <= value <= row["ci80_high"]),
                "rank": posterior_rank(pop, k, value, rng),
                "z": (value - row["mean"]) / sd if sd > 0 else (0.0 if value == row["mean"] else math.inf),
                "evaluations": truth.evaluations,
                "stop_reason": truth.stop_reason,
            }
        )
    return rows


def rank_histogram(ranks: Sequence[int], bins: int, draws: int = RANK_DRAWS) -> np.ndarray:
    """Counts of ranks (0..draws) in `bins` equal bins."""
    if (draws + 1) % bins:
        raise ValueError(f"{bins} bins do not split the {draws + 1} possible ranks evenly")
    return np.bincount(np.asarray(ranks, dtype=int) * bins // (draws + 1), minlength=bins)


def flatness_p(histogram: np.ndarray) -> float:
    """Chi-square test of a rank histogram against the uniform: the p-value (small means not flat)."""
    counts = np.asarray(histogram, dtype=float)
    return float(stats.chisquare(counts).pvalue) if counts.sum() else math.nan


def default_bins(truths: int) -> int:
    """About ten truths per bin (at least 2 bins, at most 20), a divisor of RANK_DRAWS + 1."""
    fits = [b for b in (2, 4, 5, 10, 20) if truths / b >= 10]
    return fits[-1] if fits else 2


def sbc_table(rows: Sequence[dict[str, Any]], priors: Sequence[UniformPrior], bins: int) -> list[dict[str, Any]]:
    """Per parameter over all truths: the coverage of the 80 % intervals, the rank histogram's
    flatness p-value, the mean squared standardised error (about 1 when calibrated; far above
    when the posterior is too narrow) and the histogram itself."""
    table = []
    for prior in priors:
        mine = [r for r in rows if r["parameter"] == prior.name]
        hist = rank_histogram([r["rank"] for r in mine], bins)
        low, high = COVERAGE_TARGET
        coverage = float(np.mean([r["inside_ci80"] for r in mine])) if mine else math.nan
        table.append(
            {
                "parameter": prior.name,
                "truths": len(mine),
                "coverage_ci80": coverage,
                "coverage_ok": low <= coverage <= high,
                "rank_flatness_p": flatness_p(hist),
                "mean_z2": float(np.mean([r["z"] ** 2 for r in mine])) if mine else math.nan,
                "rank_histogram": hist.tolist(),
            }
        )
    return table


def narrowed(posterior: Population, factor: float) -> Population:
    """The posterior with every particle pulled towards the weighted mean, its spread divided by
    `factor`: an overconfident posterior, to check that the SBC test would catch one."""
    mean = np.sum(posterior.weights[:, None] * posterior.particles, axis=0)
    particles = mean + (posterior.particles - mean) / factor
    return replace(posterior, particles=particles)
