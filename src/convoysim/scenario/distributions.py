"""Probability distributions written in scenario files as small mappings.

Every quantity the model draws (a duration, a speed, a count of vehicles) is non-negative, so
each distribution here has non-negative support; the schema rejects parameters that would allow a
negative draw. A bare number in a scenario file means a fixed value.

Each distribution has one job: `draw(stream)` turns a uniform (or normal) number (a keyed
`model.streams.Number`) into a value by its inverse CDF, so one value costs no numpy call and a parameter
change moves every draw monotonically (good for common random numbers). `sample(rng, size)` is
the same for a plain `numpy.random.Generator`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Protocol, Union

import numpy as np
from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from convoysim.scenario.strictmodel import StrictModel


class Stream(Protocol):
    def uniform(self) -> float: ...

    def normal(self) -> float: ...


class _GeneratorStream:
    """A Stream over a plain Generator, for `sample`."""

    def __init__(self, rng: np.random.Generator, size: int):
        self._u = iter(rng.random(size).tolist())
        self._rng = rng

    def uniform(self) -> float:
        return next(self._u)

    def normal(self) -> float:
        return float(self._rng.standard_normal())


MAX_PARAMETER = 1e6
"""Largest value a distribution parameter may take: a million hours is 114 years, a million km/h
is not a convoy; larger values overflow the model's clock into infinities."""
MAX_PARAMETER_REASON = "a million hours is 114 years, a million km/h is not a convoy"
MAX_SIGMA = 10.0
"""Largest lognormal sigma: e^10 is a factor of 22,000 either side of the median."""


class _Dist(StrictModel):
    @model_validator(mode="after")
    def _not_absurd(self) -> "_Dist":
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > MAX_PARAMETER:
                raise ValueError(f"{name} {value:g} is above the limit of {MAX_PARAMETER:g}: {MAX_PARAMETER_REASON}")
        return self

    def draw(self, stream: Stream) -> float:  # pragma: no cover - interface
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """`size` independent draws from a Generator (one uniform each)."""
        stream = _GeneratorStream(rng, size)
        return np.array([self.draw(stream) for _ in range(size)])

    def mean(self) -> float:  # pragma: no cover - interface
        raise NotImplementedError

    def lowest(self) -> float:
        """Smallest value a draw can take; lets fields demand strictly positive values."""
        return 0.0


class Fixed(_Dist):
    """Always the same value."""

    dist: Literal["fixed"] = "fixed"
    value: float = Field(ge=0)

    def draw(self, stream: Stream) -> float:
        return self.value

    def mean(self) -> float:
        return self.value

    def lowest(self) -> float:
        return self.value


class _Range(_Dist):
    """Shared by the distributions flat between `low` and `high`."""

    low: float = Field(ge=0)
    high: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> "_Range":
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must not be below low ({self.low})")
        return self

    def mean(self) -> float:
        return 0.5 * (self.low + self.high)

    def lowest(self) -> float:
        return float(self.low)


class Uniform(_Range):
    """Equally likely anywhere between `low` and `high`."""

    dist: Literal["uniform"]

    def draw(self, stream: Stream) -> float:
        return self.low + (self.high - self.low) * stream.uniform()


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

    def draw(self, stream: Stream) -> float:
        u = stream.uniform()
        a, c, b = self.low, self.mode, self.high
        if u < (c - a) / (b - a):
            return a + math.sqrt(u * (b - a) * (c - a))
        return b - math.sqrt((1.0 - u) * (b - a) * (b - c))

    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3.0

    def lowest(self) -> float:
        return self.low


class LogNormal(_Dist):
    """Right-skewed durations and speeds: `median` in the quantity's unit, `sigma` of its logarithm."""

    dist: Literal["lognormal"]
    median: float = Field(gt=0)
    sigma: float = Field(ge=0, le=MAX_SIGMA)

    def draw(self, stream: Stream) -> float:
        return self.median * math.exp(self.sigma * stream.normal())

    def mean(self) -> float:
        return self.median * math.exp(0.5 * self.sigma**2)

    def lowest(self) -> float:
        return self.median if self.sigma == 0 else 0.0


class Exponential(_Dist):
    """Memoryless waiting time with the given `mean`."""

    dist: Literal["exponential"]
    mean_value: float = Field(gt=0, alias="mean")

    model_config = ConfigDict(populate_by_name=True)

    def draw(self, stream: Stream) -> float:
        return -self.mean_value * math.log1p(-stream.uniform())

    def mean(self) -> float:
        return self.mean_value


class Integers(_Range):
    """A whole number from `low` to `high`, both included, all equally likely."""

    dist: Literal["integers"]
    low: int = Field(ge=0)
    high: int = Field(ge=0)

    def draw(self, stream: Stream) -> float:
        n = self.high - self.low + 1
        return self.low + min(int(stream.uniform() * n), n - 1)


class Poisson(_Dist):
    """A count of independent rare events with the given `mean`."""

    dist: Literal["poisson"]
    mean_value: float = Field(ge=0, alias="mean")

    model_config = ConfigDict(populate_by_name=True)

    def draw(self, stream: Stream) -> float:
        return poisson_quantile(self.mean_value, stream.uniform())

    def mean(self) -> float:
        return self.mean_value


def poisson_quantile(mean: float, u: float) -> int:
    """Smallest k with P(X <= k) > u for X ~ Poisson(mean): inversion, exact for the small means here."""
    if mean <= 0.0:
        return 0
    if mean > 500.0:  # exp(-mean) would underflow; the normal approximation is then very close
        from statistics import NormalDist

        return max(0, round(mean + math.sqrt(mean) * NormalDist().inv_cdf(min(max(u, 1e-12), 1 - 1e-12))))
    k, p = 0, math.exp(-mean)
    cumulative = p
    while u >= cumulative and p > 0.0:
        k += 1
        p *= mean / k
        cumulative += p
    return k


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
