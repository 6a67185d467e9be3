"""vehicles.csv and units.csv: what became of each vehicle, and where each march unit was."""

import csv

from conftest import threatened_data

from convoysim import compare_run, run_monte_carlo
from convoysim.figures.timedistance import time_distance_chart
from convoysim.runs.montecarlo import run_replications
from convoysim.runs.reading import load_run
from convoysim.runs.writing import write_run
from convoysim.scenario.loading import ScenarioSource, build_scenario


def test_vehicles_and_units_files_match_the_records(tmp_path):
    data = threatened_data()
    data["convoy"].update(vehicles=30, max_unit_vehicles=10)
    run = run_monte_carlo(build_scenario(ScenarioSource(data)), replications=8, seed=3)
    tracks = run_replications(run.plan, run.seed, range(3), track=True)
    out = write_run(tmp_path / "run", run, compare_run(run), None, tracks=tracks)
    with open(out / "vehicles.csv", newline="") as fh:
        vehicles = list(csv.DictReader(fh))
    assert len(vehicles) == sum(len(r.fates) for r in run.records) > 0
    gone = [v for v in vehicles if v["fate"] in ("destroyed", "abandoned")]
    assert len(gone) == sum(sum(r.lost.values()) for r in run.records)
    assert {v["march_unit"] for v in vehicles} <= {"unit 1", "unit 2", "unit 3"}
    with open(out / "units.csv", newline="") as fh:
        units = list(csv.DictReader(fh))
    assert {(int(u["replication"]), int(u["unit"])) for u in units} == {(r, u) for r in range(3) for u in range(3)}
    assert all(float(u["tail_km"]) <= float(u["head_km"]) for u in units)
    loaded = load_run(out)
    assert sorted(loaded.columns) == [0, 1, 2]
    t, head, tail = loaded.columns[0]
    assert (tail <= head + 1e-9).all()
    fig = time_distance_chart(loaded)
    assert any(artist.get_gid() == "column" for artist in fig.axes[0].collections)
