"""Paired comparison of plans on common random numbers.

Every plan runs replications 0..n-1 on `replication_stream(seed, r)`: replication r of one plan
meets the same dice as replication r of every other (as far as the two consume numbers alike), so
the difference of a plan from the reference is estimated replication by replication. Its variance,
var(B - A), is compared with what independent seeds would give, var(A) + var(B): the ratio is the
variance reduction the pairing achieved (how many times fewer replications it needs).

Conventions (as in comparison.csv): a replication that never reaches a waypoint is later than any
date in the percentiles (p90 is "never" when more than 10 % never arrive), is left out of the mean,
and a pair is left out of the paired difference when either plan never arrived; `reached` is the
share that arrived. Arrivals (`arrival_h.<waypoint>`) are hours since the **reference plan's**
start, so a plan that leaves a week later is compared in calendar time; `duration_h` is the march
from each plan's own departure to the head's arrival at the destination.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from convoysim.model import ACTIVITIES, compile_plan
from convoysim.runs.chunks import row_lines
from convoysim.runs.files import csv_text, package_versions, write_atomic
from convoysim.runs.montecarlo import chunks, executor_for
from convoysim.runs.precision import Interval, next_size, proportion_interval, quantile_interval
from convoysim.studies.experiments import output_names
from convoysim.studies.plans import Plan

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas

CONFIDENCE = 0.95
STATISTICS = ("mean", "p10", "p50", "p90")
NON_ARRIVALS = (
    "a replication that never arrives is later than any date in the percentiles, left out of the mean, "
    "and its pair is left out of the paired difference (as in comparison.csv); reached = share arrived"
)


def outputs_of(plans: Sequence[Plan]) -> list[str]:
    """Every output the plans share: arrivals at the waypoints they all have, duration, then the
    replication record's numbers (vehicles lost, wounded, killed, IED strikes, ambushes, hours ...)."""
    common = [w for w in plans[0].scenario.waypoint_names if all(w in p.scenario.waypoint_names for p in plans[1:])]
    names = output_names(tuple(common))
    arrivals = [n for n in names if n.startswith("arrival_h.")]
    rest = [n for n in names if not n.startswith("arrival_h.") and n not in ("arrived",)]
    return [*arrivals, "duration_h", *rest]


def default_outputs(plans: Sequence[Plan]) -> list[str]:
    """What the printed table and the figures show: the destination, duration, losses and incidents."""
    destination = plans[0].scenario.waypoint_names[-1]
    wanted = [
        f"arrival_h.{destination}",
        "duration_h",
        "vehicles_lost",
        "wounded",
        "killed",
        "ied_strikes",
        "ambushes",
        *(f"hours_{a}" for a in ACTIVITIES),
    ]
    have = set(outputs_of(plans))
    return [o for o in wanted if o in have]


def is_time(output: str) -> bool:
    """Outputs that are times of arrival (NaN when never), which follow the non-arrival conventions."""
    return output.startswith("arrival_h.") or output in ("duration_h", "tail_arrival_h")


def offset_h(plan: Plan, reference: Plan) -> float:
    """Hours from the reference's start to this plan's: added to its arrivals (calendar time)."""
    return (plan.scenario.start - reference.scenario.start).total_seconds() / 3600.0


def plan_values(
    plan: Plan, reference: Plan, seed: int, replications: range, outputs: Sequence[str], workers: int = 1
) -> tuple[dict[str, np.ndarray], list[str]]:
    """One plan's replications on the common streams: each output's values and each end reason."""
    compiled = compile_plan(plan.scenario)
    records = executor_for(workers).run(compiled, seed, chunks(replications.stop, workers, replications.start), None)
    shift = offset_h(plan, reference)
    columns: dict[str, list[float]] = {o: [] for o in outputs}
    reasons = []
    for r in records:
        row = r.as_row()
        row["incidents"] = len(r.incidents)
        for w, h in zip(compiled.names, r.arrival_h):
            row[f"arrival_h.{w}"] = h + shift
        row["duration_h"] = r.arrival_h[-1]
        row["tail_arrival_h"] = float(row["tail_arrival_h"]) + shift  # type: ignore[arg-type]
        for o in outputs:
            value = float(row.get(o, math.nan))  # type: ignore[arg-type]
            columns[o].append(value if math.isfinite(value) else math.nan)
        reasons.append(r.error or r.end_reason)
    return {o: np.array(v, dtype=float) for o, v in columns.items()}, reasons


def censored(x: np.ndarray, plan: Plan, reference: Plan, output: str) -> np.ndarray:
    """An output with each non-arrival counted at the plan's horizon (in the reference's clock for
    arrivals), as the CRPS counts it: what selecting the fastest plan ranks."""
    if not is_time(output):
        return x
    horizon = plan.scenario.horizon_days * 24.0 + (0.0 if output == "duration_h" else offset_h(plan, reference))
    return np.where(np.isnan(x), horizon, x)


def mean_interval(x: np.ndarray, confidence: float = CONFIDENCE) -> Interval:
    """Student-t interval of the mean of the finite values (NaN when fewer than two)."""
    kept = x[np.isfinite(x)]
    if len(kept) < 2:
        m = float(kept[0]) if len(kept) else math.nan
        return Interval(m, -math.inf if len(kept) else math.nan, math.inf if len(kept) else math.nan)
    from scipy import stats

    m = float(np.mean(kept))
    half = float(stats.t.ppf(0.5 + confidence / 2, len(kept) - 1) * np.std(kept, ddof=1) / math.sqrt(len(kept)))
    return Interval(m, m - half, m + half)


@dataclass(frozen=True)
class Difference:
    """A plan's paired difference from the reference on one output, with the pairing's gain."""

    plan: str
    reference: str
    output: str
    interval: Interval
    pairs: int
    var_paired: float
    """var(B - A) over the pairs, per replication."""
    var_independent: float
    """var(A) + var(B) over the same pairs: the variance of a difference with independent seeds."""

    @property
    def width(self) -> float:
        """Full width of the 95 % interval (inf when it cannot be computed)."""
        w = self.interval.high - self.interval.low
        return w if math.isfinite(w) else math.inf

    @property
    def variance_reduction(self) -> float:
        """var_independent / var_paired: how many times fewer replications the pairing needs."""
        if self.var_paired > 0:
            return self.var_independent / self.var_paired
        return math.inf if self.var_independent > 0 else math.nan

    def row(self) -> dict[str, Any]:
        iv = self.interval
        return {
            "plan": self.plan,
            "reference": self.reference,
            "output": self.output,
            "difference": iv.estimate,
            "low": iv.low,
            "high": iv.high,
            "width": self.width,
            "pairs": self.pairs,
            "var_paired": self.var_paired,
            "var_independent": self.var_independent,
            "variance_reduction": self.variance_reduction,
        }


def paired_difference(
    a: np.ndarray, b: np.ndarray, plan: str, reference: str, output: str, confidence: float = CONFIDENCE
) -> Difference:
    """B - A replication by replication, over the pairs where both are finite."""
    both = np.isfinite(a) & np.isfinite(b)
    x, y = a[both], b[both]
    n = int(both.sum())
    var_paired = float(np.var(y - x, ddof=1)) if n > 1 else math.nan
    var_indep = float(np.var(x, ddof=1) + np.var(y, ddof=1)) if n > 1 else math.nan
    return Difference(plan, reference, output, mean_interval(y - x, confidence), n, var_paired, var_indep)


def plan_statistics(plan: str, output: str, x: np.ndarray, confidence: float = CONFIDENCE) -> list[dict[str, Any]]:
    """summary.csv's rows for one plan and output: mean and p10/p50/p90 with their intervals, and
    for times the share that arrived."""
    rows = []
    iv = mean_interval(x, confidence)
    rows.append(
        {
            "plan": plan,
            "output": output,
            "statistic": "mean",
            "estimate": iv.estimate,
            "low": iv.low,
            "high": iv.high,
            "n": int(np.isfinite(x).sum()),
        }
    )
    for q in (0.1, 0.5, 0.9):
        qi = quantile_interval(x, q, confidence)
        rows.append(
            {
                "plan": plan,
                "output": output,
                "statistic": f"p{round(100 * q)}",
                "estimate": qi.estimate,
                "low": qi.low,
                "high": qi.high,
                "n": len(x),
            }
        )
    if is_time(output):
        pi = proportion_interval(int(np.isfinite(x).sum()), len(x), confidence)
        rows.append(
            {
                "plan": plan,
                "output": output,
                "statistic": "reached",
                "estimate": pi.estimate,
                "low": pi.low,
                "high": pi.high,
                "n": len(x),
            }
        )
    return rows


SUMMARY_COLUMNS = ["plan", "output", "statistic", "estimate", "low", "high", "n"]
DIFFERENCE_COLUMNS = [
    "plan",
    "reference",
    "output",
    "difference",
    "low",
    "high",
    "width",
    "pairs",
    "var_paired",
    "var_independent",
    "variance_reduction",
]


@dataclass
class PlanComparison:
    """Every plan's replications on the common streams, their statistics and paired differences."""

    plans: list[Plan]
    """The reference first."""
    seed: int
    values: dict[str, dict[str, np.ndarray]]
    """plan -> output -> one value per replication (NaN: never arrived)."""
    reasons: dict[str, list[str]]
    outputs: list[str]
    shown: list[str]
    """The outputs the table, the figures and --precision look at."""
    wall_time_s: float = 0.0
    confidence: float = CONFIDENCE
    summary: list[dict[str, Any]] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)

    @property
    def reference(self) -> Plan:
        return self.plans[0]

    @property
    def replications(self) -> int:
        return len(self.reasons[self.reference.name])

    def analyse(self) -> "PlanComparison":
        """Fill `summary` and `differences` from the values."""
        ref = self.reference.name
        self.summary = [
            row
            for p in self.plans
            for o in self.outputs
            for row in plan_statistics(p.name, o, self.values[p.name][o], self.confidence)
        ]
        self.differences = [
            paired_difference(self.values[ref][o], self.values[p.name][o], p.name, ref, o, self.confidence)
            for p in self.plans[1:]
            for o in self.outputs
        ]
        return self

    def difference(self, plan: str, output: str) -> Difference:
        return next(d for d in self.differences if d.plan == plan and d.output == output)

    def censored(self, plan: str, output: str) -> np.ndarray:
        """One plan's output with a non-arrival counted at its horizon (see `censored`)."""
        p = next(q for q in self.plans if q.name == plan)
        return censored(self.values[plan][output], p, self.reference, output)

    def widest(self, outputs: Sequence[str] | None = None) -> tuple[float, str]:
        """The widest paired-difference interval among `outputs` (default: the shown ones), and whose."""
        chosen = set(outputs or self.shown)
        return max(
            ((d.width, f"{d.plan} - {d.reference}: {d.output}") for d in self.differences if d.output in chosen),
            default=(0.0, ""),
        )

    def to_frame(self) -> "pandas.DataFrame":
        """summary.csv as a DataFrame: one row per plan, output and statistic, with its interval."""
        from convoysim.runs.frames import frame

        return frame(self.summary, SUMMARY_COLUMNS)

    def differences_frame(self) -> "pandas.DataFrame":
        """differences.csv as a DataFrame: one row per plan (not the reference) and output."""
        from convoysim.runs.frames import frame

        return frame([d.row() for d in self.differences], DIFFERENCE_COLUMNS)

    def runs_frame(self) -> "pandas.DataFrame":
        """runs.csv as a DataFrame: one row per plan and replication, every output."""
        from convoysim.runs.frames import frame

        return frame(self.run_rows(), ["plan", "replication", *self.outputs, "end_reason"])

    def run_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "plan": p.name,
                "replication": r,
                **{o: float(self.values[p.name][o][r]) for o in self.outputs},
                "end_reason": self.reasons[p.name][r],
            }
            for p in self.plans
            for r in range(self.replications)
        ]


Progress = Callable[[int], None]


def compare_plans(
    plans: Sequence[Plan],
    replications: int,
    seed: int,
    outputs: Sequence[str] | None = None,
    workers: int = 1,
    progress: Progress | None = None,
    start: int = 0,
    so_far: PlanComparison | None = None,
) -> PlanComparison:
    """Run every plan's replications `start`..`replications - 1` on the common streams (added to
    `so_far`'s first ones) and analyse them; the reference is `plans[0]`."""
    if len(plans) < 2:
        raise ValueError("comparing needs at least two plans")
    if replications < 2:
        raise ValueError(f"comparing needs at least two replications, got {replications}")
    every = outputs_of(plans)
    shown = list(outputs) if outputs else default_outputs(plans)
    unknown = [o for o in shown if o not in every]
    if unknown:
        raise ValueError(f"unknown output {', '.join(unknown)}; outputs are {', '.join(every[:8])}, ...")
    started = time.perf_counter()
    values: dict[str, dict[str, np.ndarray]] = {}
    reasons: dict[str, list[str]] = {}
    for p in plans:
        new, why = plan_values(p, plans[0], seed, range(start, replications), every, workers)
        if so_far is not None:
            new = {o: np.concatenate([so_far.values[p.name][o][:start], new[o]]) for o in every}
            why = so_far.reasons[p.name][:start] + why
        values[p.name], reasons[p.name] = new, why
        if progress:
            progress(replications - start)
    wall = time.perf_counter() - started + (so_far.wall_time_s if so_far else 0.0)
    return PlanComparison(list(plans), seed, values, reasons, every, shown, wall).analyse()


BLOCK = 100
"""Replications added at a time by `compare_until_precise`."""


def compare_until_precise(
    plans: Sequence[Plan],
    width: float,
    seed: int,
    outputs: Sequence[str] | None = None,
    workers: int = 1,
    block: int = BLOCK,
    max_replications: int = 20_000,
    report: Callable[[PlanComparison], None] | None = None,
) -> PlanComparison:
    """Add replications (0, 1, 2 ... as one comparison of the final size) until every paired-difference
    interval of the chosen outputs is at most `width` wide in full (or `max_replications` is reached:
    check `widest()`)."""
    if not width > 0:
        raise ValueError(f"the width must be positive, got {width}")
    upto = min(max(block, 2), max_replications)
    result = compare_plans(plans, upto, seed, outputs, workers)
    while True:
        if report:
            report(result)
        widest, _ = result.widest()
        if widest <= width or result.replications >= max_replications:
            return result
        upto = min(max_replications, next_size(result.replications, widest, width, block))
        result = compare_plans(plans, upto, seed, outputs, workers, start=result.replications, so_far=result)


# --- the comparison directory ------------------------------------------------------------------


def plan_rows(plans: Sequence[Plan]) -> list[dict[str, Any]]:
    """plans.csv: each plan, the scenario it starts from and the values it sets (JSON)."""
    return [
        {
            "plan": p.name,
            "reference": k == 0,
            "scenario": p.source,
            "start": p.scenario.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "values": json.dumps(p.values, default=str, sort_keys=True),
            "description": p.description,
        }
        for k, p in enumerate(plans)
    ]


def manifest(result: PlanComparison, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "kind": "compare",
        "plans": [p.name for p in result.plans],
        "reference": result.reference.name,
        "reference_start": result.reference.scenario.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "replications": result.replications,
        "seed": result.seed,
        "confidence": result.confidence,
        "outputs": result.shown,
        "common_random_numbers": "every plan runs replications 0..n-1 on replication_stream(seed, r)",
        "arrivals": (
            "arrival_h.<waypoint>: hours since the reference plan's start; duration_h: from each plan's own start"
        ),
        "non_arrivals": NON_ARRIVALS,
        "files": ["plans.csv", "runs.csv", "summary.csv", "differences.csv"],
        "wall_time_s": round(result.wall_time_s, 3),
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": package_versions(),
        **(extra or {}),
    }


def write_comparison(out: Path, result: PlanComparison, extra: dict[str, Any] | None = None) -> None:
    """Write the comparison directory (each file atomically): plans, runs, summary, differences, manifest."""
    write_atomic(out / "plans.csv", csv_text(plan_rows(result.plans)))
    columns = ["plan", "replication", *result.outputs, "end_reason"]
    write_atomic(out / "runs.csv", csv_text([], columns) + row_lines(result.run_rows(), columns))
    write_atomic(out / "summary.csv", csv_text(result.summary, SUMMARY_COLUMNS))
    write_atomic(out / "differences.csv", csv_text([d.row() for d in result.differences], DIFFERENCE_COLUMNS))
    write_atomic(out / "manifest.json", json.dumps(manifest(result, extra), indent=2, default=str) + "\n")
