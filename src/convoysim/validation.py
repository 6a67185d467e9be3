"""Validation: run a scenario and score it against its documented milestones.

The scores are those of `convoysim.compare`: coverage (the share of documented windows that meet
the simulated 80 % interval), the mean CRPS in hours, and the percentile of each documented time
in the simulated distribution. A study can be gated on a minimum coverage.

For an out-of-sample test, parameters fitted on one convoy (a calibration's posterior_summary.csv)
are applied to another convoy's scenario without refitting: `apply_posterior`.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convoysim.compare import Comparison, compare_run
from convoysim.loading import ScenarioSource
from convoysim.montecarlo import MonteCarloRun, Progress, run_monte_carlo
from convoysim.paths import ParameterPathError, apply_values, full_tree, resolve
from convoysim.results import comparison_rows, package_versions
from convoysim.scenario import Scenario


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
        return not math.isnan(self.comparison.coverage) and self.comparison.coverage >= self.min_coverage


def validate(scenario: Scenario, replications: int | None = None, seed: int | None = None, workers: int = 1,
             min_coverage: float | None = None, progress: Progress | None = None) -> Validation:
    """Run the scenario and score it; raises ValueError when it documents no milestones."""
    if not scenario.documented:
        raise ValueError(f"scenario '{scenario.name}' has no documented milestones to validate against")
    run = run_monte_carlo(scenario, replications=replications, seed=seed, workers=workers, progress=progress)
    return Validation(run, compare_run(run), min_coverage)


def read_posterior_summary(path: Path) -> dict[str, float]:
    """Parameter path -> posterior median from a calibration's posterior_summary.csv."""
    with Path(path).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or not {"parameter", "median"} <= set(rows[0]):
        raise ValueError(f"{path}: not a posterior_summary.csv (needs columns parameter and median)")
    return {row["parameter"]: float(row["median"]) for row in rows}


def apply_posterior(source: ScenarioSource, scenario: Scenario, medians: Mapping[str, float]) -> tuple[Scenario, dict[str, float], list[str]]:
    """The scenario with every calibrated parameter it has set to its median; the others are
    returned as skipped (a pause at a place this route does not pass, say). Whole-number fields
    are rounded. Raises ScenarioError if a value is invalid for this scenario."""
    full = full_tree(scenario)
    applied: dict[str, Any] = {}
    skipped: list[str] = []
    for path, value in medians.items():
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
    return (apply_values(source, applied, scenario) if applied else scenario), applied, skipped


def validation_report(v: Validation, source: ScenarioSource | None = None) -> dict[str, Any]:
    """Everything validation.json holds: the scores, the verdict, and what was run."""
    run, comparison = v.run, v.comparison
    milestones = comparison_rows(run, comparison)
    for row, m in zip(milestones, comparison.milestones):
        row["window_meets_interval"] = m.window_meets_interval
    return {
        "scenario": run.scenario.name,
        "scenario_file": source.file if source else None,
        "scenario_sha256": source.sha256() if source else None,
        "seed": run.seed,
        "replications": run.replications,
        "arrived": sum(r.arrived for r in run.records),
        "coverage": _finite(comparison.coverage),
        "mean_crps_h": _finite(comparison.mean_crps_h),
        "min_coverage": v.min_coverage,
        "passed": v.passed,
        "calibrated_parameters": v.applied,
        "skipped_parameters": v.skipped,
        "milestones": milestones,
        "versions": package_versions(),
    }


def verdict_line(v: Validation) -> str:
    c = v.comparison
    text = f"coverage {100 * c.coverage:.0f}% of {len(c.milestones)} documented windows; mean CRPS {c.mean_crps_h:.1f} h"
    if v.min_coverage is not None:
        text += f"; {'PASS' if v.passed else 'FAIL'} (minimum coverage {100 * v.min_coverage:.0f}%)"
    return text


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None
