"""The trace reads as a story: days for long halts, '1 vehicle', drone cover left and entered, and
any replication can be traced so that it matches `animate -r N`."""

from __future__ import annotations

import copy
import csv
import re

import pytest
from conftest import run_cli, threatened_data

from convoysim.model import compile_plan
from convoysim.runs.montecarlo import run_replications
from convoysim.runs.timetext import day_time
from convoysim.runs.trace import cover_changes, drone_cover, format_trace, plain
from convoysim.scenario.loading import ScenarioSource, build_scenario, load_scenario


def test_long_durations_read_in_days_and_one_vehicle_is_singular():
    assert (
        plain("halts at Techanaght for 762.5 h: operational pause")
        == "halts at Techanaght for 31 d 18 h: operational pause"
        or plain("halts at Techanaght for 762.5 h: operational pause")
        == "halts at Techanaght for 31 d 19 h: operational pause"
    )
    assert plain("night halt at km 145 for 7.5 h") == "night halt at km 145 for 7.5 h"
    assert plain("an IED strikes the column: 1 vehicles destroyed") == "an IED strikes the column: 1 vehicle destroyed"
    assert plain("11 vehicles lost") == "11 vehicles lost"


def test_the_trace_says_where_the_column_leaves_and_enters_drone_cover():
    data = copy.deepcopy(threatened_data())
    data["drones"]["bases"]["home"]["active_from"] = "2023-10-03T00:00:00Z"  # after the 2 October 06:00 start
    plan = compile_plan(build_scenario(ScenarioSource(data)))
    (record,) = run_replications(plan, 1, [0], trace=True, track=True)
    changes = cover_changes(record, plan)
    texts = [t for _, t in changes]
    assert any("comes under drone cover of the Home ring" in t for t in texts), texts
    edge_km = plan.coverage.rings[0].intervals_km[0][1]
    if record.end_km > edge_km:
        leaving = [(t, text) for t, text in changes if "leaves drone cover" in text]
        assert leaving and abs(float(leaving[0][1].split("km ")[1]) - edge_km) <= 5
    story = format_trace(record, plan)
    assert story.index("comes under drone cover") > story.index("leaves A")


def test_any_replication_can_be_traced_and_is_tracked_for_the_animation(tmp_path, write_yaml):
    out = tmp_path / "run"
    result = run_cli(["run", str(write_yaml(threatened_data())), "-n", "60", "--trace", "55", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("replication 55;")
    with (out / "tracks.csv").open() as fh:
        tracked = {int(row["replication"]) for row in csv.DictReader(fh)}
    assert 55 in tracked
    with (out / "replications.csv").open() as fh:
        row = list(csv.DictReader(fh))[55]
    assert result.output.count("ambush at km") == int(row["ambushes"])


def test_tracing_a_replication_the_run_does_not_have_is_refused(write_yaml):
    result = run_cli(["run", str(write_yaml(threatened_data())), "-n", "5", "--trace", "7"])
    assert result.exit_code == 2 and "replications 0-4" in result.output


@pytest.fixture(scope="module")
def baseline_7():
    """Replication 7 of the baseline, as the README's class command traces it."""
    scenario = load_scenario("baseline")
    plan = compile_plan(scenario)
    (record,) = run_replications(plan, scenario.montecarlo.seed, [7], trace=True, track=True)
    return record, plan


def test_drones_are_summed_up_not_listed_sortie_by_sortie(baseline_7):
    record, plan = baseline_7
    lines = format_trace(record, plan).splitlines()
    about_drones = [line for line in lines if line[14:].startswith("drone")]
    assert len(about_drones) <= 0.25 * len(lines), f"{len(about_drones)} of {len(lines)} lines are about drones"
    assert not any("takes off" in line for line in lines)
    flown = sum(
        int(re.search(r": (\d+) sorties?", line).group(1)) for line in about_drones if line[14:].startswith("drones ")
    )
    assert flown == record.sorties, "the daily lines count every sortie once"
    every = format_trace(record, plan, sorties=True)
    assert (
        every.count("takes off") == record.sorties and every.count("on station over the column") >= record.sorties - 1
    )


def test_cover_gained_and_lost_adds_up_to_the_record(baseline_7):
    record, plan = baseline_7
    told = [(t, text) for t, text in record.trace]
    _, stretches = drone_cover(told)
    assert all(a < b for a, b in stretches) and all(b1 <= a2 for (_, b1), (a2, _) in zip(stretches, stretches[1:]))
    assert sum(b - a for a, b in stretches) == pytest.approx(record.drone_cover_h, rel=0.03)


def test_each_evacuation_is_told_by_air_or_by_road(baseline_7):
    record, plan = baseline_7
    story = format_trace(record, plan)
    assert record.casevacs_air + record.casevacs_ground > 0
    assert story.count("evacuated by air") == record.casevacs_air
    assert story.count("evacuated by road") == record.casevacs_ground


def test_every_instant_is_a_date_never_a_model_hour(baseline_7):
    record, plan = baseline_7
    story = format_trace(record, plan)
    assert not re.search(r"\b(at|until) (\d+ d )?\d+(\.\d+)? h\)", story), "an instant given in model hours"
    decision = next(line for line in story.splitlines() if "decision to resume" in line)
    assert re.search(r"in this replication on \d\d [A-Z][a-z]{2} \d\d:\d\d\)", decision), decision
    assert (
        plain("waits (in this replication at 926 h) and 14 h more", plan.start)
        == f"waits (in this replication on {day_time(plan.start, 926)}) and 14 h more"
    )
