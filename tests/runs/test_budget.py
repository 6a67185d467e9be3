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

    scenario = make_scenario(
        threats={"ied": {"uncontested_per_100km": 20}}, convoy={"breakdowns": {"mean_km_between_failures": 50}}
    )
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
    path = write(
        tmp_path,
        """
        extends: baseline
        name: busy
        threats: {harassment: {per_night: 1000}}
        horizon_days: 3650
        convoy: {speed_kmh: 0.01}
        """,
        "busy.yaml",
    )
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
    typed = make_scenario(
        convoy={
            "vehicle_types": [{"name": "truck", "mean_km_between_failures": 10}],
            "march_units": [{"name": "a", "vehicles": {"truck": 11}}],
        }
    )
    parts = estimate(compile_plan(typed)).parts
    assert parts["breakdowns (convoy.breakdowns)"] == pytest.approx(11 * 300 / 10)


def test_rest_halts_every_few_seconds_are_refused_before_running(tmp_path):
    """A mistyped rest-halt rhythm multiplies every follower's events: the guard names it."""
    path = write(tmp_path, "extends: baseline\nname: x\nconvoy: {rest_halts: {every_h: 1.0e-9}}\n", "s.yaml")
    refused = run_cli(["run", str(path), "-n", "2", "--out", str(tmp_path / "r")])
    assert refused.exit_code == 2 and "raise --max-events" in refused.output
    assert not (tmp_path / "r").exists()


# -- every multiplier a scenario can express (issue 23, item 4) -------------------------------------


def _booked(data, replications=6):
    """The estimate, and the most events, units.csv rows and track points one tracked replication booked."""
    from conftest import threatened_data  # noqa: F401 - the fixtures' scenarios

    from convoysim.runs.montecarlo import run_replications
    from convoysim.scenario.loading import ScenarioSource, build_scenario

    plan = compile_plan(build_scenario(ScenarioSource(data)))
    records = run_replications(plan, 7, range(replications), track=True)
    return (
        estimate(plan),
        max(r.events for r in records),
        max(len(r.units) for r in records),
        max(len(r.track or ()) for r in records),
    )


def _threatened(**convoy):
    from conftest import threatened_data

    data = threatened_data()
    data["convoy"].update(convoy)
    return data


def _ied_schedule():
    data = _threatened(vehicles=20)
    data["threats"]["ied"].update(vehicles_destroyed=0, schedule=[{"factor": 30}])
    return data


def _ambush_schedule():
    data = _threatened(vehicles=20)
    data["threats"]["ambush"].update(vehicles_lost=0, schedule=[{"factor": 5}, {"factor": 4}])
    return data


def _many_periods():
    data = _threatened()
    data["threats"]["ambush"]["schedule"] = [
        {"from_date": f"2023-10-02T{h:02d}:00:00Z", "until_date": f"2023-10-02T{h:02d}:30:00Z", "factor": 2}
        for h in range(6, 20)
    ]
    return data


def _march_units():
    return _threatened(vehicles=60, max_unit_vehicles=1)


def _positions():
    data = _threatened(vehicles=200)
    data["threats"]["positions"] = [
        {"name": f"p{k}", "road_km": 2 * k + 1, "vehicles_hit": 3, "bypass_prob": 0.0} for k in range(60)
    ]
    return data


def _airframes():
    data = _threatened()
    data["drones"] = {
        "bases": {
            "b": {
                "lat": 16.0,
                "lon": 0.0,
                "radius_km": 2000,
                "fleet": {"airframes": 100, "endurance_h": 1, "cruise_kmh": 100},
            }
        }
    }
    return data


@pytest.mark.parametrize("make", [_ied_schedule, _ambush_schedule, _many_periods, _march_units, _positions, _airframes])
def test_each_multiplier_is_estimated_at_least_as_it_is_booked(make):
    work, events, unit_rows, track_points = _booked(make())
    assert events <= work.events
    assert unit_rows <= work.unit_points, "units.csv rows of a tracked replication"
    assert track_points <= work.events, "tracks.csv points of a tracked replication"


def test_overlapping_periods_multiply_in_the_estimate():
    """Two periods of factor 1,000 make IEDs a million times denser: refused, not run for minutes."""
    data = _threatened()
    data["threats"]["ied"]["schedule"] = [{"factor": 1000}, {"factor": 1000}]
    with pytest.raises(WorkLimitError, match=r"IEDs \(threats.ied\)"):
        check_work(compile_plan(make_scenario(**{k: v for k, v in data.items() if k != "name"})), 1)


def test_tracked_replications_of_many_march_units_are_refused_for_memory():
    """1,000 one-vehicle units: the tracked replications' units.csv rows, not the records, fill memory."""
    from convoysim import load_scenario

    scenario = load_scenario("baseline")
    scenario = scenario.model_copy(
        update={
            "convoy": scenario.convoy.model_copy(update={"vehicles": 1000, "max_unit_vehicles": 1, "march_units": []})
        }
    )
    with pytest.raises(WorkLimitError, match="tracked replications"):
        check_work(compile_plan(scenario), 60, tracked=50)
