"""Designs: sizes, bounds and reproducibility of every sampler, and the Sobol indices they feed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convoysim.studies.designs import (
    FullFactorial,
    LatinHypercube,
    Saltelli,
    SobolSequence,
    design_points,
    sampler_for,
)
from convoysim.studies.experiments import Design, Experiment, Parameter
from convoysim.studies.sensitivity import sobol_indices

RANGES = {
    "threats.ambush.hazard_per_h": Parameter(low=0.01, high=0.08),
    "convoy.speed_kmh.median": Parameter(low=9.0, high=20.0),
    "convoy.vehicles": Parameter(low=50, high=150, integer=True),
}


def experiment(design: Design, parameters=None) -> Experiment:
    return Experiment(name="t", scenario="baseline", parameters=parameters or RANGES, design=design, replications=1)


def test_full_factorial_is_every_combination_first_parameter_slowest():
    params = {"a": Parameter(levels=[1, 2, 3]), "b": Parameter(low=0, high=1, count=2)}
    m = FullFactorial().sample(params, seed=0)
    assert m.tolist() == [[1, 0], [1, 1], [2, 0], [2, 1], [3, 0], [3, 1]]


@given(
    levels=st.lists(
        st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=4, unique=True), min_size=1, max_size=3
    )
)
@settings(max_examples=40, deadline=None)
def test_full_factorial_size_is_product_of_levels(levels):
    params = {f"p{i}": Parameter(levels=lv) for i, lv in enumerate(levels)}
    m = FullFactorial().sample(params, seed=0)
    assert m.shape == (int(np.prod([len(lv) for lv in levels])), len(levels))
    assert len({tuple(row) for row in m}) == len(m)


@pytest.mark.parametrize(
    "sampler,n",
    [
        (LatinHypercube(37), 37),
        (SobolSequence(64), 64),
        (Saltelli(16), 16 * (3 + 2)),
        (Saltelli(16, second_order=True), 16 * (2 * 3 + 2)),
    ],
)
def test_sampled_designs_have_their_size_stay_in_bounds_and_round_integers(sampler, n):
    m = sampler.sample(RANGES, seed=7)
    assert m.shape == (n, 3)
    for j, p in enumerate(RANGES.values()):
        assert m[:, j].min() >= p.low and m[:, j].max() <= p.high
    assert np.all(m[:, 2] == np.round(m[:, 2]))
    assert np.array_equal(m, sampler.sample(RANGES, seed=7)), "same seed, same points"
    assert not np.array_equal(m, sampler.sample(RANGES, seed=8)), "another seed, other points"


@given(seed=st.integers(0, 2**31), n=st.integers(2, 60))
@settings(max_examples=25, deadline=None)
def test_latin_hypercube_puts_one_point_in_each_slice(seed, n):
    params = {"a": Parameter(low=0.0, high=1.0), "b": Parameter(low=10.0, high=20.0)}
    m = LatinHypercube(n).sample(params, seed)
    for j, p in enumerate(params.values()):
        slices = np.floor((m[:, j] - p.low) / (p.high - p.low) * n).clip(0, n - 1)
        assert sorted(slices.tolist()) == list(range(n))


def test_sampler_for_each_kind():
    assert isinstance(sampler_for(Design(kind="full_factorial")), FullFactorial)
    assert sampler_for(Design(kind="latin_hypercube", points=5)) == LatinHypercube(5)
    assert sampler_for(Design(kind="sobol", points=8)) == SobolSequence(8)
    assert sampler_for(Design(kind="saltelli", base_samples=8, second_order=True)) == Saltelli(8, True)


def test_design_points_expand_also_paths_and_integers():
    params = {
        "threats.ied.detection_prob": Parameter(
            levels=[0.0, 0.5], also={"threats.ied.clearance_speed_factor": [1.0, 0.4]}
        ),
        "convoy.vehicles": Parameter(levels=[100.4, 120.6], integer=True),
    }
    points = design_points(experiment(Design(kind="full_factorial"), params), seed=1)
    assert len(points) == 4
    assert points.columns() == ["threats.ied.detection_prob", "convoy.vehicles", "threats.ied.clearance_speed_factor"]
    assert points.settings[3] == {
        "threats.ied.detection_prob": 0.5,
        "convoy.vehicles": 121.0,
        "threats.ied.clearance_speed_factor": 0.4,
    }


def test_sobol_indices_recover_an_additive_function():
    """y = 4a + b (+ nothing from c): S1 close to 16/17, 1/17, 0 and ST close to S1."""
    params = {"a": Parameter(low=0.0, high=1.0), "b": Parameter(low=0.0, high=1.0), "c": Parameter(low=0.0, high=1.0)}
    m = Saltelli(1024).sample(params, seed=3)
    y = 4 * m[:, 0] + m[:, 1]
    found = sobol_indices(params, y, second_order=False, bootstrap=50, seed=3)
    assert found["S1"] == pytest.approx([16 / 17, 1 / 17, 0.0], abs=0.05)
    assert found["ST"] == pytest.approx([16 / 17, 1 / 17, 0.0], abs=0.05)
    assert np.all(found["S1_conf"] >= 0)


def test_sobol_indices_of_a_constant_output_are_zero():
    params = {"a": Parameter(low=0.0, high=1.0), "b": Parameter(low=0.0, high=1.0)}
    found = sobol_indices(params, np.ones(8 * 4), second_order=False, bootstrap=10, seed=0)
    assert found["S1"].tolist() == [0.0, 0.0] and found["ST"].tolist() == [0.0, 0.0]
