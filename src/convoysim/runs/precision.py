"""Monte Carlo output analysis: how precise is each estimate of a run, and how many replications
are needed for a given precision.

- A quantile (p10, p50, p90 of an arrival) gets a distribution-free confidence interval from order
  statistics: the number of replications below the true quantile is binomial, so two order
  statistics bracket it with at least the asked confidence. A replication that never arrives is
  later than any date, as in the comparison.
- A hit rate (a share of replications) gets a Wilson score interval, which stays inside [0, 1].
- The coverage of the documented dates (share of their windows meeting the simulated 80 % interval)
  is a function of quantiles of several waypoints at once: its interval comes from a bootstrap over replications,
  with a generator seeded from the run's seed, so the same run always reports the same interval.
- `run_until_precise` adds blocks of replications (0, 1, 2 ... exactly as a single run of that size
  would have: the estimates are the same as `run_monte_carlo` with the final count) until every
  quantile interval of interest is narrower than asked.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from convoysim.model import compile_plan
from convoysim.runs.budget import MAX_PRECISION_REPLICATIONS
from convoysim.runs.compare import QUANTILES, compare, compare_run, quantiles
from convoysim.runs.montecarlo import MonteCarloRun, executor_for
from convoysim.scenario.schema import Scenario

CONFIDENCE = 0.95
BOOTSTRAP_SAMPLES = 400
BLOCK = 100
"""Replications added at a time by `run_until_precise`."""
MAX_REPLICATIONS = MAX_PRECISION_REPLICATIONS
"""Where `run_until_precise` gives up by default: a quantile that is 'never' has no finite interval."""


PRECISION_COLUMNS = ["waypoint", "estimate", "value", "low", "high", "half_width"]
"""precision.csv: hours for quantiles (p10_h ...), shares for hit_rate and coverage."""


@dataclass(frozen=True)
class Interval:
    """An estimate and its confidence interval; bounds may be +inf ('never')."""

    estimate: float
    low: float
    high: float

    @property
    def half_width(self) -> float:
        return 0.5 * (self.high - self.low) if math.isfinite(self.high) and math.isfinite(self.low) else math.inf


def quantile_interval(samples: np.ndarray, q: float, confidence: float = CONFIDENCE) -> Interval:
    """Order-statistic interval of the q-quantile: [x(l), x(u)] with P(l <= nq < u) >= confidence."""
    x = np.sort(np.where(np.isnan(samples), np.inf, np.asarray(samples, dtype=float)))
    n = len(x)
    (estimate,) = quantiles(x, (q,))
    alpha = 1.0 - confidence
    from scipy import stats  # here, not at the top: `convoysim run` imports this module, --precision alone needs scipy

    lo = int(stats.binom.ppf(alpha / 2, n, q))  # P(B <= lo - 1) < alpha / 2
    hi = int(stats.binom.ppf(1 - alpha / 2, n, q))
    low = x[max(lo - 1, 0)]
    high = x[min(hi, n - 1)] if hi < n else math.inf
    return Interval(estimate, float(low), float(high))


def proportion_interval(hits: int, n: int, confidence: float = CONFIDENCE) -> Interval:
    """Wilson score interval of a share `hits / n`."""
    if n == 0:
        return Interval(math.nan, 0.0, 1.0)
    from scipy import stats  # see quantile_interval

    z = stats.norm.ppf(0.5 + confidence / 2)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # rounding must not put the bound past the estimate (0 hits: exactly 0, all hits: exactly 1)
    return Interval(p, float(min(p, max(0.0, centre - half))), float(max(p, min(1.0, centre + half))))


@dataclass(frozen=True)
class WaypointPrecision:
    waypoint: str
    quantiles: tuple[Interval, ...]
    """p10, p50, p90 of the arrival, in model hours."""
    hit_rate: Interval | None
    """Share arriving inside the documented window; None for an undocumented waypoint."""


@dataclass(frozen=True)
class Precision:
    replications: int
    confidence: float
    waypoints: tuple[WaypointPrecision, ...]
    coverage: Interval | None

    @property
    def widest(self) -> tuple[float, str]:
        """The largest quantile half-width in hours, and which estimate it is ('Kidal p90')."""
        worst = max(((iv.half_width, f"{w.waypoint} p{round(100 * q)}") for w in self.waypoints
                     for q, iv in zip(QUANTILES, w.quantiles)), default=(0.0, ""))
        return worst

    def rows(self) -> list[dict[str, object]]:
        """One row per waypoint and estimate: estimate, low, high (hours, or a share for hit rates)."""
        out: list[dict[str, object]] = []
        for w in self.waypoints:
            for q, iv in zip(QUANTILES, w.quantiles):
                out.append({"waypoint": w.waypoint, "estimate": f"p{round(100 * q)}_h", **_cells(iv, iv.half_width)})
            if w.hit_rate is not None:
                iv = w.hit_rate
                out.append({"waypoint": w.waypoint, "estimate": "hit_rate", **_cells(iv, 0.5 * (iv.high - iv.low))})
        if self.coverage is not None:
            iv = self.coverage
            out.append({"waypoint": "", "estimate": "coverage", **_cells(iv, 0.5 * (iv.high - iv.low))})
        return out


def _cells(iv: Interval, half_width: float) -> dict[str, float]:
    return {"value": float(iv.estimate), "low": float(iv.low), "high": float(iv.high), "half_width": float(half_width)}


def waypoints_of_interest(run: MonteCarloRun) -> list[str]:
    """The documented waypoints, in route order; the destination when nothing is documented."""
    documented = {m.waypoint for m in run.scenario.documented_dates}
    names = [n for n in run.plan.names if n in documented]
    return names or [run.plan.names[-1]]


def coverage_interval(run: MonteCarloRun, confidence: float = CONFIDENCE,
                      samples: int = BOOTSTRAP_SAMPLES) -> Interval | None:
    """Percentile-bootstrap interval of the coverage, resampling whole replications."""
    scenario = run.scenario
    if not scenario.documented_dates:
        return None
    milestones = [(m.waypoint, scenario.hours(m.earliest), scenario.hours(m.latest)) for m in scenario.documented_dates]
    arrivals = run.arrivals()
    rng = np.random.default_rng(np.random.SeedSequence(run.seed, spawn_key=(2**31 - 1,)))
    values = np.empty(samples)
    for b in range(samples):
        rows = rng.integers(0, len(arrivals), len(arrivals))
        values[b] = compare(arrivals[rows], run.plan.names, milestones, run.plan.horizon_h).date_coverage
    alpha = 1.0 - confidence
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return Interval(compare_run(run).date_coverage, float(low), float(high))


def precision(run: MonteCarloRun, confidence: float = CONFIDENCE, bootstrap: bool = True) -> Precision:
    """Confidence intervals of every estimate the run reports at its waypoints of interest."""
    arrivals = run.arrivals()
    column = {name: k for k, name in enumerate(run.plan.names)}
    windows = {m.waypoint: (run.scenario.hours(m.earliest), run.scenario.hours(m.latest))
               for m in run.scenario.documented_dates}
    out = []
    for name in waypoints_of_interest(run):
        x = arrivals[:, column[name]]
        hit = None
        if name in windows:
            a, b = windows[name]
            hit = proportion_interval(int(np.sum((x >= a) & (x <= b))), len(x), confidence)
        out.append(WaypointPrecision(name, tuple(quantile_interval(x, q, confidence) for q in QUANTILES), hit))
    return Precision(run.replications, confidence, tuple(out),
                     coverage_interval(run, confidence) if bootstrap else None)


@dataclass(frozen=True)
class ConvergencePoint:
    replications: int
    estimate: float
    low: float
    high: float


def convergence(samples: np.ndarray, q: float = 0.5, steps: int = 30,
                confidence: float = CONFIDENCE) -> list[ConvergencePoint]:
    """The q-quantile estimate and its interval after the first n replications, for growing n."""
    n_all = len(samples)
    sizes = np.unique(np.geomspace(min(10, n_all), n_all, steps).astype(int))
    out = []
    for n in sizes:
        iv = quantile_interval(samples[:n], q, confidence)
        out.append(ConvergencePoint(int(n), iv.estimate, iv.low, iv.high))
    return out


PrecisionReport = Callable[[Precision], None]


def run_until_precise(scenario: Scenario, half_width_h: float, seed: int | None = None, workers: int = 1,
                      block: int = BLOCK, max_replications: int = MAX_REPLICATIONS,
                      report: PrecisionReport | None = None) -> tuple[MonteCarloRun, Precision]:
    """Add blocks of replications until every p10/p50/p90 interval of interest is at most
    `half_width_h` on each side (or `max_replications` is reached: check `precision.widest`)."""
    if not half_width_h > 0:
        raise ValueError(f"the precision must be positive, got {half_width_h} h")
    s = seed if seed is not None else scenario.montecarlo.seed
    plan = compile_plan(scenario)
    executor = executor_for(workers)
    records: list = []
    started = time.perf_counter()
    upto = min(block, max_replications)
    while True:
        n = len(records)
        step = max(1, (upto - n) // max(1, workers * 2))
        blocks = [range(a, min(upto, a + step)) for a in range(n, upto, step)]
        records.extend(executor.run(plan, s, blocks, None))
        run = MonteCarloRun(scenario, plan, s, records, workers, time.perf_counter() - started)
        current = precision(run, bootstrap=False)
        if report:
            report(current)
        width = current.widest[0]
        if width <= half_width_h or len(records) >= max_replications:
            return run, precision(run)
        upto = min(max_replications, next_size(len(records), width, half_width_h, block))


def next_size(n: int, width_h: float, target_h: float, block: int = BLOCK) -> int:
    """Replications to aim for next: a half-width shrinks as 1/sqrt(n), so n (width/target)^2 with a
    tenth more, in whole blocks, at least one block more and at most twice as many (the interval
    of a quantile that is still 'never' is infinite: then it doubles)."""
    wanted = n * (width_h / target_h) ** 2 * 1.1 if math.isfinite(width_h) else 2 * n
    wanted = min(max(wanted, n + block), 2 * n if n >= block else n + block)
    return int(math.ceil(wanted / block) * block)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(min|m|h|d)?\s*$")


def parse_duration_h(text: str) -> float:
    """'2h', '90min', '0.5d' or a bare number of hours, as hours; ValueError with the accepted forms."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a duration: write e.g. 2h, 90min or 1d")
    value = float(match.group(1))
    unit = match.group(2) or "h"
    hours = value * {"min": 1 / 60, "m": 1 / 60, "h": 1.0, "d": 24.0}[unit]
    if hours <= 0:
        raise ValueError(f"'{text}': the precision must be more than zero")
    return hours
