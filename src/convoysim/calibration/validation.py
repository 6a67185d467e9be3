"""Validation: run a scenario and score it against its documented milestones.

The scores are those of `convoysim.runs.compare` and `convoysim.runs.counts`: coverage (the share of
documented windows, dates and counts, that meet the simulated 80 % interval), the mean CRPS of the
dates in hours, the mean RPS of the counts, and the percentile of each documented value in the
simulated distribution. A study can be gated on a minimum coverage of the predicted windows (pinned
dates, which a fixed date in the scenario sets, do not count). Several scenarios are scored one by
one and together (`overall`).

For an out-of-sample test, parameters fitted on one convoy (a calibration's posterior_summary.csv)
are applied to another convoy's scenario without refitting: `apply_posterior`.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convoysim.runs.compare import Comparison, compare_run
from convoysim.scenario.loading import ScenarioError, ScenarioSource
from convoysim.runs.montecarlo import MonteCarloRun, Progress, run_monte_carlo
from convoysim.scenario.paths import ParameterPathError, apply_values, full_tree, resolve
from convoysim.runs.timetext import percent
from convoysim.runs.writing import comparison_rows, count_rows, finite_or_none, package_versions, run_identity
from convoysim.scenario.schema import Scenario


@dataclass
class Validation:
    """A scored run; `passed` is None when no minimum coverage was asked for."""

    run: MonteCarloRun
    comparison: Comparison
    min_coverage: float | None = None
    applied: dict[str, float] = field(default_factory=dict)
    """Parameters set from a calibration before running (path -> value)."""
    skipped: list[str] = field(default_factory=list)
    """Calibrated parameters this scenario does not have."""

    @property
    def passed(self) -> bool | None:
        if self.min_coverage is None:
            return None
        return meets(self.comparison, self.min_coverage)


def meets(comparison: Comparison, min_coverage: float) -> bool:
    """The gate: coverage over the predicted windows (predicted dates and counts) of at least `min_coverage`."""
    return not math.isnan(comparison.predicted_coverage) and comparison.predicted_coverage >= min_coverage


def overall(validations: Sequence[Validation]) -> Comparison:
    """Every scenario's windows pooled into one comparison: coverage and mean scores over all of them."""
    return Comparison(tuple(m for v in validations for m in v.comparison.milestones),
                      tuple(c for v in validations for c in v.comparison.counts))


def validate(scenario: Scenario, replications: int | None = None, seed: int | None = None, workers: int = 1,
             min_coverage: float | None = None, progress: Progress | None = None) -> Validation:
    """Run the scenario and score it; raises ValueError when it documents no milestones."""
    if not scenario.documented:
        raise ValueError(f"scenario '{scenario.name}' has no documented milestones to validate against")
    run = run_monte_carlo(scenario, replications=replications, seed=seed, workers=workers, progress=progress)
    return Validation(run, compare_run(run), min_coverage)


class PosteriorError(ScenarioError):
    """A posterior summary that cannot be used: its file, row (as `line`), parameter (as `path`) and
    why, so the message names the CSV rather than the scenario the value was meant for."""


class PosteriorMedians(dict[str, float]):
    """Parameter path -> posterior median, remembering the file and the line of each row, so a
    median the scenario rejects is reported at its row of the CSV."""

    def __init__(self, file: str, medians: Mapping[str, float], lines: Mapping[str, int]):
        super().__init__(medians)
        self.file = file
        self.lines = dict(lines)


def read_posterior_summary(path: Path) -> PosteriorMedians:
    """Parameter path -> posterior median from a calibration's posterior_summary.csv; raises
    PosteriorError naming the row and parameter for a median that is not a finite number."""
    file = str(path)
    medians: dict[str, float] = {}
    lines: dict[str, int] = {}
    try:
        with Path(path).open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or not {"parameter", "median"} <= set(reader.fieldnames):
                raise PosteriorError(file, "not a posterior_summary.csv (needs columns parameter and median)", line=1)
            for row in reader:
                parameter, text = (row.get("parameter") or "").strip(), (row.get("median") or "").strip()
                where = {"path": parameter, "line": reader.line_num}
                if not parameter:
                    raise PosteriorError(file, "the parameter column is empty", **where)  # type: ignore[arg-type]
                if parameter in medians:
                    raise PosteriorError(file, f"listed twice (first on line {lines[parameter]})", **where)  # type: ignore[arg-type]
                try:
                    value = float(text)
                except ValueError:
                    raise PosteriorError(file, f"median {text!r} is not a number", **where) from None  # type: ignore[arg-type]
                if not math.isfinite(value):
                    raise PosteriorError(file, f"median {text!r} is not a finite number", **where)  # type: ignore[arg-type]
                medians[parameter], lines[parameter] = value, reader.line_num
    except OSError as err:
        raise PosteriorError(file, f"cannot read: {err.strerror}") from None
    except UnicodeDecodeError:
        raise PosteriorError(file, "not UTF-8 text (is it a posterior_summary.csv?)") from None
    if not medians:
        raise PosteriorError(file, "no parameters in it (a posterior_summary.csv has one row per parameter)")
    return PosteriorMedians(file, medians, lines)


def apply_posterior(source: ScenarioSource, scenario: Scenario, medians: Mapping[str, float]) -> tuple[Scenario, dict[str, float], list[str]]:
    """The scenario with every calibrated parameter it has set to its median; the others are
    returned as skipped (a pause at a place this route does not pass, say, or a parameter a joint
    fit set in one named scenario only, `NAME:PATH`, when this scenario has another name). Whole-number fields
    are rounded. A value the scenario rejects raises PosteriorError at the median's row when
    `medians` came from read_posterior_summary (ScenarioError otherwise)."""
    full = full_tree(scenario)
    applied: dict[str, Any] = {}
    skipped: list[str] = []
    for name, value in medians.items():
        scope, _, path = name.rpartition(":")
        if scope and scope != scenario.name:
            skipped.append(name)
            continue
        try:
            keys = resolve(full, path)
        except ParameterPathError:
            skipped.append(path)
            continue
        current: Any = full
        for key in keys:
            current = current[key]
        if isinstance(current, dict):
            skipped.append(path)
            continue
        applied[path] = int(round(value)) if isinstance(current, int) and not isinstance(current, bool) else value
    if not applied:
        return scenario, applied, skipped
    try:
        return apply_values(source, applied, scenario), applied, skipped
    except ScenarioError as err:
        if not isinstance(medians, PosteriorMedians):
            raise
        raise _rejected_median(source, scenario, medians, applied, err) from None


def _rejected_median(source: ScenarioSource, scenario: Scenario, medians: PosteriorMedians,
                     applied: Mapping[str, Any], err: ScenarioError) -> PosteriorError:
    """The row of the summary the scenario rejects, and the scenario's reason: the parameter the
    error names, else the first that fails on its own, else all of them (only the combination fails)."""
    named = [p for p in applied if err.path and (p == err.path or p.startswith(err.path + ".") or err.path.startswith(p + "."))]
    culprit = min(named, key=lambda p: (p != err.path, len(p))) if named else None
    if culprit is None:
        for path, value in applied.items():
            try:
                apply_values(source, {path: value}, scenario)
            except ScenarioError as single:
                culprit, err = path, single
                break
    field = f"{err.path}: {err.reason}" if err.path else err.reason
    if culprit is None:
        return PosteriorError(medians.file, f"the medians of {', '.join(applied)} together are rejected by scenario "
                              f"{source.file}: {field}")
    reason = f"median {applied[culprit]:g} is rejected by scenario {source.file}: {err.reason if err.path == culprit else field}"
    return PosteriorError(medians.file, reason, path=culprit, line=medians.lines.get(culprit))


def validation_report(v: Validation, source: ScenarioSource | None = None) -> dict[str, Any]:
    """Everything validation.json holds: the scores, the verdict, and what was run."""
    run, comparison = v.run, v.comparison
    milestones = comparison_rows(run, comparison)
    for row, m in zip(milestones, comparison.milestones):
        row["window_meets_interval"] = m.window_meets_interval
    counts = count_rows(comparison)
    for row, c in zip(counts, comparison.counts):
        row["window_meets_interval"] = c.window_meets_interval
    return {
        **run_identity(run, source),
        "arrived": sum(r.arrived for r in run.records),
        "coverage": finite_or_none(comparison.coverage),
        "mean_crps_h": finite_or_none(comparison.mean_crps_h),
        "scores": comparison.summary(),
        "min_coverage": v.min_coverage,
        "passed": v.passed,
        "calibrated_parameters": v.applied,
        "skipped_parameters": v.skipped,
        "milestones": milestones,
        "counts": counts,
        "versions": package_versions(),
    }


def combined_report(validations: Sequence[Validation], sources: Sequence[ScenarioSource | None],
                    min_coverage: float | None) -> dict[str, Any]:
    """validation.json of several scenarios: each one's report, the pooled scores and the verdict."""
    pooled = overall(validations)
    passed = None if min_coverage is None else all(v.passed for v in validations)
    return {
        "scenarios": [validation_report(v, s) for v, s in zip(validations, sources)],
        "overall": pooled.summary(),
        "min_coverage": min_coverage,
        "passed": passed,
        "versions": package_versions(),
    }


def verdict_line(v: Validation) -> str:
    c = v.comparison
    text = (f"coverage {percent(c.coverage)} of {len(c.milestones) + len(c.counts)} documented windows "
            f"({len(c.milestones)} dates: {percent(c.date_coverage)}, {len(c.counts)} counts: {percent(c.count_coverage)}); "
            f"predicted only {percent(c.predicted_coverage)}")
    if c.milestones:
        text += f"; mean CRPS {c.mean_crps_h:.1f} h (predicted {c.predicted_mean_crps_h:.1f} h)"
    if c.counts:
        text += f"; mean RPS {c.mean_rps:.2f}"
    if v.min_coverage is not None:
        text += f"; {'PASS' if v.passed else 'FAIL'} (minimum coverage of predicted windows {100 * v.min_coverage:.0f}%)"
    return text




DEFAULT_MIN_COVERAGE = 0.75
"""The verdict's threshold when none is given: at least three in four predicted windows meet the
simulated 80 % interval. A calibrated model meets each window at least 80 % of the time (more, as
windows have width), so the default leaves room for chance with the dozen windows of a convoy."""

EDGE_HIT_RATE = 0.1
"""A window that meets the 80 % interval with fewer than this share of replications inside it only
touches the interval's edge: it counts as met, and is listed so that the lenience is visible."""


def edge_windows(comparison: Comparison) -> list[str]:
    """The windows that count as met but only touch the simulated 80 % interval (EDGE_HIT_RATE)."""
    scores = [*comparison.milestones, *comparison.counts]
    return [_window_name(s) for s in scores if s.window_meets_interval and s.hit_rate < EDGE_HIT_RATE]


def _window_name(score: Any) -> str:
    return getattr(score, "waypoint", None) or f"{score.count} ({score.where})"


def meets_note(validations: Sequence[Validation]) -> str:
    """What "meets" means in the coverage, and which windows only touch the interval."""
    text = ("a window meets the simulated 80 % interval (p10-p90) when the two overlap at all, even at one end; "
            f"a met window with fewer than {100 * EDGE_HIT_RATE:.0f} % of replications inside it only touches the interval")
    edges = [f"{v.run.scenario.name}: {name}" for v in validations for name in edge_windows(v.comparison)]
    return text + (": " + "; ".join(edges) if edges else " (none here)")
