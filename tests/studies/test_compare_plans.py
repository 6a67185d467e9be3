"""Plans and the paired comparison: values by path of any kind, experiment plans, differences on
common random numbers, non-arrivals, the variance reduction and --precision's growth."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from conftest import threatened_data, write

from convoysim.scenario.loading import ScenarioSource
from convoysim.studies.experiments import ExperimentError, load_experiment
from convoysim.studies.paired import (
    NON_ARRIVALS,
    compare_plans,
    compare_until_precise,
    mean_interval,
    paired_difference,
    write_comparison,
)
from convoysim.studies.plans import Plan, experiment_plans, resolve_plans, set_values


def source(**changes) -> ScenarioSource:
    return ScenarioSource(threatened_data(**changes))


def test_values_of_every_kind_set_dates_switches_and_remove_a_section():
    built = set_values(
        source(),
        {
            "start": "2023-10-09T06:00:00Z",
            "convoy.move_by_night": False,
            "drones.bases.home": None,
            "threats.ied.per_100km": 1.0,
        },
    )
    assert built.start.day == 9 and built.convoy.move_by_night is False
    assert "home" not in built.drones.bases and built.threats.ied.per_100km == 1.0
    moved = set_values(source(), {"drones.bases.home.active_from": "2023-10-05T00:00:00Z"})
    assert moved.drones.bases["home"].active_from.day == 5


def test_a_wrong_path_names_the_closest_and_a_list_refuses_a_section():
    with pytest.raises(ValueError, match="did you mean 'convoy.speed_kmh'"):
        set_values(source(), {"convoy.speed": 3})
    with pytest.raises(ValueError, match="not a section"):
        set_values(source(), {"route.waypoints.B": None})


def plans_file(tmp_path, plans: str, extra: str = "") -> str:
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(threatened_data()))
    return str(write(tmp_path, f"name: q\nscenario: scenario.yaml\nreplications: 40\nseed: 3\n{extra}plans:\n{plans}"))


def test_experiment_plans_shorthand_reference_and_errors_with_lines(tmp_path):
    path = plans_file(
        tmp_path,
        "  now: {}\n  later: {start: 2023-10-05T06:00:00Z}\n"
        "  covered: {set: {drones.bases.home.radius_km: 300}, description: wider ring}\n",
        "reference: later\n",
    )
    plans, loaded = resolve_plans([], path)
    assert [p.name for p in plans] == ["later", "now", "covered"]
    assert plans[0].scenario.start.day == 5 and plans[2].description == "wider ring"
    bad = plans_file(tmp_path, "  now: {}\n  fast: {convoy.vehicles: -4}\n")
    with pytest.raises(ExperimentError, match=r"exp.yaml:\d+: plans.fast.*rejects"):
        experiment_plans(load_experiment(bad))
    typo = plans_file(tmp_path, "  now: {}\n  fast: {convoy.sped_kmh: 4}\n")
    with pytest.raises(ExperimentError, match="did you mean 'convoy.speed_kmh'"):
        experiment_plans(load_experiment(typo))
    with pytest.raises(ExperimentError, match="reference 'nope' is not one of the plans"):
        load_experiment(plans_file(tmp_path, "  now: {}\n", "reference: nope\n"))


def test_an_experiment_needs_parameters_or_plans(tmp_path):
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(threatened_data()))
    with pytest.raises(ExperimentError, match="give parameters .* or plans"):
        load_experiment(write(tmp_path, "name: q\nscenario: scenario.yaml\nreplications: 5\n"))


def two_plans(**values) -> list[Plan]:
    base = set_values(source(), {})
    return [Plan("base", base, "test"), Plan("other", set_values(source(), values), "test", values)]


def test_identical_plans_differ_by_exactly_zero_on_common_streams():
    result = compare_plans(two_plans(), 30, seed=4)
    for d in result.differences:
        assert d.interval.estimate == 0 or math.isnan(d.interval.estimate), d.output
    assert result.difference("other", "vehicles_lost").width == 0.0


def test_pairing_reduces_variance_and_matches_a_hand_computed_difference():
    result = compare_plans(two_plans(**{"threats.ambush.hazard_per_h": 0.3}), 200, seed=2)
    d = result.difference("other", "ambushes")
    a, b = result.values["base"]["ambushes"], result.values["other"]["ambushes"]
    assert d.interval.estimate == pytest.approx(np.mean(b - a))
    assert d.var_paired == pytest.approx(np.var(b - a, ddof=1))
    assert d.variance_reduction > 1.5  # common random numbers pay off
    assert d.interval.low < d.interval.estimate < d.interval.high


def test_a_later_start_is_compared_in_calendar_time_and_duration_in_its_own():
    plans = two_plans(start="2023-10-03T06:00:00Z")
    result = compare_plans(plans, 20, seed=1)
    dest = "arrival_h.C"
    later, base = result.values["other"], result.values["base"]
    both = np.isfinite(later[dest]) & np.isfinite(base[dest])
    assert np.all(later[dest][both] - later["duration_h"][both] == pytest.approx(24.0))
    assert np.all(base[dest][both] == base["duration_h"][both])


def test_non_arrivals_leave_pairs_out_and_count_in_reached():
    a = np.array([1.0, 2.0, np.nan, 4.0])
    b = np.array([2.0, np.nan, 5.0, 6.0])
    d = paired_difference(a, b, "b", "a", "arrival_h.X")
    assert d.pairs == 2 and d.interval.estimate == pytest.approx(1.5)
    assert "left out" in NON_ARRIVALS
    assert math.isinf(mean_interval(np.array([3.0])).high)


def test_precision_grows_the_comparison_until_the_widest_interval_fits():
    plans = two_plans(**{"threats.ambush.hazard_per_h": 0.3})
    result = compare_until_precise(plans, 0.25, seed=5, outputs=["ambushes"], block=50, max_replications=2000)
    assert result.widest(["ambushes"])[0] <= 0.25
    assert result.replications > 50
    fresh = compare_plans(plans, result.replications, seed=5, outputs=["ambushes"])
    assert np.array_equal(fresh.values["other"]["ambushes"], result.values["other"]["ambushes"])


def test_the_folder_holds_tidy_tables_and_frames(tmp_path):
    result = compare_plans(two_plans(**{"threats.ambush.hazard_per_h": 0.3}), 20, seed=2)
    write_comparison(tmp_path / "c", result)
    for name in ("plans.csv", "runs.csv", "summary.csv", "differences.csv", "manifest.json"):
        assert (tmp_path / "c" / name).is_file()
    assert "np.float64" not in (tmp_path / "c" / "runs.csv").read_text()
    frame = result.to_frame()
    assert set(frame["statistic"]) == {"mean", "p10", "p50", "p90", "reached"}
    assert len(result.differences_frame()) == len(result.outputs)
    assert len(result.runs_frame()) == 40
