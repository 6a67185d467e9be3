"""Distances of a calibration: how far a simulated particle lies from the documented windows.

Dates are scored in hours outside their window (the median over replications, `window`) or by CRPS
(`crps`); documented counts in counts outside their window (or RPS), weighted in hours per count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from convoysim.runs.compare import crps_window
from convoysim.runs.counts import CountWindow, rps_window
from convoysim.scenario.schema import Scenario


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
    "relative": median_window_distance,
    "relative-crps": mean_crps_distance,
}
"""The distance of the dates alone, by name (what `--distance` chooses). The relative ones score a
convoy as `window` and `crps` do, then divide by its documented duration (`RELATIVE`)."""

TERMS = {
    "window": (window_terms, window_count_terms),
    "crps": (crps_terms, rps_count_terms),
    "relative": (window_terms, window_count_terms),
    "relative-crps": (crps_terms, rps_count_terms),
}
"""Per-window terms of each distance: (dates, in hours; counts, in counts)."""

RELATIVE = ("relative", "relative-crps")
"""Distances divided, convoy by convoy, by the documented duration of its march
(`documented_duration_h`): a day missed on a 3-day march weighs as much as two weeks on a 40-day one."""

RELATIVE_CAP = 1.0
"""A convoy's relative distance counts at most this much: a march simulated twice as long as it was
documented is as wrong as any. Without the cap one convoy the model cannot represent (a 540 km march
documented in ten hours, scored at 4) would outweigh all the others and drag the shared parameters."""


def documented_duration_h(scenario: Scenario) -> float:
    """Hours from the scenario's start to the middle of the window of its documented arrival furthest
    along the route (the duration `validation.corpus_row` scores); NaN without a documented date."""
    order = {name: k for k, name in enumerate(scenario.waypoint_names)}
    docs = scenario.documented_dates
    if not docs:
        return float("nan")
    last = max(docs, key=lambda m: (order[m.waypoint], scenario.hours(m.latest)))
    return 0.5 * (scenario.hours(last.earliest) + scenario.hours(last.latest))


COUNT_WEIGHT_H = 12.0
"""Hours of distance that one count outside its documented window costs (the default of --count-weight-h)."""
