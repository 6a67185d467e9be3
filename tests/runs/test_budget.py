"""The work guard: estimates grow with what drives work, and a run above a limit is refused
before its first replication with the cause named."""

from __future__ import annotations

import pytest

from conftest import make_scenario, run_cli, write
from convoysim.model import compile_plan
from convoysim.runs import budget
from convoysim.runs.budget import WorkLimitError, check_work, estimate


def test_the_estimate_grows_with_each_cause():
    plain = estimate(compile_plan(make_scenario())).events
    ieds = estimate(compile_plan(make_scenario(threats={"ied": {"uncontested_per_100km": 50}}))).events
    breakdowns = estimate(compile_plan(make_scenario(convoy={"breakdowns": {"mean_km_between_failures": 10}}))).events
    assert ieds == pytest.approx(plain + 50 * 3)  # 300 km of road at 50 per 100 km
    assert breakdowns == pytest.approx(plain + 11 * 300 / 10)  # 11 vehicles, one failure per 10 km each


def test_the_estimate_bounds_what_a_replication_books():
    from convoysim import run_monte_carlo

    scenario = make_scenario(threats={"ied": {"uncontested_per_100km": 20}}, convoy={"breakdowns": {"mean_km_between_failures": 50}})
    run = run_monte_carlo(scenario, replications=40, seed=3)
    booked = sum(r.events for r in run.records) / len(run.records)
    assert booked <= estimate(compile_plan(scenario)).events


def test_a_run_above_the_event_limit_is_refused_with_its_cause():
    plan = compile_plan(make_scenario(threats={"ied": {"uncontested_per_100km": 900}}))
    with pytest.raises(WorkLimitError, match=r"IEDs \(threats.ied\)"):
        check_work(plan, 10, max_events=1_000)
    assert check_work(plan, 10, max_events=10_000).events > 2_700


def test_a_run_above_the_memory_limit_is_refused():
    plan = compile_plan(make_scenario())
    with pytest.raises(WorkLimitError, match="MB of records"):
        check_work(plan, 10_000_000, max_memory_mb=100)
    check_work(plan, 1_000, max_memory_mb=100)


def test_a_streamed_run_is_held_to_the_columns_it_keeps_not_its_records():
    plan = compile_plan(make_scenario(threats={"ied": {"uncontested_per_100km": 20}}))
    with pytest.raises(WorkLimitError, match="MB of records"):
        check_work(plan, 1_000_000, max_memory_mb=500)
    check_work(plan, 1_000_000, max_memory_mb=500, streamed_columns=len(plan.names) + 5)
    with pytest.raises(WorkLimitError, match="MB of records"):
        check_work(plan, 100_000_000, max_memory_mb=500, streamed_columns=len(plan.names) + 5)


def test_the_cli_refuses_before_running(tmp_path):
    path = write(tmp_path, """
        extends: baseline
        name: busy
        threats: {harassment: {per_night: 1000}}
        horizon_days: 3650
        convoy: {speed_kmh: 0.01}
        """, "busy.yaml")
    refused = run_cli(["run", str(path), "-n", "2", "--out", str(tmp_path / "r")])
    assert refused.exit_code == 2 and "raise --max-events" in refused.output
    assert not (tmp_path / "r").exists()
    assert f"{budget.DEFAULT_MAX_EVENTS:,}" in refused.output


def test_the_option_lowers_or_raises_the_limit(tmp_path):
    path = write(tmp_path, "extends: baseline\nname: quiet\n", "quiet.yaml")
    refused = run_cli(["run", str(path), "-n", "2", "--max-events", "10", "--out", str(tmp_path / "r")])
    assert refused.exit_code == 2 and "above the limit of 10 " in refused.output
    assert run_cli(["run", str(path), "-n", "2", "--max-events", "100000", "--out", str(tmp_path / "r")]).exit_code == 0


def test_march_units_and_drone_fleets_add_their_own_work():
    """A guard written for the one-body column must not miss the processes of march units and sorties."""
    one_unit = estimate(compile_plan(make_scenario())).parts
    three_units = estimate(compile_plan(make_scenario(convoy={"vehicles": 60}))).parts
    assert "march units following (convoy.march_units)" not in one_unit
    assert three_units["march units following (convoy.march_units)"] > 0

    from convoysim import load_scenario

    baseline = compile_plan(load_scenario("baseline"))
    no_fleet = compile_plan(load_scenario("no_drones"))
    assert estimate(baseline).parts["drone sorties (drones.bases.*.fleet)"] > 0
    assert "drone sorties (drones.bases.*.fleet)" not in estimate(no_fleet).parts


@pytest.mark.parametrize("name", ["baseline", "menaka-2018", "kidal-aguelhok"])
def test_the_estimate_bounds_what_a_shipped_scenario_books(name):
    from convoysim import load_scenario, run_monte_carlo

    scenario = load_scenario(name)
    run = run_monte_carlo(scenario, replications=20, seed=5)
    assert max(r.events for r in run.records) <= estimate(compile_plan(scenario)).events


def test_breakdowns_of_a_vehicle_type_count_in_the_estimate():
    """Each vehicle type may fail at its own rate: the guard must read the roster, not only the convoy's default."""
    typed = make_scenario(convoy={"vehicle_types": [{"name": "truck", "mean_km_between_failures": 10}],
                                  "march_units": [{"name": "a", "vehicles": {"truck": 11}}]})
    parts = estimate(compile_plan(typed)).parts
    assert parts["breakdowns (convoy.breakdowns)"] == pytest.approx(11 * 300 / 10)


def test_rest_halts_every_few_seconds_are_refused_before_running(tmp_path):
    """A mistyped rest-halt rhythm multiplies every follower's events: the guard names it."""
    path = write(tmp_path, "extends: baseline\nname: x\nconvoy: {rest_halts: {every_h: 1.0e-9}}\n", "s.yaml")
    refused = run_cli(["run", str(path), "-n", "2", "--out", str(tmp_path / "r")])
    assert refused.exit_code == 2 and "raise --max-events" in refused.output
    assert not (tmp_path / "r").exists()
