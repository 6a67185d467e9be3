import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from convoysim.scenario.distributions import CountDistribution, Distribution

dist = TypeAdapter(Distribution)
count = TypeAdapter(CountDistribution)


def test_bare_number_is_fixed():
    d = dist.validate_python(3.5)
    assert d.dist == "fixed" and list(d.sample(np.random.default_rng(0), 3)) == [3.5] * 3


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "uniform", "low": 5, "high": 1},
        {"dist": "triangular", "low": 1, "mode": 9, "high": 3},
        {"dist": "lognormal", "median": 0, "sigma": 1},
        {"dist": "exponential", "mean": -1},
        {"dist": "fixed", "value": -2},
        {"dist": "uniform", "low": -1, "high": 1},
        {"dist": "normal", "mean": 1, "sd": 1},
        {"low": 1, "high": 2},
    ],
)
def test_bad_parameters_are_refused(spec):
    with pytest.raises(ValidationError):
        dist.validate_python(spec)


def test_counts_refuse_continuous_shapes():
    with pytest.raises(ValidationError):
        count.validate_python({"dist": "lognormal", "median": 2, "sigma": 1})


specs = st.one_of(
    st.builds(lambda v: {"dist": "fixed", "value": v}, st.floats(0, 100)),
    st.builds(lambda a, w: {"dist": "uniform", "low": a, "high": a + w}, st.floats(0, 50), st.floats(0, 50)),
    st.builds(
        lambda a, m, w: {"dist": "triangular", "low": a, "mode": a + m * w, "high": a + w},
        st.floats(0, 50),
        st.floats(0, 1),
        st.floats(0.01, 50),
    ),
    st.builds(lambda m, s: {"dist": "lognormal", "median": m, "sigma": s}, st.floats(0.01, 100), st.floats(0, 1)),
    st.builds(lambda m: {"dist": "exponential", "mean": m}, st.floats(0.01, 100)),
)


@given(specs, st.integers(0, 2**32 - 1))
def test_draws_are_non_negative_and_the_mean_is_right(spec, seed):
    d = dist.validate_python(spec)
    x = d.sample(np.random.default_rng(seed), 4000)
    assert (x >= d.lowest() - 1e-12).all() and (x >= 0).all()
    assert x.mean() == pytest.approx(d.mean(), rel=0.15, abs=0.05)


@given(st.integers(0, 20), st.integers(0, 20))
def test_integer_draws_stay_in_bounds(a, w):
    d = count.validate_python({"dist": "integers", "low": a, "high": a + w})
    x = d.sample(np.random.default_rng(1), 500)
    assert x.min() >= a and x.max() <= a + w
