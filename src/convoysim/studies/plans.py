"""Plans: named variants of a scenario, to be compared on common random numbers.

A plan is a scenario (a shipped name or a file) with values set by path, as in sweeps, except that
a value may be anything the scenario file itself takes: a number, yes/no (`convoy.move_by_night:
false`), a date (`start: 2023-10-09T07:00:00Z`, `drones.bases.anefis.active_from`), null to remove
a section (`drones.bases.gao: null`, which drone bases fly), or a mapping merged into a section as
an `extends` variant would. Plans come from an experiment file's `plans:` or from the command line
(`convoysim compare baseline forward_drone_base`: each scenario is a plan of that name).

Every plan is built and validated before anything runs; errors point at the experiment file's line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convoysim.scenario.loading import ScenarioError, ScenarioSource, build_scenario, merge, read_source
from convoysim.scenario.paths import ParameterPathError, full_tree, resolve, split, with_values
from convoysim.scenario.schema import Scenario
from convoysim.scenario.strictmodel import closest
from convoysim.studies.experiments import ExperimentError, LoadedExperiment, load_experiment, path_reason


@dataclass(frozen=True)
class Plan:
    """One named plan: its built scenario and what it is made of (for plans.csv and the manifest)."""

    name: str
    scenario: Scenario
    source: str
    """The scenario it starts from (name or file)."""
    values: dict[str, Any] = field(default_factory=dict)
    description: str = ""


def set_values(source: ScenarioSource, values: Mapping[str, Any]) -> Scenario:
    """The source's scenario with each path set; raises ParameterPathError or ScenarioError.

    A leaf value (number, yes/no, date, text) is set as a sweep sets it; null or a mapping is merged
    into the section the path names (null removes it), as a variant file's `key: null` does.
    """
    base = build_scenario(source)
    full = full_tree(base)
    data = source.data
    leaves = {p: v for p, v in values.items() if v is not None and not isinstance(v, dict)}
    for path, value in values.items():
        if path in leaves:
            continue
        keys = split(path)
        node: Any = full
        for k, key in enumerate(keys[:-1]):
            if not isinstance(node, dict) or key not in node:
                raise ParameterPathError(
                    path,
                    f"'{key}' is not a section of {'.'.join(keys[:k]) or 'the scenario'}; "
                    "null and mappings go into sections by key (not into lists)",
                )
            node = node[key]
        if not isinstance(node, dict):
            raise ParameterPathError(
                path,
                f"{'.'.join(keys[:-1])} is not a section; null and mappings go into sections by key (not into lists)",
            )
        if value is None and keys[-1] not in node:
            guess = closest(keys[-1], [str(k) for k in node])
            raise ParameterPathError(
                path,
                f"there is no '{keys[-1]}' in {'.'.join(keys[:-1])} to remove",
                ".".join([*keys[:-1], guess]) if guess else None,
            )
        override: Any = value
        for key in reversed(keys):
            override = {key: override}
        data = merge(data, override)
    for path in leaves:
        resolve(full, path)
    return build_scenario(ScenarioSource(with_values(data, full, leaves) if leaves else data, source.layers))


def plan_of(
    name: str,
    scenario: str | Path,
    values: Mapping[str, Any] | None = None,
    description: str = "",
    relative_to: Path | None = None,
) -> Plan:
    """A plan from a scenario (name or file) and values; errors say which plan and why."""
    source = read_source(scenario, relative_to)
    try:
        built = set_values(source, values or {})
    except ParameterPathError as err:
        raise ScenarioError(f"plan {name}", path_reason(err), path=err.path) from None
    except ScenarioError as err:
        raise ScenarioError(f"plan {name}", err.reason, path=err.path) from None
    return Plan(name, built, str(scenario), dict(values or {}), description)


def experiment_plans(loaded: LoadedExperiment) -> list[Plan]:
    """The plans of an experiment file, built and checked; an error points at the plan's line."""
    exp = loaded.experiment
    if not exp.plans:
        raise loaded.error(("plans",), "this experiment has no plans: add `plans:` with named plans to compare them")
    folder = Path(loaded.file).parent
    plans = []
    for name, entry in exp.plans.items():
        scenario = entry.scenario or exp.scenario
        try:
            source = read_source(scenario, folder) if entry.scenario else loaded.source
        except ScenarioError as err:
            raise loaded.error(("plans", name, "scenario"), err.reason) from None
        try:
            built = set_values(source, entry.set)
        except ParameterPathError as err:
            raise loaded.error(("plans", name, "set", err.path), path_reason(err)) from None
        except ScenarioError as err:
            raise loaded.error(
                ("plans", name, "set"),
                f"the scenario rejects this plan: {err.path + ': ' if err.path else ''}{err.reason}",
            ) from None
        plans.append(Plan(name, built, scenario, dict(entry.set), entry.description.strip()))
    return plans


def reference_first(plans: Sequence[Plan], reference: str | None) -> list[Plan]:
    """The plans with the reference first (the one every other is differenced from)."""
    if reference is None:
        return list(plans)
    names = [p.name for p in plans]
    if reference not in names:
        raise ExperimentError("--reference", f"no plan '{reference}' (plans: {', '.join(names)})")
    return [plans[names.index(reference)], *(p for p in plans if p.name != reference)]


def resolve_plans(
    names: Sequence[str], experiment: str | Path | None = None
) -> tuple[list[Plan], LoadedExperiment | None]:
    """Plans named on the command line: a plan of the experiment, else a scenario (name or file).

    With no names and an experiment, all its plans (its reference first)."""
    loaded = load_experiment(experiment) if experiment is not None else None
    own = {p.name: p for p in experiment_plans(loaded)} if loaded is not None else {}
    if not names:
        if loaded is None:
            raise ExperimentError("compare", "name at least two scenarios or plans, or give --experiment FILE")
        return reference_first(list(own.values()), loaded.experiment.reference), loaded
    plans: list[Plan] = []
    for name in names:
        if name in own:
            plans.append(own[name])
            continue
        scenario = read_source(name)
        label = Path(name).stem if Path(name).suffix in (".yaml", ".yml") else name
        plans.append(Plan(label, build_scenario(scenario), name, {}, str(scenario.data.get("description", "")).strip()))
    seen = [p.name for p in plans]
    twice = sorted({n for n in seen if seen.count(n) > 1})
    if twice:
        raise ExperimentError("compare", f"plan {', '.join(twice)} is named twice; each plan is compared once")
    if len(plans) < 2:
        raise ExperimentError("compare", f"comparing needs at least two plans, got {len(plans)}")
    reference = loaded.experiment.reference if loaded is not None and loaded.experiment.reference in seen else None
    return reference_first(plans, reference), loaded
