"""Experiment files: which base scenario, which parameters to vary and over what, how points are
drawn, how many replications each point gets, and which outputs to summarise.

An experiment is checked completely before any simulation starts: its own schema (with file:line
errors, like a scenario's), every parameter path against the base scenario (with the closest valid
path), every output name, and every design point's scenario, so a level the scenario would reject
stops the sweep at once instead of half-way through.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, model_validator

from convoysim.model import ACTIVITIES, ReplicationRecord
from convoysim.scenario.loading import (
    ScenarioError,
    ScenarioSource,
    SourceLayer,
    build_scenario,
    locate,
    parse_yaml,
    read_source,
    read_text,
    shipped_names,
    shipped_path,
    validation_error,
)
from convoysim.scenario.paths import ParameterPathError, apply_values, full_tree, resolve
from convoysim.scenario.schema import Scenario
from convoysim.scenario.strictmodel import StrictModel, closest

SHIPPED_EXPERIMENTS = "experiment_files"
"""Folder inside the package holding the shipped experiments (the repository's `experiments/` links
to it), so `convoysim sweep drone-radius` works from any directory, like `convoysim run baseline`.
(Not `experiments/`: a folder named like this module would be confusing to read and to import.)"""


class ExperimentError(ScenarioError):
    """An experiment that cannot run, with file, line, field and reason, ready to show a person."""


MAX_LEVELS = 1_000
"""Levels one parameter may take in a full factorial design."""
MAX_POINTS = 100_000
"""Points a design may have (their scenarios are all built before the first one runs)."""
MAX_REPLICATIONS = 1_000_000
"""Replications per point."""


class Parameter(StrictModel):
    """One thing to vary, named by its path in the scenario (the key of `parameters`).

    Give either `levels` (explicit values, for a full factorial design) or a range `low`-`high`
    (drawn from by sampled designs; a full factorial design takes `count` evenly spaced values).
    """

    levels: list[float] | None = Field(default=None, max_length=MAX_LEVELS)
    low: float | None = None
    high: float | None = None
    count: int | None = Field(default=None, ge=2, le=MAX_LEVELS)
    """Evenly spaced levels from low to high in a full factorial design."""
    integer: bool = False
    """Round every value to a whole number (vehicle counts, for example)."""
    also: dict[str, list[float]] = {}
    """Other scenario paths set together with this one, one value per level (full factorial only)."""

    @model_validator(mode="after")
    def _levels_or_range(self) -> "Parameter":
        has_range = self.low is not None or self.high is not None
        if self.levels is not None and has_range:
            raise ValueError("give either levels or low/high, not both")
        if self.levels is None and not has_range:
            raise ValueError("give levels: [...] or a range with low and high")
        if self.levels is not None and not self.levels:
            raise ValueError("levels is empty")
        if has_range:
            if self.low is None or self.high is None:
                raise ValueError("a range needs both low and high")
            if self.high <= self.low:
                raise ValueError(f"high ({self.high}) must be above low ({self.low})")
        if self.count is not None and self.levels is not None:
            raise ValueError("count goes with low/high; with levels, list them")
        for path, values in self.also.items():
            if self.levels is None:
                raise ValueError(f"also.{path} needs explicit levels to pair its values with")
            if len(values) != len(self.levels):
                raise ValueError(f"also.{path} has {len(values)} values for {len(self.levels)} levels")
        grid = self.grid()
        for k, level in enumerate(grid):
            if level in grid[:k]:
                rounded = " once rounded to a whole number" if self.integer else ""
                raise ValueError(
                    f"level {level:g} appears twice{rounded}; each level is one point of the grid, give it once"
                )
        return self

    def grid(self) -> list[float]:
        """The levels a full factorial design uses."""
        if self.levels is not None:
            values = list(self.levels)
        else:
            n = self.count or 0
            values = [self.low + (self.high - self.low) * k / (n - 1) for k in range(n)]  # type: ignore[operator]
        return [self.value(v) for v in values]

    def value(self, x: float) -> float:
        return float(round(x)) if self.integer else float(x)


def _design_shorthand(value: Any) -> Any:
    return {"kind": value} if isinstance(value, str) else value


class Design(StrictModel):
    """How points are drawn: a grid, a space-filling sample, or a Saltelli sample for Sobol indices."""

    kind: Literal["full_factorial", "latin_hypercube", "sobol", "saltelli"]
    points: int | None = Field(default=None, gt=0)
    """Latin hypercube and Sobol designs: how many points (Sobol: a power of two)."""
    base_samples: int | None = Field(default=None, gt=0)
    """Saltelli designs: N, a power of two; the design has N * (k + 2) points for k parameters."""
    second_order: bool = False
    """Saltelli designs: also compute second-order indices (N * (2k + 2) points)."""
    bootstrap: int = Field(default=200, ge=10)
    """Saltelli designs: bootstrap resamples for the confidence intervals of the indices."""

    @model_validator(mode="after")
    def _sizes(self) -> "Design":
        def power_of_two(n: int) -> bool:
            return n > 0 and n & (n - 1) == 0

        if self.kind in ("latin_hypercube", "sobol") and self.points is None:
            raise ValueError(f"a {self.kind} design needs points: N")
        if self.kind == "sobol" and not power_of_two(self.points or 0):
            raise ValueError(f"a sobol design needs a power of two points (e.g. 64), got {self.points}")
        if self.kind == "saltelli" and not power_of_two(self.base_samples or 0):
            raise ValueError(
                f"a saltelli design needs base_samples, a power of two (e.g. 256), got {self.base_samples}"
            )
        if self.kind != "saltelli" and self.base_samples is not None:
            raise ValueError("base_samples is for saltelli designs; others take points")
        if self.kind in ("full_factorial", "saltelli") and self.points is not None:
            raise ValueError(f"a {self.kind} design sets its own number of points; remove points")
        return self


def _plan_shorthand(value: Any) -> Any:
    """`plan: {path: value, ...}` means `plan: {set: {path: value, ...}}`; an empty plan is the base."""
    if value is None:
        return {}
    if isinstance(value, dict) and not set(value) & set(PlanEntry.model_fields):
        return {"set": value}
    return value


class PlanEntry(StrictModel):
    """A named plan (`plans:`): a scenario, by default the experiment's, with values set by path.

    Values may be numbers, yes/no, dates (`start`, a base's `active_from`) or null, which removes a
    section (`drones.bases.anefis: null`); `convoysim.studies.plans` builds and checks them."""

    scenario: str | None = None
    """A shipped scenario's name or a path relative to the experiment file (default: `scenario`)."""
    set: dict[str, Any] = {}
    description: str = ""


class Experiment(StrictModel):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    """Used for the default output folder, so letters, digits, '-', '_' and '.' only."""
    question: str = ""
    """The question the experiment asks, in plain words."""
    scenario: str
    """Base scenario: a shipped scenario's name or a path relative to the experiment file."""
    parameters: dict[str, Parameter] = {}
    plans: dict[str, Annotated[PlanEntry, BeforeValidator(_plan_shorthand)]] = {}
    """Named plans for `convoysim compare` (a sweep uses `parameters`); give one or both."""
    reference: str | None = None
    """The plan others are compared with (default: the first plan)."""
    design: Annotated[Design, BeforeValidator(_design_shorthand)] = Design(kind="full_factorial")
    replications: int = Field(gt=0, le=MAX_REPLICATIONS)
    """Per design point; every point uses replications 0..n-1 (common random numbers)."""
    seed: int | None = Field(default=None, ge=0)
    """Default: the base scenario's montecarlo.seed."""
    outputs: list[str] = []
    """What summary.csv and sobol.csv summarise (default: arrival at the destination, vehicles lost, incidents)."""

    @model_validator(mode="after")
    def _size(self) -> "Experiment":
        if not self.parameters and not self.plans:
            raise ValueError("give parameters (for convoysim sweep) or plans (for convoysim compare), or both")
        if self.reference is not None and self.reference not in self.plans:
            raise ValueError(
                f"reference '{self.reference}' is not one of the plans ({', '.join(self.plans) or 'none'})"
            )
        design, k = self.design, len(self.parameters)
        if design.kind == "full_factorial":
            points = 1
            for p in self.parameters.values():
                points *= len(p.grid()) if p.levels is not None or p.count is not None else 1
        elif design.kind == "saltelli":
            points = (design.base_samples or 0) * ((2 * k + 2) if design.second_order else (k + 2))
        else:
            points = design.points or 0
        if points > MAX_POINTS:
            raise ValueError(
                f"the design has {points:,} points, above the limit of {MAX_POINTS:,}: every point's "
                "scenario is built before the sweep starts; split the question into smaller sweeps"
            )
        return self


def output_names(waypoints: tuple[str, ...] | list[str]) -> list[str]:
    """Every output a sweep records per replication, in runs.csv order."""
    blank = ReplicationRecord(0, (), 0, [], []).as_row()
    record_columns = [k for k, v in blank.items() if k != "replication" and isinstance(v, (int, float, bool))]
    return [*(f"arrival_h.{w}" for w in waypoints), "incidents", *record_columns]


def default_outputs(waypoints: tuple[str, ...] | list[str]) -> list[str]:
    return [f"arrival_h.{waypoints[-1]}", "vehicles_lost", "incidents"]


@dataclass
class LoadedExperiment:
    """An experiment checked against its base scenario and ready to sample."""

    experiment: Experiment
    file: str
    text: str
    """The experiment file as written, comments included (copied into the sweep directory)."""
    source: ScenarioSource
    """The base scenario, as read (kept to apply parameter values to)."""
    base: Scenario
    outputs: list[str]
    own: ScenarioSource
    """The experiment file itself, as a source that errors can point into."""

    @property
    def seed(self) -> int:
        return self.experiment.seed if self.experiment.seed is not None else self.base.montecarlo.seed

    def fingerprint(self) -> str:
        """Identity of the work: the experiment and the scenario data (not comments), for resuming."""
        payload = json.dumps(
            [self.experiment.model_dump(mode="json"), self.source.data, self.seed, self.outputs],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(payload.encode()).hexdigest()

    def error(self, loc: tuple[Any, ...], reason: str) -> ExperimentError:
        """An error pointed at a field of this experiment file."""
        file, path, line = locate(self.own, loc)
        return ExperimentError(file, reason, path=path, line=line)

    def scenario_at(self, values: dict[str, float], loc: tuple[Any, ...]) -> Scenario:
        """The base scenario with `values` set; a rejected value is reported at `loc` in this file."""
        try:
            return apply_values(self.source, values, self.base)
        except ParameterPathError as err:
            raise self.error(loc, path_reason(err)) from None
        except ScenarioError as err:
            shown = ", ".join(f"{k} = {v:g}" for k, v in values.items())
            raise self.error(
                loc, f"the scenario rejects {shown}: {err.path + ': ' if err.path else ''}{err.reason}"
            ) from None


def path_reason(err: ParameterPathError) -> str:
    return err.reason + (f" (did you mean '{err.suggestion}'?)" if err.suggestion else "")


def shipped_experiments() -> list[str]:
    """Names of the experiments shipped inside the package (usable from any directory)."""
    return shipped_names(SHIPPED_EXPERIMENTS)


def resolve_experiment_path(name: str | Path) -> Path:
    """A path to an experiment file: as given, or a shipped experiment's name (`drone-radius`)."""
    candidate = Path(name)
    if candidate.is_file():
        return candidate
    shipped = shipped_path(SHIPPED_EXPERIMENTS, name)
    if shipped is not None:
        return shipped
    raise ExperimentError(str(name), f"no such file (shipped experiments: {', '.join(shipped_experiments())})")


def _scenario_file_hint(data: dict[str, Any], file: str) -> None:
    """Refuse a scenario file given where an experiment belongs, before its keys read as typos.

    Scenario keys (route, convoy, start, extends, ...) without `parameters` mean the wrong kind of
    file, not a misspelt experiment, so "did you mean 'question'?" would mislead.
    """
    scenario_keys = (set(Scenario.model_fields) - set(Experiment.model_fields)) | {"extends"}
    found = [k for k in data if k in scenario_keys]
    if found and "parameters" not in data and "plans" not in data:
        shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
        raise ExperimentError(
            file, f"this is a scenario file (it has {shown}), not an experiment; run it with `convoysim run {file}`"
        )


def load_experiment(name: str | Path) -> LoadedExperiment:
    """Read and check an experiment file and its base scenario; raises ExperimentError or ScenarioError."""
    path = resolve_experiment_path(name)
    file = str(name) if Path(name).is_file() else str(path)
    try:
        text = read_text(path, file)
        data, node = parse_yaml(text, file)
    except ScenarioError as err:
        raise ExperimentError(err.file, err.reason, line=err.line) from None
    if not isinstance(data, dict):
        raise ExperimentError(
            file, "an experiment file must be a mapping (name, scenario, parameters, design, ...)", line=1
        )
    _scenario_file_hint(data, file)
    as_source = ScenarioSource(data, [SourceLayer(file, text, node)])
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as err:
        e = validation_error(as_source, err)
        raise ExperimentError(e.file, e.reason, path=e.path, line=e.line) from None
    try:
        source = read_source(experiment.scenario, path.parent)
        base = build_scenario(source)
    except ScenarioError as err:
        if err.file == experiment.scenario:
            file_, path_, line = locate(as_source, ("scenario",))
            raise ExperimentError(file_, err.reason, path=path_, line=line) from None
        raise
    loaded = LoadedExperiment(experiment, file, text, source, base, [], as_source)
    _check_design(loaded)
    loaded.outputs = _check_outputs(loaded)
    _check_paths(loaded)
    return loaded


def _check_outputs(loaded: LoadedExperiment) -> list[str]:
    names = output_names(loaded.base.waypoint_names) + (["duration_h"] if loaded.experiment.plans else [])
    chosen = loaded.experiment.outputs or default_outputs(loaded.base.waypoint_names)
    for i, name in enumerate(chosen):
        if name not in names:
            guess = closest(name, names)
            hint = f" (did you mean '{guess}'?)" if guess else ""
            raise loaded.error(
                ("outputs", i),
                f"unknown output '{name}'{hint}; outputs are arrival_h.<waypoint>, "
                f"incidents, vehicles_lost, lost_<cause>, hours_<activity> ({', '.join(ACTIVITIES)}), ...",
            )
    return list(chosen)


def _check_paths(loaded: LoadedExperiment) -> None:
    """Every parameter path (and `also` path) must name a scenario value, and no value twice (by
    index and by name, `route.waypoints.8.x` and `route.waypoints.Kidal.x`: one would be ignored)."""
    full = full_tree(loaded.base)
    named: dict[tuple[Any, ...], str] = {}
    for name, p in loaded.experiment.parameters.items():
        for path, loc in [(name, ("parameters", name)), *((a, ("parameters", name, "also", a)) for a in p.also)]:
            try:
                keys = tuple(resolve(full, path))
            except ParameterPathError as err:
                raise loaded.error(loc, path_reason(err)) from None
            if keys in named:
                raise loaded.error(loc, f"'{path}' and '{named[keys]}' name the same value; vary it once")
            named[keys] = path


def _check_design(loaded: LoadedExperiment) -> None:
    """Whether each parameter gives what the design needs (levels for a grid, a range to draw from)."""
    kind = loaded.experiment.design.kind
    for name, p in loaded.experiment.parameters.items():
        loc = ("parameters", name)
        if kind == "full_factorial":
            if p.levels is None and p.count is None:
                raise loaded.error(loc, "a full factorial design needs levels, or count with low and high")
        elif p.low is None:
            raise loaded.error(loc, f"a {kind} design draws from a range; give low and high instead of levels")
        elif p.also:
            raise loaded.error((*loc, "also"), "'also' pairs explicit levels; it works in full factorial designs only")
        elif p.count is not None:
            raise loaded.error((*loc, "count"), "count is for full factorial designs")
    if kind == "saltelli" and len(loaded.experiment.parameters) < 2:
        raise loaded.error(
            ("parameters",), "a saltelli design needs at least two parameters to apportion variance between"
        )
