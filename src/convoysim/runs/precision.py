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
- A count (vehicles lost, IED strikes, each documented count) gets order-statistic intervals of its
  p10/p50/p90 and a normal interval of its mean, in counts.
- `run_until_precise` adds blocks of replications (0, 1, 2 ... exactly as a single run of that size
  would have: the estimates are the same as `run_monte_carlo` with the final count) until every
  quantile interval of interest is narrower than asked, or until it can tell that one never will
  be within the cap (`unreachable`): then it stops early and says why and what could be reached.

Why an interval can stop shrinking: an order-statistic interval shrinks as 1/sqrt(n) only where
the distribution has a density. A multimodal arrival (a breach or a bypass, a night halt or not)
has empty stretches; a quantile whose probability sits at such a gap keeps an interval that spans
the whole gap until n is large enough to tell on which side of the gap the quantile lies, and a
quantile that is "never" (too few replications arrive) has no finite interval at all.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np

from convoysim.model import compile_plan
from convoysim.runs.budget import MAX_PRECISION_REPLICATIONS
from convoysim.runs.compare import QUANTILES, compare, compare_run, quantiles
from convoysim.runs.counts import CountWindow, count_matrix, count_quantiles, count_windows, counted_incidents
from convoysim.runs.montecarlo import MonteCarloRun, executor_for
from convoysim.runs.timetext import day_time
from convoysim.scenario.schema import Scenario

CONFIDENCE = 0.95
BOOTSTRAP_SAMPLES = 400
BLOCK = 100
"""Replications added at a time by `run_until_precise`."""
MAX_REPLICATIONS = MAX_PRECISION_REPLICATIONS
"""Where `run_until_precise` gives up by default: a quantile that is 'never' has no finite interval."""


MIN_VERDICT = 400
"""Replications before `run_until_precise` judges a target out of reach: fewer give too noisy a
picture of gaps and of the 1/sqrt(n) shrinkage."""
GAP_EXPECTED = 10.0
"""A stretch between two order statistics is a gap of the distribution, not chance, when a smooth
density fitted to its neighbours would put at least this many replications in it (P(none) = e^-10)."""
GAP_NEIGHBOURS = 20
"""Order statistics on each side of a stretch used to estimate the density around it."""
PROJECTION_MARGIN = 1.5
"""Judged out of reach when the 1/sqrt(n) projection to the cap is this many times the target:
the width measured at a few hundred replications is itself uncertain by some 10-20 %."""

COUNTED_ALWAYS = ("vehicles_lost", "ied_strikes")
"""Counts whose precision is reported for every run, documented or not (over the whole march)."""

PRECISION_COLUMNS = ["waypoint", "estimate", "value", "low", "high", "half_width"]
"""precision.csv: hours for quantiles (p10_h ...), shares for hit_rate and coverage, counts for the
count rows (waypoint 'count: vehicles_lost (whole march)', estimates p10/p50/p90/mean)."""


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
class CountPrecision:
    count: str
    """One of the schema's COUNT_KINDS ('vehicles_lost')."""
    where: str
    """The stretch counted over ('whole march', 'Tin Aouker to Tabrichat')."""
    quantiles: tuple[Interval, ...]
    """p10, p50, p90 of the count."""
    mean: Interval
    hit_rate: Interval | None
    """Share inside the documented window; None for a count reported without one."""

    @property
    def label(self) -> str:
        return f"{self.count} ({self.where})"


@dataclass(frozen=True)
class Unreachable:
    """A quantile whose interval will not come down to the target within the cap, and why."""

    estimate: str
    """Which quantile ('Alkit valley p10')."""
    reason: str
    """Why, in words, with the numbers behind it."""
    reachable_h: float
    """The nearest half-width that can be reached within the cap, hours (inf: none, the quantile is 'never')."""


@dataclass(frozen=True)
class Precision:
    replications: int
    confidence: float
    waypoints: tuple[WaypointPrecision, ...]
    coverage: Interval | None
    counts: tuple[CountPrecision, ...] = ()
    unreachable: tuple[Unreachable, ...] = ()
    """Set by `run_until_precise` when it stopped early because the target is out of reach."""

    def reached(self, half_width_h: float) -> bool:
        """Whether every quantile interval of interest is at most `half_width_h` either side."""
        return self.widest[0] <= half_width_h

    @property
    def nearest_reachable_h(self) -> float:
        """The smallest target the run could have reached, hours (inf when a quantile is 'never')."""
        return max((u.reachable_h for u in self.unreachable), default=self.widest[0])

    @property
    def widest(self) -> tuple[float, str]:
        """The largest quantile half-width in hours, and which estimate it is ('Kidal p90')."""
        worst = max(
            (
                (iv.half_width, f"{w.waypoint} p{round(100 * q)}")
                for w in self.waypoints
                for q, iv in zip(QUANTILES, w.quantiles)
            ),
            default=(0.0, ""),
        )
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
        for c in self.counts:
            for q, iv in zip(QUANTILES, c.quantiles):
                out.append(
                    {"waypoint": f"count: {c.label}", "estimate": f"p{round(100 * q)}", **_cells(iv, iv.half_width)}
                )
            out.append({"waypoint": f"count: {c.label}", "estimate": "mean", **_cells(c.mean, c.mean.half_width)})
            if c.hit_rate is not None:
                iv = c.hit_rate
                out.append(
                    {"waypoint": f"count: {c.label}", "estimate": "hit_rate", **_cells(iv, 0.5 * (iv.high - iv.low))}
                )
        return out


def _cells(iv: Interval, half_width: float) -> dict[str, float]:
    return {"value": float(iv.estimate), "low": float(iv.low), "high": float(iv.high), "half_width": float(half_width)}


def waypoints_of_interest(run: MonteCarloRun) -> list[str]:
    """The documented waypoints, in route order; the destination when nothing is documented."""
    documented = {m.waypoint for m in run.scenario.documented_dates}
    names = [n for n in run.plan.names if n in documented]
    return names or [run.plan.names[-1]]


def coverage_interval(
    run: MonteCarloRun, confidence: float = CONFIDENCE, samples: int = BOOTSTRAP_SAMPLES
) -> Interval | None:
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


def mean_interval(values: np.ndarray, confidence: float = CONFIDENCE) -> Interval:
    """Normal interval of a mean (the central limit theorem; counts over hundreds of replications)."""
    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return Interval(float(x.mean()) if len(x) else math.nan, -math.inf, math.inf)
    from scipy import stats  # see quantile_interval

    half = float(stats.norm.ppf(0.5 + confidence / 2) * x.std(ddof=1) / math.sqrt(len(x)))
    return Interval(float(x.mean()), float(x.mean()) - half, float(x.mean()) + half)


def reported_count_windows(run: MonteCarloRun) -> list[tuple[CountWindow, bool]]:
    """The documented counts (True: a window to hit), then the COUNTED_ALWAYS kinds over the whole
    march that are not documented over it already (False)."""
    documented = count_windows(run.scenario, run.plan.road_km)
    whole = {w.count for w in documented if w.where == "whole march"}
    extra = [
        CountWindow(kind, 0, 0, -math.inf, math.inf, -math.inf, math.inf, "whole march")
        for kind in COUNTED_ALWAYS
        if kind not in whole
    ]
    return [(w, True) for w in documented] + [(w, False) for w in extra]


def count_precision(run: MonteCarloRun, confidence: float = CONFIDENCE) -> tuple[CountPrecision, ...]:
    """Intervals of the counts' quantiles and means (and hit rates of the documented windows)."""
    windows = reported_count_windows(run)
    if not windows or not run.records:
        return ()
    matrix = count_matrix([counted_incidents(r) for r in run.records], [w for w, _ in windows], run.plan.start)
    out = []
    for k, (w, documented) in enumerate(windows):
        x = matrix[:, k]
        hit = proportion_interval(int(np.sum((x >= w.low) & (x <= w.high))), len(x), confidence) if documented else None
        quantile_ivs = tuple(
            replace(quantile_interval(x, q, confidence), estimate=float(k))  # a count, as runs.counts
            for q, k in zip(QUANTILES, count_quantiles(x))
        )
        out.append(CountPrecision(w.count, w.where, quantile_ivs, mean_interval(x, confidence), hit))
    return tuple(out)


def precision(run: MonteCarloRun, confidence: float = CONFIDENCE, bootstrap: bool = True) -> Precision:
    """Confidence intervals of every estimate the run reports at its waypoints of interest."""
    arrivals = run.arrivals()
    column = {name: k for k, name in enumerate(run.plan.names)}
    windows = {
        m.waypoint: (run.scenario.hours(m.earliest), run.scenario.hours(m.latest))
        for m in run.scenario.documented_dates
    }
    out = []
    for name in waypoints_of_interest(run):
        x = arrivals[:, column[name]]
        hit = None
        if name in windows:
            a, b = windows[name]
            hit = proportion_interval(int(np.sum((x >= a) & (x <= b))), len(x), confidence)
        out.append(WaypointPrecision(name, tuple(quantile_interval(x, q, confidence) for q in QUANTILES), hit))
    return Precision(
        run.replications,
        confidence,
        tuple(out),
        coverage_interval(run, confidence) if bootstrap else None,
        count_precision(run, confidence),
    )


def _gap(x: np.ndarray, low: float, high: float) -> tuple[float, float, int] | None:
    """The widest stretch between consecutive order statistics inside [low, high] that is a gap of
    the distribution (see GAP_EXPECTED): (bottom, top, replications at or below the bottom). `x` is
    sorted, NaN as inf; [low, high] is finite."""
    n = len(x)
    i0, i1 = int(np.searchsorted(x, low, "left")), int(np.searchsorted(x, high, "right"))
    best = None
    for i in range(max(i0, 0), min(i1, n) - 1):
        bottom, top = x[i], x[i + 1]
        width = top - bottom
        if best is not None and width <= best[1] - best[0]:
            continue
        a, b = max(0, i + 1 - GAP_NEIGHBOURS), min(n, i + 1 + GAP_NEIGHBOURS)
        around = x[a:b]
        finite = around[np.isfinite(around)]
        span = (finite[-1] - finite[0]) - width if len(finite) > 2 else 0.0
        if span <= 0:
            continue
        if (len(finite) - 1) / span * width >= GAP_EXPECTED:
            best = (float(bottom), float(top), i + 1)
    return best


def reachability(
    samples: np.ndarray,
    q: float,
    target_h: float,
    cap: int,
    name: str = "",
    confidence: float = CONFIDENCE,
    start: datetime | None = None,
) -> Unreachable | None:
    """Whether the q-quantile's interval can come down to `target_h` either side within `cap`
    replications; None when it can (or when it is already there), else the reason and the nearest
    reachable half-width.

    Two ways to fall short: the interval straddles a gap of the distribution wider than twice the
    target (or runs to 'never'), and the share of replications below the gap is too close to q for
    `cap` replications to tell on which side the quantile lies (the binomial interval of q must
    leave that share out: n > z^2 q(1-q) / (share - q)^2); or the interval has a density to shrink
    in but its 1/sqrt(n) shrinkage would still leave it wider than the target at the cap. With
    `start`, the gap is given as dates, else as model hours."""
    x = np.sort(np.where(np.isnan(samples), np.inf, np.asarray(samples, dtype=float)))
    n = len(x)
    iv = quantile_interval(x, q, confidence)
    label = f"{name} p{round(100 * q)}".strip()
    if iv.half_width <= target_h:
        return None
    from scipy import stats  # see quantile_interval

    z = float(stats.norm.ppf(0.5 + confidence / 2))
    if math.isinf(iv.high):  # the interval runs to 'never': it ends only once the quantile is known to be finite
        share = float(np.mean(np.isfinite(x)))
        if share <= q or z * z * q * (1 - q) / (share - q) ** 2 > cap:
            return Unreachable(
                label,
                f"only {share:.1%} of the replications arrive, so p{round(100 * q)} is 'never' or "
                f"too close to it to tell within {cap:,} replications: its interval has no end",
                math.inf,
            )
        return None
    gap = _gap(x, iv.low, iv.high)
    if gap is not None and gap[1] - gap[0] > 2 * target_h:
        bottom, top, below = gap
        share = below / n
        needed = math.inf if share == q else z * z * q * (1 - q) / (share - q) ** 2
        if needed <= cap:
            return None
        rest = iv.high - iv.low - (top - bottom)
        reachable = 0.5 * (top - bottom + rest * math.sqrt(n / cap))
        when = (lambda h: day_time(start, h)) if start else (lambda h: f"hour {h:.1f}")
        return Unreachable(
            label,
            f"sits at a gap of the distribution: no replication arrives between {when(bottom)} "
            f"and {when(top)}, and {share:.1%} arrive before it, too close to {q:.0%} to tell on "
            f"which side p{round(100 * q)} lies before some {_round_up(needed)} replications "
            f"(the cap is {cap:,}); until then the interval spans the gap",
            reachable,
        )
    projected = iv.half_width * math.sqrt(n / cap)
    if projected > PROJECTION_MARGIN * target_h:
        return Unreachable(
            label,
            f"its interval (±{iv.half_width:.1f} h at {n} replications) shrinks as 1/sqrt(n), "
            f"and would still be about ±{projected:.1f} h at the cap of {cap:,}",
            projected,
        )
    return None


def _round_up(n: float) -> str:
    """A replication count for a message: 'more than a million' beyond that, else two significant digits."""
    if n > 1e6:
        return "more than a million"
    digits = 10 ** max(0, int(math.log10(max(n, 1))) - 1)
    return f"{int(math.ceil(n / digits) * digits):,}"


def unreachable(
    run: MonteCarloRun, half_width_h: float, cap: int, confidence: float = CONFIDENCE
) -> tuple[Unreachable, ...]:
    """Every p10/p50/p90 of interest that `reachability` finds out of reach within `cap`."""
    arrivals = run.arrivals()
    column = {name: k for k, name in enumerate(run.plan.names)}
    found = (
        reachability(arrivals[:, column[name]], q, half_width_h, cap, name, confidence, run.plan.start)
        for name in waypoints_of_interest(run)
        for q in QUANTILES
    )
    return tuple(u for u in found if u is not None)


@dataclass(frozen=True)
class ConvergencePoint:
    replications: int
    estimate: float
    low: float
    high: float


def convergence(
    samples: np.ndarray, q: float = 0.5, steps: int = 30, confidence: float = CONFIDENCE
) -> list[ConvergencePoint]:
    """The q-quantile estimate and its interval after the first n replications, for growing n."""
    n_all = len(samples)
    sizes = np.unique(np.geomspace(min(10, n_all), n_all, steps).astype(int))
    out = []
    for n in sizes:
        iv = quantile_interval(samples[:n], q, confidence)
        out.append(ConvergencePoint(int(n), iv.estimate, iv.low, iv.high))
    return out


PrecisionReport = Callable[[Precision], None]


def run_until_precise(
    scenario: Scenario,
    half_width_h: float,
    seed: int | None = None,
    workers: int = 1,
    block: int = BLOCK,
    max_replications: int = MAX_REPLICATIONS,
    report: PrecisionReport | None = None,
) -> tuple[MonteCarloRun, Precision]:
    """Add blocks of replications until every p10/p50/p90 interval of interest is at most
    `half_width_h` on each side, or `max_replications` is reached, or (from MIN_VERDICT
    replications on) a quantile is found out of reach within `max_replications`: then the returned
    precision's `unreachable` says which, why and the nearest reachable target. Check
    `precision.reached(half_width_h)`."""
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
        if len(records) >= MIN_VERDICT:
            out_of_reach = unreachable(run, half_width_h, max_replications)
            if out_of_reach:
                return run, replace(precision(run), unreachable=out_of_reach)
        upto = min(max_replications, next_size(len(records), width, half_width_h, block))


def precision_shortfall(found: Precision, half_width_h: float) -> str:
    """Why a run did not reach ±`half_width_h`, and what to ask instead, in words ('' if it did)."""
    if found.reached(half_width_h):
        return ""
    target = f"±{_hours(half_width_h)}"
    if not found.unreachable:
        width, which = found.widest
        if not math.isfinite(width):
            return (
                f"precision {target} not reached within {found.replications} replications ({which} is still "
                "'never' or too close to it): raise -n"
            )
        return (
            f"precision {target} not reached within {found.replications} replications (widest: {which} "
            f"±{_hours(width)}): raise -n, or ask for ±{_hours(math.ceil(2 * width) / 2)}"
        )
    lines = [f"precision {target} cannot be reached; stopped after {found.replications} replications:"]
    lines += [f"  {u.estimate} {u.reason}" for u in found.unreachable]
    nearest = found.nearest_reachable_h
    lines.append(
        "  no target can be reached while a quantile is 'never': ask about waypoints more replications reach"
        if math.isinf(nearest)
        else f"  nearest reachable target: ±{_hours(math.ceil(2 * nearest) / 2)}"
    )
    return "\n".join(lines)


def _hours(h: float) -> str:
    """'2 h', '4.5 h', '30 min'."""
    return f"{round(60 * h)} min" if h < 1 else f"{h:g} h" if h == round(h, 1) else f"{h:.1f} h"


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
