"""Probability distributions written in scenario files as small mappings.

Every quantity the model draws (a duration, a speed, a count of vehicles) is non-negative, so
each distribution here has non-negative support; the schema rejects parameters that would allow a
negative draw. A bare number in a scenario file means a fixed value.

Each distribution has one job: `sample(rng, size)` from a `numpy.random.Generator` it is given.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from convoysim.strictmodel import StrictModel


class _Dist(StrictModel):
    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def mean(self) -> float:  # pragma: no cover - interface
        raise NotImplementedError

    def lowest(self) -> float:
        """Smallest value a draw can take; lets fields demand strictly positive values."""
        return 0.0


class Fixed(_Dist):
    """Always the same value."""

    dist: Literal["fixed"] = "fixed"
    value: float = Field(ge=0)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, self.value)

    def mean(self) -> float:
        return self.value

    def lowest(self) -> float:
        return self.value


class Uniform(_Dist):
    """Equally likely anywhere between `low` and `high`."""

    dist: Literal["uniform"]
    low: float = Field(ge=0)
    high: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> "Uniform":
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must not be below low ({self.low})")
        return self

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, size)

    def mean(self) -> float:
        return 0.5 * (self.low + self.high)

    def lowest(self) -> float:
        return self.low


class Triangular(_Dist):
    """The planner's three-point estimate: least, most likely and greatest value."""

    dist: Literal["triangular"]
    low: float = Field(ge=0)
    mode: float = Field(ge=0)
    high: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> "Triangular":
        if not (self.low <= self.mode <= self.high):
            raise ValueError(f"needs low <= mode <= high, got {self.low}, {self.mode}, {self.high}")
        if self.low == self.high:
            raise ValueError("low and high are equal; write a fixed value instead")
        return self

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.triangular(self.low, self.mode, self.high, size)

    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3.0

    def lowest(self) -> float:
        return self.low


class LogNormal(_Dist):
    """Right-skewed durations and speeds: `median` in the quantity's unit, `sigma` of its logarithm."""

    dist: Literal["lognormal"]
    median: float = Field(gt=0)
    sigma: float = Field(ge=0)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.lognormal(math.log(self.median), self.sigma, size)

    def mean(self) -> float:
        return self.median * math.exp(0.5 * self.sigma**2)

    def lowest(self) -> float:
        return self.median if self.sigma == 0 else 0.0


class Exponential(_Dist):
    """Memoryless waiting time with the given `mean`."""

    dist: Literal["exponential"]
    mean_value: float = Field(gt=0, alias="mean")

    model_config = ConfigDict(populate_by_name=True)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(self.mean_value, size)

    def mean(self) -> float:
        return self.mean_value


class Integers(_Dist):
    """A whole number from `low` to `high`, both included, all equally likely."""

    dist: Literal["integers"]
    low: int = Field(ge=0)
    high: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> "Integers":
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must not be below low ({self.low})")
        return self

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.integers(self.low, self.high, size, endpoint=True)

    def mean(self) -> float:
        return 0.5 * (self.low + self.high)

    def lowest(self) -> float:
        return float(self.low)


class Poisson(_Dist):
    """A count of independent rare events with the given `mean`."""

    dist: Literal["poisson"]
    mean_value: float = Field(ge=0, alias="mean")

    model_config = ConfigDict(populate_by_name=True)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.poisson(self.mean_value, size)

    def mean(self) -> float:
        return self.mean_value


def _bare_number_is_fixed(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"dist": "fixed", "value": value}
    if isinstance(value, dict) and "dist" not in value:
        raise ValueError("a distribution needs a 'dist' key (fixed, uniform, triangular, lognormal, exponential)")
    return value


def _bare_number_is_fixed_count(value: Any) -> Any:
    if isinstance(value, dict) and "dist" not in value:
        raise ValueError("a count distribution needs a 'dist' key (fixed, integers, poisson)")
    return _bare_number_is_fixed(value)


Distribution = Annotated[
    Union[Fixed, Uniform, Triangular, LogNormal, Exponential],
    Field(discriminator="dist"),
    BeforeValidator(_bare_number_is_fixed),
]
"""A non-negative continuous quantity (hours, km/h)."""

CountDistribution = Annotated[
    Union[Fixed, Integers, Poisson],
    Field(discriminator="dist"),
    BeforeValidator(_bare_number_is_fixed_count),
]
"""A non-negative whole number (vehicles); fixed values are rounded down."""

__all__ = [
    "Distribution",
    "CountDistribution",
    "Fixed",
    "Uniform",
    "Triangular",
    "LogNormal",
    "Exponential",
    "Integers",
    "Poisson",
]
