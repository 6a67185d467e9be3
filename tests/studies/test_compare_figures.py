"""The comparison figures draw what they say: every plan, every statistic with its interval, zero,
and the non-dominated plans."""

from __future__ import annotations

from conftest import threatened_data

from convoysim.figures.compare import (
    compare_figures,
    difference_plot,
    non_dominated,
    risk_and_error,
    time_versus_losses,
)
from convoysim.scenario.loading import ScenarioSource
from convoysim.studies.paired import compare_plans
from convoysim.studies.plans import Plan, set_values


def result():
    base = set_values(ScenarioSource(threatened_data()), {})
    calm = set_values(ScenarioSource(threatened_data()), {"threats.ambush.hazard_per_h": 0.05})
    late = set_values(ScenarioSource(threatened_data()), {"start": "2023-10-03T06:00:00Z"})
    return compare_plans([Plan("base", base, "t"), Plan("calm", calm, "t"), Plan("late", late, "t")], 40, seed=2)


def gids(fig):
    fig.canvas.draw()
    return {a.get_gid() for a in fig.findobj(lambda a: bool(a.get_gid()))}


def test_risk_and_error_draws_each_plans_spread_and_four_estimates():
    r = result()
    fig = risk_and_error(r, "vehicles_lost")
    found = gids(fig)
    for plan in ("base", "calm", "late"):
        assert {f"stat:{plan}:{s}" for s in ("p10", "p50", "p90", "mean")} <= found
    assert any(g.startswith("risk:") for g in found)
    risk_and_error(r, "arrival_h.C")  # dates on the axis, non-arrivals allowed


def test_difference_plot_marks_zero_and_each_plan():
    fig = difference_plot(result(), ["ambushes", "vehicles_lost"])
    assert "zero" in gids(fig)
    assert sum(1 for ax in fig.axes if ax.get_visible()) == 2


def test_non_dominated_plans_are_those_no_other_beats_on_both():
    assert non_dominated([(1, 5), (2, 2), (3, 3), (4, 1)]) == [True, True, False, True]
    assert non_dominated([(1, 1), (1, 1)]) == [True, True]
    fig = time_versus_losses(result())
    assert {"plan:base", "plan:calm", "plan:late"} <= gids(fig)


def test_compare_figures_names_every_file():
    names = set(compare_figures(result()))
    assert {"differences", "time-vs-losses"} <= names and any(n.startswith("risk-") for n in names)
