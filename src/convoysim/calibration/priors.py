"""Priors of a calibration: uncertain scenario parameters, named by their paths, each equally likely
anywhere in a box [low, high]; parsed from `--param [NAME:]PATH=LOW:HIGH` and checked against the
scenarios they are set in (each path names one number, and every scenario is valid at the box's edges).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from convoysim.scenario.loading import ScenarioError, ScenarioSource
from convoysim.scenario.paths import ParameterPathError, apply_values, full_tree, resolve
from convoysim.scenario.schema import Scenario

MAX_CORNERS = 6
"""Up to this many parameters every corner of the prior box is checked; beyond, each edge alone."""


class ParameterSpecError(ValueError):
    """A `--param PATH=LOW:HIGH` that cannot be used, with the reason."""

    def __init__(self, spec: str, reason: str):
        self.spec, self.reason = spec, reason
        super().__init__(f"--param {spec}: {reason}")


@dataclass(frozen=True)
class UniformPrior:
    """A parameter named by its scenario path, equally likely anywhere in [low, high].

    `integer` parameters (a vehicle count) are rounded to the nearest whole number when applied.
    In a fit of several scenarios, `scenario` names the one scenario it is set in (`NAME:PATH`);
    without it, it is set in every scenario, and each must have it.
    """

    path: str
    low: float
    high: float
    integer: bool = False
    scenario: str | None = None

    @property
    def name(self) -> str:
        """The parameter's name in outputs: its path, prefixed by its scenario's name when scoped."""
        return f"{self.scenario}:{self.path}" if self.scenario else self.path

    @property
    def width(self) -> float:
        return self.high - self.low

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high

    def value(self, x: float) -> float | int:
        """The value written into the scenario for the particle coordinate `x`."""
        return int(round(x)) if self.integer else float(x)

    def as_spec(self) -> str:
        return f"{self.name}={self.low!r}:{self.high!r}"


MIN_PRIOR_WIDTH, MIN_PRIOR_RELATIVE_WIDTH = 1e-100, 1e-9
"""A prior narrower than this (absolute, or relative to its bounds) has no spread to fit: a range one
float apart, or of subnormal numbers, makes the particles' covariance singular."""
MAX_PRIOR_BOUND = 1e12
"""Larger prior bounds overflow the perturbation kernel's variance (x² past 1e308) into infinities."""


def parse_param(spec: str) -> UniformPrior:
    """`[SCENARIO:]PATH=LOW:HIGH` as a uniform prior; raises ParameterSpecError on a malformed spec."""
    name, eq, bounds = spec.partition("=")
    scenario, colon, path = name.strip().rpartition(":")
    path, scenario = path.strip(), (scenario.strip() or None)
    if not eq or not path or (colon and not scenario):
        raise ParameterSpecError(
            spec,
            "write PATH=LOW:HIGH, e.g. convoy.speed_kmh.median=8:20 "
            "(or SCENARIO:PATH=LOW:HIGH to set it in one scenario of a joint fit)",
        )
    low_text, colon, high_text = bounds.partition(":")
    if not colon:
        raise ParameterSpecError(spec, f"the range '{bounds}' needs LOW:HIGH, e.g. 8:20")
    try:
        low, high = float(low_text), float(high_text)
    except ValueError:
        raise ParameterSpecError(spec, f"the range '{bounds}' is not two numbers LOW:HIGH") from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ParameterSpecError(spec, "the range must be finite")
    if max(abs(low), abs(high)) > MAX_PRIOR_BOUND:
        raise ParameterSpecError(
            spec, f"bounds beyond {MAX_PRIOR_BOUND:g} overflow the fit's arithmetic; no scenario value is that large"
        )
    if not low < high:
        raise ParameterSpecError(spec, f"LOW ({low:g}) must be below HIGH ({high:g})")
    if high - low < max(MIN_PRIOR_WIDTH, MIN_PRIOR_RELATIVE_WIDTH * max(abs(low), abs(high))):
        raise ParameterSpecError(
            spec,
            f"the range {low!r} to {high!r} is too narrow to fit (its particles' spread would "
            "underflow); give a wider range, or set the value in the scenario",
        )
    return UniformPrior(path, low, high, scenario=scenario)


def _value_at(tree: Any, keys: Sequence[str | int]) -> Any:
    for key in keys:
        tree = tree[key]
    return tree


def check_priors(
    source: ScenarioSource,
    scenario: Scenario,
    priors: Sequence[UniformPrior],
    others: Sequence[tuple[ScenarioSource, Scenario]] = (),
) -> list[UniformPrior]:
    """The priors checked against the scenario (and the `others` of a joint fit): each path names
    one number in every scenario it is set in (all of them, or the one its `NAME:` prefix names),
    and each scenario is valid at the edges of the prior box (so a particle inside it is, for
    box-shaped constraints).

    Raises ParameterPathError (with the closest valid path) or ParameterSpecError.
    """
    members = [(source, scenario), *others]
    names = [sc.name for _, sc in members]
    fulls = [full_tree(sc) for _, sc in members]
    checked: list[UniformPrior] = []
    seen: set[tuple[Any, ...]] = set()
    for prior in priors:
        if prior.scenario is not None and prior.scenario not in names:
            raise ParameterSpecError(
                prior.as_spec(), f"no scenario named '{prior.scenario}' in this fit (scenarios: {', '.join(names)})"
            )
        targets = [i for i, name in enumerate(names) if prior.scenario in (None, name)]
        missing = [i for i in targets if not _resolves(fulls[i], prior.path)]
        if len(missing) == len(targets):
            resolve(fulls[missing[0]], prior.path)  # raises ParameterPathError with the closest valid path
        if missing:
            having = next(names[i] for i in targets if i not in missing)
            raise ParameterSpecError(
                prior.as_spec(),
                f"scenario '{names[missing[0]]}' has no {prior.path}; to fit it in "
                f"'{having}' only, write {having}:{prior.path}=LOW:HIGH",
            )
        found: list[Any] = []
        for i in targets:
            keys = tuple(resolve(fulls[i], prior.path))
            if (i, keys) in seen:
                raise ParameterSpecError(prior.as_spec(), "this parameter is given twice")
            seen.add((i, keys))
            found.append(_value_at(fulls[i], keys))
        for current in found:
            _check_number(prior, current)
        integer = isinstance(found[0], int)
        if integer and (prior.low != round(prior.low) or prior.high != round(prior.high)):
            raise ParameterSpecError(prior.as_spec(), "this parameter is a whole number; give whole-number bounds")
        checked.append(UniformPrior(prior.path, prior.low, prior.high, integer, prior.scenario))
    for (src, sc), name in zip(members, names):
        own = [p for p in checked if p.scenario in (None, name)]
        for values in _edges(own):
            try:
                apply_values(src, values, sc)
            except ScenarioError as err:
                at = ", ".join(f"{path}={value:g}" for path, value in values.items())
                spec = " ".join(p.as_spec() for p in own if p.path in values)
                where = f" '{name}'" if others else ""
                raise ParameterSpecError(
                    spec, f"the scenario{where} is invalid at {at}: {err.path + ': ' if err.path else ''}{err.reason}"
                ) from None
    return checked


def _check_number(prior: UniformPrior, current: Any) -> None:
    if isinstance(current, dict):
        numbers = [k for k, v in current.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        example = f"{prior.path}.{numbers[0]}" if numbers else prior.path
        raise ParameterPathError(
            prior.path, "names a distribution or section, not a number; name one of its numbers", example
        )
    if isinstance(current, (bool, str)):
        raise ParameterSpecError(prior.as_spec(), f"the value there is {current!r}, not a number")


def _resolves(full: Any, path: str) -> bool:
    try:
        resolve(full, path)
    except ParameterPathError:
        return False
    return True


def _edges(priors: Sequence[UniformPrior]) -> list[dict[str, float | int]]:
    """The points of the prior box at which the scenario must be valid."""
    if len(priors) <= MAX_CORNERS:
        return [
            {p.path: p.value(x) for p, x in zip(priors, corner)}
            for corner in itertools.product(*[(p.low, p.high) for p in priors])
        ]
    return [{p.path: p.value(x)} for p in priors for x in (p.low, p.high)]
