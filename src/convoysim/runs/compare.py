"""Simulated arrivals against documented windows: quantiles, hit rates, percentiles and CRPS.

Conventions, chosen so that a replication that never arrives counts against the model:
- In quantiles, hit rates and percentiles a non-arrival is later than any date (+inf).
- In the CRPS a non-arrival is censored at the horizon (it arrives at the horizon).
A documented time is a window [earliest, latest]; the CRPS treats the true time as uniformly
distributed over the window, and the "documented time" placed in the simulated distribution is the
window's midpoint.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

QUANTILES = (0.1, 0.5, 0.9)


def quantiles(samples: Sequence[float] | np.ndarray, qs: Sequence[float] = QUANTILES) -> list[float]:
    """Linear-interpolation quantiles (numpy's default) where +inf and NaN mean "never arrived"."""
    x = np.sort(np.where(np.isnan(samples), np.inf, np.asarray(samples, dtype=float)))
    n = len(x)
    out = []
    for q in qs:
        h = (n - 1) * q
        lo, hi = math.floor(h), math.ceil(h)
        if math.isinf(x[hi]) and (hi > lo or math.isinf(x[lo])):
            out.append(math.inf)
        else:
            out.append(float(x[lo] + (x[hi] - x[lo]) * (h - lo)) if hi > lo else float(x[lo]))
    return out


def hit_rate(samples: np.ndarray, earliest: float, latest: float) -> float:
    """Share of replications whose arrival falls inside the documented window."""
    x = np.asarray(samples, dtype=float)
    return float(np.mean((x >= earliest) & (x <= latest)))


def percentile_of(samples: np.ndarray, value: float) -> float:
    """Where `value` falls in the simulated distribution, 0-100 (mid-rank for ties)."""
    x = np.where(np.isnan(samples), np.inf, np.asarray(samples, dtype=float))
    return float(100.0 * (np.mean(x < value) + 0.5 * np.mean(x == value)))


def crps_window(samples: np.ndarray, earliest: float, latest: float) -> float:
    """CRPS of the sample ensemble against a true time uniform over [earliest, latest], in hours.

    CRPS = E|X - Y| - E|X - X'| / 2, with the expectation over Y taken in closed form; for a
    window of zero width it is the usual ensemble CRPS of a point observation.
    """
    x = np.sort(np.asarray(samples, dtype=float))
    n = len(x)
    a, b = earliest, latest
    if b - a > 1e-9:
        inside = ((x - a) ** 2 + (b - x) ** 2) / (2.0 * (b - a))
        to_window = np.where(x < a, 0.5 * (a + b) - x, np.where(x > b, x - 0.5 * (a + b), inside))
    else:
        to_window = np.abs(x - a)
    spread = 2.0 * np.sum((2.0 * np.arange(1, n + 1) - n - 1) * x) / n**2
    return float(np.mean(to_window) - 0.5 * spread)


@dataclass(frozen=True)
class MilestoneScore:
    waypoint: str
    earliest_h: float
    latest_h: float
    p10_h: float
    p50_h: float
    p90_h: float
    hit_rate: float
    percentile: float
    crps_h: float

    @property
    def window_meets_interval(self) -> bool:
        """Whether the documented window overlaps the simulated 80 % interval (p10-p90)."""
        return self.earliest_h <= self.p90_h and self.latest_h >= self.p10_h


@dataclass(frozen=True)
class Comparison:
    milestones: tuple[MilestoneScore, ...]

    @property
    def coverage(self) -> float:
        """Share of documented windows that meet the simulated 80 % interval."""
        if not self.milestones:
            return math.nan
        return sum(m.window_meets_interval for m in self.milestones) / len(self.milestones)

    @property
    def mean_crps_h(self) -> float:
        if not self.milestones:
            return math.nan
        return float(np.mean([m.crps_h for m in self.milestones]))


def score_milestone(waypoint: str, arrivals_h: np.ndarray, earliest_h: float, latest_h: float,
                    horizon_h: float) -> MilestoneScore:
    p10, p50, p90 = quantiles(arrivals_h)
    censored = np.where(np.isnan(arrivals_h), horizon_h, arrivals_h)
    return MilestoneScore(
        waypoint=waypoint,
        earliest_h=earliest_h,
        latest_h=latest_h,
        p10_h=p10,
        p50_h=p50,
        p90_h=p90,
        hit_rate=hit_rate(arrivals_h, earliest_h, latest_h),
        percentile=percentile_of(arrivals_h, 0.5 * (earliest_h + latest_h)),
        crps_h=crps_window(censored, earliest_h, latest_h),
    )


def compare(arrivals_h: np.ndarray, waypoints: Sequence[str], milestones: Sequence[tuple[str, float, float]],
            horizon_h: float) -> Comparison:
    """Score each documented milestone (waypoint, earliest_h, latest_h) against the arrival matrix.

    `arrivals_h` has one row per replication and one column per waypoint, NaN where never reached.
    """
    column = {name: k for k, name in enumerate(waypoints)}
    return Comparison(
        tuple(score_milestone(name, arrivals_h[:, column[name]], a, b, horizon_h) for name, a, b in milestones)
    )


def compare_run(run) -> Comparison:
    """The comparison of a Monte Carlo run with its scenario's documented milestones."""
    scenario = run.scenario
    milestones = [(m.waypoint, scenario.hours(m.earliest), scenario.hours(m.latest)) for m in scenario.documented]
    return compare(run.arrivals(), run.plan.names, milestones, run.plan.horizon_h)
