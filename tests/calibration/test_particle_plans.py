"""Particles and sweep points reuse the rings of earlier plans, and get what a full rebuild gets."""

import numpy as np
import pytest
from conftest import baseline_problem

from convoysim import geo
from convoysim.calibration.abc import CalibrationProblem
from convoysim.model import compile_plan
from convoysim.studies.experiments import load_experiment
from convoysim.studies.sweep import evaluate_point, prepare_sweep

PRIORS = ["convoy.speed_kmh.median=9:20", "threats.ambush.hazard_per_h=0.01:0.08", "drones.bases.gao.radius_km=150:400"]


@pytest.fixture(scope="module")
def problem() -> CalibrationProblem:
    return baseline_problem(PRIORS, 4)


def rings(plan):
    return [(r.name, r.intervals_km, r.active_from_h, r.active_until_h) for r in plan.coverage.rings]


def test_a_plan_with_remembered_rings_is_the_plan_compiled_from_scratch(problem):
    for theta in ([12.0, 0.03, 241.0], [15.0, 0.05, 241.0], [15.0, 0.05, 300.0]):
        warm = compile_plan(problem.scenario_at(theta))
        geo._ring_intervals.cache_clear()
        cold = compile_plan(problem.scenario_at(theta))
        assert rings(warm) == rings(cold) and warm.legs == cold.legs and warm.road_km == cold.road_km


def test_particle_arrivals_match_a_full_rebuild(problem):
    thetas = [[9.5, 0.02, 241.0], [18.0, 0.07, 241.0], [12.0, 0.04, 390.0], [9.5, 0.02, 241.0]]
    warm = [problem.arrivals(theta, 7)[0] for theta in thetas]
    cold = []
    for theta in thetas:
        geo._ring_intervals.cache_clear()
        cold.append(problem.arrivals(theta, 7)[0])
    for a, b in zip(warm, cold):
        np.testing.assert_array_equal(a, b)
    assert geo._ring_intervals.cache_info().currsize > 0


def test_ring_intervals_from_the_cache_are_a_fresh_list():
    road, lats, lons = [0.0, 100.0], [16.0, 17.0], [0.0, 0.0]
    first = geo.ring_intervals(road, lats, lons, (16.5, 0.0), 30.0)
    first.append((-1.0, -1.0))
    assert geo.ring_intervals(road, lats, lons, (16.5, 0.0), 30.0) == first[:-1]


def test_sweep_points_match_a_full_rebuild():
    sweep = prepare_sweep(load_experiment("drone-radius"))
    tasks = [t for t in sweep.tasks() if t.point in (2, 5, 9)]
    tasks = [type(t)(t.point, t.scenario, t.settings, t.value_columns, t.outputs, t.seed, 20) for t in tasks]
    warm = [evaluate_point(t).line for t in tasks] + [evaluate_point(t).line for t in tasks]
    cold = []
    for t in tasks:
        geo._ring_intervals.cache_clear()
        cold.append(evaluate_point(t).line)
    assert warm == cold + cold
