import math

import numpy as np
import pytest
from conftest import threatened_data

from convoysim import run_monte_carlo
from convoysim.runs.montecarlo import chunks, replication_stream, run_replications
from convoysim.scenario.loading import ScenarioSource, build_scenario


@pytest.fixture(scope="module")
def scenario():
    return build_scenario(ScenarioSource(threatened_data()))


def test_streams_depend_only_on_seed_and_index():
    a = replication_stream(7, 3).random(5)
    b = np.random.SeedSequence(7).spawn(4)[3]
    assert np.array_equal(a, np.random.default_rng(b).random(5))
    assert not np.array_equal(a, replication_stream(7, 2).random(5))


def test_chunks_cover_every_replication_once():
    for n, w in [(1, 1), (7, 2), (1000, 2), (5, 8)]:
        blocks = chunks(n, w)
        assert [i for b in blocks for i in b] == list(range(n))


def test_results_do_not_depend_on_worker_count(scenario):
    one = run_monte_carlo(scenario, replications=40, seed=11, workers=1)
    two = run_monte_carlo(scenario, replications=40, seed=11, workers=2)
    assert [r.as_row() for r in one.records] == [r.as_row() for r in two.records]
    assert [r.replication for r in two.records] == list(range(40))
    assert np.array_equal(one.arrivals(), two.arrivals(), equal_nan=True)


def test_different_seeds_differ(scenario):
    a = run_monte_carlo(scenario, replications=20, seed=1).arrivals()
    b = run_monte_carlo(scenario, replications=20, seed=2).arrivals()
    assert not np.array_equal(a, b, equal_nan=True)


def test_a_failing_replication_is_recorded_not_fatal(scenario, replication_raises):
    replication_raises(2)
    from convoysim.model import compile_plan

    records = run_replications(compile_plan(scenario), 5, range(4))
    assert [r.end_reason for r in records][2] == "error"
    assert "boom" in records[2].error
    assert all(r.error is None for k, r in enumerate(records) if k != 2)
    assert math.isnan(records[2].arrival_h[-1])


def test_bad_counts_are_refused(scenario):
    with pytest.raises(ValueError):
        run_monte_carlo(scenario, replications=0)
    with pytest.raises(ValueError):
        run_monte_carlo(scenario, replications=3, workers=0)
