"""Validation: run a scenario and score it against its documented milestones.

The scores are those of `convoysim.runs.compare` and `convoysim.runs.counts`: coverage (the share of
documented windows, dates and counts, that meet the simulated 80 % interval), the mean CRPS of the
dates in hours, the mean RPS of the counts, and the percentile of each documented value in the
simulated distribution. A study can be gated on a minimum coverage of the predicted windows (pinned
dates, which a fixed date in the scenario sets, do not count). Several scenarios are scored one by
one and together (`overall`).

A corpus (a folder of scenarios, or a corpus file listing them) is scored convoy by convoy on the
duration of each march (`corpus_summary`): the documented duration against the simulated 10/50/90 %,
the CRPS in hours and over the documented duration, and the PIT (the documented duration's place in
the simulated distribution); then the coverage, the median relative CRPS and a PIT histogram.

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

import numpy as np

from convoysim.runs.compare import Comparison, compare_run, comparison_rows, count_rows
from convoysim.runs.files import finite_or_none, package_versions
from convoysim.runs.manifest import run_identity
from convoysim.runs.montecarlo import MonteCarloRun, Progress, run_monte_carlo
from convoysim.runs.timetext import percent
from convoysim.scenario.loading import ScenarioError, ScenarioSource
from convoysim.scenario.paths import ParameterPathError, apply_values, full_tree, resolve
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
    return Comparison(
        tuple(m for v in validations for m in v.comparison.milestones),
        tuple(c for v in validations for c in v.comparison.counts),
    )


def validate(
    scenario: Scenario,
    replications: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    min_coverage: float | None = None,
    progress: Progress | None = None,
) -> Validation:
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


def apply_posterior(
    source: ScenarioSource, scenario: Scenario, medians: Mapping[str, float]
) -> tuple[Scenario, dict[str, float], list[str]]:
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


def _rejected_median(
    source: ScenarioSource,
    scenario: Scenario,
    medians: PosteriorMedians,
    applied: Mapping[str, Any],
    err: ScenarioError,
) -> PosteriorError:
    """The row of the summary the scenario rejects, and the scenario's reason: the parameter the
    error names, else the first that fails on its own, else all of them (only the combination fails)."""
    named = [
        p
        for p in applied
        if err.path and (p == err.path or p.startswith(err.path + ".") or err.path.startswith(p + "."))
    ]
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
        return PosteriorError(
            medians.file,
            f"the medians of {', '.join(applied)} together are rejected by scenario {source.file}: {field}",
        )
    why = err.reason if err.path == culprit else field
    reason = f"median {applied[culprit]:g} is rejected by scenario {source.file}: {why}"
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


def combined_report(
    validations: Sequence[Validation], sources: Sequence[ScenarioSource | None], min_coverage: float | None
) -> dict[str, Any]:
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
    text = (
        f"coverage {percent(c.coverage)} of {len(c.milestones) + len(c.counts)} documented windows "
        f"({len(c.milestones)} dates: {percent(c.date_coverage)}, {len(c.counts)} counts: "
        f"{percent(c.count_coverage)}); "
        f"predicted only {percent(c.predicted_coverage)}"
    )
    if c.milestones:
        text += f"; mean CRPS {c.mean_crps_h:.1f} h (predicted {c.predicted_mean_crps_h:.1f} h)"
    if c.counts:
        text += f"; mean RPS {c.mean_rps:.2f}"
    if v.min_coverage is not None:
        text += (
            f"; {'PASS' if v.passed else 'FAIL'} (minimum coverage of predicted windows {100 * v.min_coverage:.0f}%)"
        )
    return text


CORPUS_KEY = "corpus"
"""A corpus file is a YAML mapping whose `corpus:` lists scenario files (relative to it)."""
PIT_BINS = 5
"""The PIT histogram's bins (fifths): a calibrated model puts about as many convoys in each."""


class CorpusError(ScenarioError):
    """A corpus (folder or corpus file) that cannot be read: its file and why."""


def corpus_files(name: str | Path) -> list[Path] | None:
    """The scenario files a corpus names, or None when `name` is not a corpus: a folder (its *.yaml,
    sorted), a corpus file (a mapping with `corpus:`, a list of paths relative to it), or the name
    of a shipped folder (`corpus`)."""
    from importlib import resources

    import yaml

    path = Path(name)
    shipped = Path(str(resources.files("convoysim") / "scenarios")) / str(name)
    if not path.exists() and shipped.is_dir() and str(name) not in ("", "."):
        path = shipped
    if path.is_dir():
        files = sorted(p for p in path.glob("*.yaml"))
        if not files:
            raise CorpusError(str(name), "is a folder without scenario files (*.yaml)")
        return files
    if not (path.is_file() and path.suffix in (".yaml", ".yml")):
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return None  # not a corpus file: read_source reports it as a scenario
    if not isinstance(data, dict) or CORPUS_KEY not in data:
        return None
    listed = data[CORPUS_KEY]
    if not isinstance(listed, list) or not listed or not all(isinstance(p, str) for p in listed):
        raise CorpusError(str(name), f"{CORPUS_KEY} must list scenario files (paths relative to the corpus file)")
    files = [path.parent / p for p in listed]
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise CorpusError(str(name), f"{CORPUS_KEY}: no such file {missing[0]}")
    return files


@dataclass(frozen=True)
class CorpusRow:
    """One convoy of a corpus, scored on its march's duration: the documented arrival furthest along
    its route, in hours since its start."""

    name: str
    destination: str
    earliest_h: float
    latest_h: float
    p10_h: float
    p50_h: float
    p90_h: float
    inside: bool
    """Whether the documented window meets the simulated 80 % interval."""
    crps_h: float
    pit: float
    """Share of simulated durations below the documented one (the window's midpoint), 0-1."""
    pinned: bool
    counts: int
    counts_met: int
    mean_rps: float

    @property
    def documented_h(self) -> float:
        return 0.5 * (self.earliest_h + self.latest_h)

    @property
    def relative_crps(self) -> float:
        """CRPS over the documented duration: a 2-day and a 40-day march weigh alike."""
        return self.crps_h / self.documented_h if self.documented_h > 0 else math.nan


def corpus_row(v: Validation) -> CorpusRow | None:
    """The convoy's row, or None when it documents no arrival date (counts only)."""
    comparison = v.comparison
    if not comparison.milestones:
        return None
    order = {name: k for k, name in enumerate(v.run.scenario.waypoint_names)}
    last = max(comparison.milestones, key=lambda m: (order[m.waypoint], m.latest_h))
    counts = comparison.counts
    return CorpusRow(
        v.run.scenario.name,
        last.waypoint,
        last.earliest_h,
        last.latest_h,
        last.p10_h,
        last.p50_h,
        last.p90_h,
        last.window_meets_interval,
        last.crps_h,
        last.percentile / 100.0,
        last.pinned,
        len(counts),
        sum(c.window_meets_interval for c in counts),
        comparison.mean_rps,
    )


@dataclass(frozen=True)
class CorpusSummary:
    rows: tuple[CorpusRow, ...]

    @property
    def coverage(self) -> float:
        """Share of convoys whose documented duration meets the simulated 80 % interval."""
        return sum(r.inside for r in self.rows) / len(self.rows) if self.rows else math.nan

    @property
    def median_relative_crps(self) -> float:
        values = [r.relative_crps for r in self.rows if math.isfinite(r.relative_crps)]
        return float(np.median(values)) if values else math.nan

    @property
    def count_coverage(self) -> float:
        total = sum(r.counts for r in self.rows)
        return sum(r.counts_met for r in self.rows) / total if total else math.nan

    def pit_histogram(self, bins: int = PIT_BINS) -> list[int]:
        """Convoys per PIT bin of width 1/bins (a PIT of 1 falls in the last)."""
        out = [0] * bins
        for r in self.rows:
            out[min(int(r.pit * bins), bins - 1)] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "convoys": len(self.rows),
            "coverage": finite_or_none(self.coverage),
            "median_relative_crps": finite_or_none(self.median_relative_crps),
            "count_coverage": finite_or_none(self.count_coverage),
            "pit_histogram": self.pit_histogram(),
            "rows": [
                {
                    "scenario": r.name,
                    "destination": r.destination,
                    "documented_h": r.documented_h,
                    "earliest_h": r.earliest_h,
                    "latest_h": r.latest_h,
                    "p10_h": finite_or_none(r.p10_h),
                    "p50_h": finite_or_none(r.p50_h),
                    "p90_h": finite_or_none(r.p90_h),
                    "inside": r.inside,
                    "crps_h": r.crps_h,
                    "relative_crps": finite_or_none(r.relative_crps),
                    "pit": r.pit,
                    "pinned": r.pinned,
                    "counts": r.counts,
                    "counts_met": r.counts_met,
                    "mean_rps": finite_or_none(r.mean_rps),
                }
                for r in self.rows
            ],
        }


def corpus_summary(validations: Sequence[Validation]) -> CorpusSummary:
    """Every convoy that documents an arrival, in the order validated."""
    return CorpusSummary(tuple(row for v in validations if (row := corpus_row(v)) is not None))


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
    text = (
        "a window meets the simulated 80 % interval (p10-p90) when the two overlap at all, even at one end; "
        f"a met window with fewer than {100 * EDGE_HIT_RATE:.0f} % of replications inside it only touches the interval"
    )
    edges = [f"{v.run.scenario.name}: {name}" for v in validations for name in edge_windows(v.comparison)]
    return text + (": " + "; ".join(edges) if edges else " (none here)")
