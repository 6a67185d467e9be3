"""Simulated arrivals against documented windows: quantiles, hit rates, percentiles and CRPS.

Conventions, chosen so that a replication that never arrives counts against the model:
- In quantiles, hit rates and percentiles a non-arrival is later than any date (+inf).
- In the CRPS a non-arrival is censored at the horizon (it arrives at the horizon).
A documented time is a window [earliest, latest]; the CRPS treats the true time as uniformly
distributed over the window, and the "documented time" placed in the simulated distribution is the
window's midpoint.

A milestone is **pinned** when a fixed date in the scenario, not the model, sets its simulated
arrival: a hold (`halts.holds`, wait until a date) at an earlier waypoint on the route that the
column reaches before its date in at least PINNING_SHARE of the replications, so that the march
after it starts from that date. Everything after such a hold is pinned; the rest is **predicted**.
Coverage and CRPS are reported over the predicted milestones beside the overall figures, so that a
hit the input guaranteed does not pass for a prediction. Documented counts (`counts.py`) are
predicted: no input fixes them.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convoysim.runs.counts import CountScore, count_matrix, count_windows, counted_incidents, score_counts
from convoysim.runs.timetext import iso

QUANTILES = (0.1, 0.5, 0.9)

PINNING_SHARE = 0.5
"""A hold pins what follows it when at least this share of replications wait for its date."""


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
    pinned: bool = False
    """Set by a fixed date in the scenario rather than predicted (see the module's docstring)."""

    @property
    def window_meets_interval(self) -> bool:
        """Whether the documented window overlaps the simulated 80 % interval (p10-p90)."""
        return self.earliest_h <= self.p90_h and self.latest_h >= self.p10_h

    @property
    def label(self) -> str:
        return "pinned" if self.pinned else "predicted"


def _share_met(scores: Sequence[MilestoneScore | CountScore]) -> float:
    return sum(s.window_meets_interval for s in scores) / len(scores) if scores else math.nan


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else math.nan


@dataclass(frozen=True)
class Comparison:
    """Every documented window scored: arrival dates (`milestones`) and counts (`counts`).

    Coverage is the share of windows that meet the simulated 80 % interval; `coverage` counts dates
    and counts together, `date_coverage` and `count_coverage` apart, and `predicted_coverage` leaves
    out the pinned dates. The CRPS of dates is in hours and the RPS of counts in counts, so they
    are averaged apart."""

    milestones: tuple[MilestoneScore, ...]
    counts: tuple[CountScore, ...] = field(default=())

    @property
    def predicted(self) -> tuple[MilestoneScore, ...]:
        return tuple(m for m in self.milestones if not m.pinned)

    @property
    def coverage(self) -> float:
        """Share of documented windows, dates and counts, that meet the simulated 80 % interval."""
        return _share_met([*self.milestones, *self.counts])

    @property
    def date_coverage(self) -> float:
        return _share_met(self.milestones)

    @property
    def count_coverage(self) -> float:
        return _share_met(self.counts)

    @property
    def predicted_coverage(self) -> float:
        """Coverage over what the input does not fix: the predicted dates and every count."""
        return _share_met([*self.predicted, *self.counts])

    @property
    def predicted_date_coverage(self) -> float:
        return _share_met(self.predicted)

    @property
    def mean_crps_h(self) -> float:
        """Mean CRPS over the documented dates, in hours."""
        return _mean([m.crps_h for m in self.milestones])

    @property
    def predicted_mean_crps_h(self) -> float:
        return _mean([m.crps_h for m in self.predicted])

    @property
    def mean_rps(self) -> float:
        """Mean ranked probability score over the documented counts, in counts."""
        return _mean([c.rps for c in self.counts])

    def summary(self) -> dict[str, float | int | None]:
        """The overall figures, as manifests and reports keep them (None for an empty set)."""
        figures = {
            "coverage": self.coverage,
            "date_coverage": self.date_coverage,
            "count_coverage": self.count_coverage,
            "predicted_coverage": self.predicted_coverage,
            "predicted_date_coverage": self.predicted_date_coverage,
            "mean_crps_h": self.mean_crps_h,
            "predicted_mean_crps_h": self.predicted_mean_crps_h,
            "mean_rps": self.mean_rps,
        }
        out: dict[str, float | int | None] = {k: (v if math.isfinite(v) else None) for k, v in figures.items()}
        out.update(
            dates=len(self.milestones), pinned=len(self.milestones) - len(self.predicted), counts=len(self.counts)
        )
        return out


def score_milestone(
    waypoint: str, arrivals_h: np.ndarray, earliest_h: float, latest_h: float, horizon_h: float, pinned: bool = False
) -> MilestoneScore:
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
        pinned=pinned,
    )


def compare(
    arrivals_h: np.ndarray,
    waypoints: Sequence[str],
    milestones: Sequence[tuple[str, float, float]],
    horizon_h: float,
    pinned: Collection[str] = (),
    counts: Sequence[CountScore] = (),
) -> Comparison:
    """Score each documented milestone (waypoint, earliest_h, latest_h) against the arrival matrix.

    `arrivals_h` has one row per replication and one column per waypoint, NaN where never reached;
    milestones at waypoints in `pinned` are labelled pinned; `counts` are already scored.
    """
    column = {name: k for k, name in enumerate(waypoints)}
    return Comparison(
        tuple(
            score_milestone(name, arrivals_h[:, column[name]], a, b, horizon_h, name in pinned)
            for name, a, b in milestones
        ),
        tuple(counts),
    )


def pinned_waypoints(waypoints: Sequence[str], holds: Sequence[tuple[str, float]], arrivals_h: np.ndarray) -> set[str]:
    """The waypoints whose arrival a hold's fixed date sets: every waypoint after a hold (waypoint,
    until_h) that at least PINNING_SHARE of the replications reach before its date."""
    column = {name: k for k, name in enumerate(waypoints)}
    first = len(waypoints)
    for name, until_h in holds:
        reached = arrivals_h[:, column[name]]
        if len(reached) and np.mean(np.nan_to_num(reached, nan=math.inf) <= until_h) >= PINNING_SHARE:
            first = min(first, column[name] + 1)
    return set(waypoints[first:])


def compare_run(run, counts: np.ndarray | None = None) -> Comparison:
    """The comparison of a Monte Carlo run with its scenario's documented dates and counts.

    `counts` is the run's count matrix when it was built as the run streamed (`StreamedRun.counts`,
    one column per `count_windows` entry); without it the counts are taken from `run.records`."""
    scenario, plan = run.scenario, run.plan
    arrivals = run.arrivals()
    milestones = [(m.waypoint, scenario.hours(m.earliest), scenario.hours(m.latest)) for m in scenario.documented_dates]
    holds = [(h.waypoint, scenario.hours(h.until)) for h in scenario.halts.holds if h.until is not None]
    windows = count_windows(scenario, plan.road_km)
    if counts is None and windows:
        counts = count_matrix([counted_incidents(r) for r in run.records], windows, plan.start)
    scores = score_counts(counts, windows) if windows else ()
    return compare(
        arrivals, plan.names, milestones, plan.horizon_h, pinned_waypoints(plan.names, holds, arrivals), scores
    )


COMPARISON_COLUMNS = [
    "waypoint",
    "documented_earliest",
    "documented_latest",
    "p10",
    "p50",
    "p90",
    "hit_rate",
    "percentile",
    "crps_h",
    "pinned",
]

COUNT_COLUMNS = [
    "count",
    "where",
    "documented_low",
    "documented_high",
    "p10",
    "p50",
    "p90",
    "hit_rate",
    "percentile",
    "rps",
    "note",
    "source",
]


def comparison_rows(run: Any, comparison: Comparison) -> list[dict[str, Any]]:
    """comparison.csv's rows; `run` is anything with a `plan` (its start dates the quantiles)."""
    start = run.plan.start
    return [
        {
            "waypoint": m.waypoint,
            "documented_earliest": iso(start, m.earliest_h),
            "documented_latest": iso(start, m.latest_h),
            "p10": iso(start, m.p10_h),
            "p50": iso(start, m.p50_h),
            "p90": iso(start, m.p90_h),
            "hit_rate": m.hit_rate,
            "percentile": m.percentile,
            "crps_h": m.crps_h,
            "pinned": m.pinned,
        }
        for m in comparison.milestones
    ]


def count_rows(comparison: Comparison) -> list[dict[str, Any]]:
    """One row per documented count: the window, the simulated quantiles and the scores."""
    return [
        {
            "count": c.count,
            "where": c.where,
            "documented_low": c.low,
            "documented_high": c.high,
            "p10": c.p10,
            "p50": c.p50,
            "p90": c.p90,
            "hit_rate": c.hit_rate,
            "percentile": c.percentile,
            "rps": c.rps,
            "note": c.note,
            "source": c.source,
        }
        for c in comparison.counts
    ]
