"""simulate() compiles a scenario's plan once, however many seeds it is called with."""

import gc

import numpy as np
from conftest import make_scenario, threatened_data

import convoysim.model as model
from convoysim import compile_plan, simulate
from convoysim.model import replicate
from convoysim.scenario.loading import ScenarioSource, build_scenario


def test_simulate_compiles_each_scenario_once(monkeypatch):
    calls = []
    real = model.compile_plan
    monkeypatch.setattr(model, "compile_plan", lambda sc: calls.append(sc) or real(sc))
    scenario, other = make_scenario(), make_scenario(horizon_days=3)
    for seed in range(5):
        simulate(scenario, seed)
        simulate(other, seed)
    assert calls == [scenario, other]


def test_a_cached_plan_gives_the_records_of_a_fresh_one():
    scenario = build_scenario(ScenarioSource(threatened_data()))
    fresh = compile_plan(scenario)
    for seed in range(6):
        cached = simulate(scenario, seed)
        assert repr(cached) == repr(replicate(fresh, np.random.default_rng(seed), 0))  # repr: NaN equals NaN


def test_a_scenario_that_is_gone_leaves_no_plan_behind():
    scenario = make_scenario()
    simulate(scenario, 1)
    key = id(scenario)
    assert model._compiled[key][0]() is scenario
    del scenario
    gc.collect()
    assert key not in model._compiled  # other tests' scenarios may go at the same time: look at this one only
