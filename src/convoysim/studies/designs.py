"""Designs: how the points of an experiment are drawn from its parameters' levels or ranges.

Each sampler is a small object with one `sample(parameters, seed)` method returning the design
matrix (one row per point, one column per parameter); `design_points` turns that into the scenario
values each point sets. Samplers draw only from a generator seeded from the experiment's seed on a
stream of their own, so the same experiment always gives the same points and never shares numbers
with the replications.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from convoysim.runs.extras import require
from convoysim.studies.experiments import Design, Experiment, Parameter

DESIGN_STREAM = 0x5EED_DE5
"""Mixed into the seed for drawing design points, apart from replication streams."""


def design_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, DESIGN_STREAM])


class Sampler(Protocol):
    def sample(self, parameters: Mapping[str, Parameter], seed: int) -> np.ndarray: ...


def _scale(unit: np.ndarray, parameters: Mapping[str, Parameter]) -> np.ndarray:
    """From the unit cube to each parameter's range, rounding integer parameters."""
    from scipy.stats import qmc  # scipy.stats takes a second to import; only sampled designs need it

    ps = list(parameters.values())
    out = qmc.scale(unit, [p.low for p in ps], [p.high for p in ps])
    for j, p in enumerate(ps):
        if p.integer:
            out[:, j] = np.round(out[:, j])
    return out


@dataclass(frozen=True)
class FullFactorial:
    """Every combination of every parameter's levels; the first parameter varies slowest."""

    def sample(self, parameters: Mapping[str, Parameter], seed: int) -> np.ndarray:
        grids = [p.grid() for p in parameters.values()]
        return np.array(list(itertools.product(*grids)), dtype=float).reshape(-1, len(grids))


@dataclass(frozen=True)
class LatinHypercube:
    """`points` points, one in each of `points` equal slices of every parameter's range."""

    points: int

    def sample(self, parameters: Mapping[str, Parameter], seed: int) -> np.ndarray:
        from scipy.stats import qmc

        engine = qmc.LatinHypercube(d=len(parameters), rng=design_rng(seed))
        return _scale(engine.random(self.points), parameters)


@dataclass(frozen=True)
class SobolSequence:
    """A scrambled Sobol low-discrepancy sequence of `points` (a power of two) points."""

    points: int

    def sample(self, parameters: Mapping[str, Parameter], seed: int) -> np.ndarray:
        from scipy.stats import qmc

        engine = qmc.Sobol(d=len(parameters), scramble=True, rng=design_rng(seed))
        return _scale(engine.random_base2(int(np.log2(self.points))), parameters)


@dataclass(frozen=True)
class Saltelli:
    """Saltelli's extension of a Sobol sequence (SALib), from which Sobol indices are estimated.

    Its N * (k + 2) points (N * (2k + 2) with second order) come in blocks whose order SALib's
    analysis relies on, so they must stay in the order drawn.
    """

    base_samples: int
    second_order: bool = False

    def sample(self, parameters: Mapping[str, Parameter], seed: int) -> np.ndarray:
        salib_sobol = require("SALib.sample.sobol", "sobol", "a saltelli design")

        unit = {"num_vars": len(parameters), "names": list(parameters), "bounds": [[0.0, 1.0]] * len(parameters)}
        draws = salib_sobol.sample(
            unit, self.base_samples, calc_second_order=self.second_order, scramble=True, seed=design_rng(seed)
        )
        return _scale(draws, parameters)


def sampler_for(design: Design) -> Sampler:
    if design.kind == "full_factorial":
        return FullFactorial()
    if design.kind == "latin_hypercube":
        return LatinHypercube(design.points or 0)
    if design.kind == "sobol":
        return SobolSequence(design.points or 0)
    return Saltelli(design.base_samples or 0, design.second_order)


def salib_problem(parameters: Mapping[str, Parameter]) -> dict[str, Any]:
    """The parameters as SALib describes a problem: names and bounds."""
    return {
        "num_vars": len(parameters),
        "names": list(parameters),
        "bounds": [[p.low, p.high] for p in parameters.values()],
    }


@dataclass(frozen=True)
class DesignPoints:
    """The points of a design: their parameter values, and every scenario path each point sets."""

    kind: str
    parameters: tuple[str, ...]
    matrix: np.ndarray
    """One row per point, one column per parameter."""
    settings: tuple[dict[str, float], ...]
    """Per point, the scenario path -> value to apply (parameters and their `also` paths)."""

    def __len__(self) -> int:
        return len(self.settings)

    def columns(self) -> list[str]:
        """Every path any point sets, parameters first: the value columns of points.csv and runs.csv."""
        extra = [k for k in (self.settings[0] if self.settings else {}) if k not in self.parameters]
        return [*self.parameters, *extra]

    def rows(self) -> list[dict[str, Any]]:
        """points.csv: one row per point with the values it sets."""
        return [{"point": i, **s} for i, s in enumerate(self.settings)]


def design_points(experiment: Experiment, seed: int) -> DesignPoints:
    """Draw an experiment's design and expand each point into the scenario values it sets."""
    parameters = experiment.parameters
    matrix = sampler_for(experiment.design).sample(parameters, seed)
    settings = []
    for row in matrix:
        point: dict[str, float] = {}
        for (name, p), x in zip(parameters.items(), row):
            point[name] = p.value(x)
            if p.also:
                k = p.grid().index(point[name])
                for path, values in p.also.items():
                    point[path] = float(values[k])
        settings.append(point)
    return DesignPoints(experiment.design.kind, tuple(parameters), matrix, tuple(settings))
