"""Selecting the best plan: procedure KN on synthetic plans with known means, subset selection."""

from __future__ import annotations

import numpy as np
import pytest

from convoysim.studies.selection import kim_nelson, kn_eta, subset_of_best


def normal_plans(means, sd=3.0, common=2.0, seed=0):
    """Plans with known means: replication r of every plan shares a common shock (CRN)."""
    means = np.asarray(means, dtype=float)

    def sample(i, replications):
        shared = np.array([np.random.default_rng([seed, r]).normal() for r in replications])
        own = np.array([np.random.default_rng([seed, r, i + 1]).normal() for r in replications])
        return means[i] + common * shared + sd * own

    return sample


def test_the_best_is_found_in_the_slippage_configuration_at_the_promised_rate():
    names = ["a", "b", "c", "d"]
    right = sum(
        kim_nelson(normal_plans([1.0, 0.0, 1.0, 1.0], seed=s), names, delta=1.0, alpha=0.1, n0=10).best == "b"
        for s in range(60)
    )
    assert right / 60 >= 0.9  # KN promises at least 1 - alpha = 0.9


def test_max_goal_and_replications_used_reported_per_plan():
    sel = kim_nelson(normal_plans([0.0, 5.0, 1.0], sd=1.0), ["x", "y", "z"], delta=0.5, goal="max", n0=10)
    assert sel.best == "y"
    assert set(sel.replications) == {"x", "y", "z"} and all(n >= 10 for n in sel.replications.values())
    assert sel.replications["y"] == max(sel.replications.values())
    assert {p for p, _, _ in sel.eliminated} == {"x", "z"}
    assert sel.means["y"] == pytest.approx(5.0, abs=2.5)


def test_clear_losers_go_at_once_and_close_plans_take_longer():
    far = kim_nelson(normal_plans([0.0, 30.0]), ["a", "b"], delta=1.0, n0=10)
    near = kim_nelson(normal_plans([0.0, 1.0]), ["a", "b"], delta=1.0, n0=10)
    assert far.replications["b"] == 10
    assert near.total > far.total


def test_identical_plans_stop_and_pick_one_and_the_cap_is_reported():
    same = kim_nelson(lambda i, reps: np.arange(reps.start, reps.stop, dtype=float), ["a", "b", "c"], delta=1.0, n0=5)
    assert same.best == "a" and not same.capped
    capped = kim_nelson(normal_plans([0.0, 0.0], sd=50.0), ["a", "b"], delta=0.01, n0=5, max_replications=40)
    assert capped.capped and capped.replications["a"] <= 40


def test_bad_settings_are_refused():
    sample = normal_plans([0.0, 1.0])
    with pytest.raises(ValueError, match="two plans"):
        kim_nelson(sample, ["a"], delta=1.0)
    with pytest.raises(ValueError, match="delta"):
        kim_nelson(sample, ["a", "b"], delta=0.0)
    with pytest.raises(ValueError, match="n0"):
        kim_nelson(sample, ["a", "b"], delta=1.0, n0=1)
    assert kn_eta(2, 0.05, 10) > 0


def test_subset_keeps_the_best_and_drops_a_clearly_worse_plan():
    sample = normal_plans([0.0, 0.2, 10.0], sd=1.0)
    values = {n: sample(i, range(100)) for i, n in enumerate(["a", "b", "c"])}
    kept = subset_of_best(values, "min")
    assert "a" in kept and "c" not in kept
    assert subset_of_best({k: -v for k, v in values.items()}, "max") == kept


def test_select_best_on_the_model_finds_the_plan_without_an_added_halt():
    from conftest import scenario_data

    from convoysim.scenario.loading import ScenarioSource
    from convoysim.studies.plans import Plan, set_values
    from convoysim.studies.selection import select_best

    # no threats: every replication arrives, so the plans differ by the halt alone (under threats most
    # replications end at the horizon alike and the 12 h gap shrinks inside the indifference zone)
    def plan(name: str, halt_h: float) -> Plan:
        return Plan(
            name, set_values(ScenarioSource(scenario_data()), {"halts.at_waypoints.0.duration_h.value": halt_h}), "t"
        )

    plans = [plan("slow", 14.0), plan("quick", 2.0), plan("slower", 26.0)]
    sel = select_best(plans, "arrival_h.C", "min", delta=2.0, seed=3, n0=10)
    assert sel.best == "quick" and not sel.capped
    assert {p for p, _, _ in sel.eliminated} == {"slow", "slower"}
