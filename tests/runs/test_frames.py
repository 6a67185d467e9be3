"""The Python API a notebook uses: validated changes by path, tidy DataFrames, figures from memory."""

from __future__ import annotations

import builtins
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_scenario, threatened_data

from convoysim.figures import time_distance_chart
from convoysim.runs.compare import compare_run
from convoysim.runs.frames import naive_utc
from convoysim.runs.montecarlo import run_monte_carlo
from convoysim.runs.reading import load_run
from convoysim.runs.writing import write_run
from convoysim.scenario.loading import ScenarioError, ScenarioSource, build_scenario
from convoysim.scenario.paths import ParameterPathError


def test_with_values_returns_a_validated_copy():
    base = make_scenario()
    changed = base.with_values({"convoy.vehicles": 60, "route.waypoints.B.ambush_factor": 2.5})
    assert changed.convoy.vehicles == 60 and changed.route.waypoints[1].ambush_factor == 2.5
    assert base.convoy.vehicles == 11, "the original is untouched"


def test_with_values_refuses_nonsense_like_the_cli():
    with pytest.raises(ScenarioError, match=r"plain \(with_values\): convoy.vehicles: .*greater than 0"):
        make_scenario().with_values({"convoy.vehicles": -5})
    with pytest.raises(ParameterPathError, match="did you mean 'convoy.vehicles'"):
        make_scenario().with_values({"convoy.vehicle": 5})


def test_assigning_to_a_frozen_scenario_says_what_to_do_instead():
    scenario = make_scenario()
    with pytest.raises(AttributeError, match=r"cannot set 'vehicles'.*with_values"):
        scenario.convoy.vehicles = 60  # type: ignore[misc]


@pytest.fixture(scope="module")
def small_run():
    scenario = build_scenario(ScenarioSource(threatened_data()))
    return run_monte_carlo(scenario, replications=12, seed=4)


def test_run_to_frame_has_one_row_per_replication_and_dated_arrivals(small_run):
    df = small_run.to_frame()
    assert len(df) == 12 and list(df["replication"]) == list(range(12))
    assert str(df["arrival_C"].dtype) == "datetime64[ns, UTC]"
    first = small_run.records[0]
    if math.isnan(first.arrival_h[-1]):
        assert pd.isna(df["arrival_C"][0])
    else:
        expected = pd.Timestamp(small_run.plan.start) + pd.Timedelta(hours=first.arrival_h[-1])
        assert abs(df["arrival_C"][0] - expected) < pd.Timedelta(seconds=1)
    assert df["vehicles_lost"].sum() == sum(sum(r.lost.values()) for r in small_run.records)


def test_every_datetime_column_has_one_unit(small_run):
    """The first waypoint's arrivals (all at hour 0) came out in microseconds, the others in ns."""
    units = {str(t) for t in small_run.to_frame().dtypes if "datetime" in str(t)}
    assert units == {"datetime64[ns, UTC]"}


def test_the_excel_path_writes_and_reads_back_the_same_utc_instants(small_run, tmp_path):
    pytest.importorskip("openpyxl", reason="openpyxl is in the teach and test extras")
    df = small_run.to_frame()
    with pytest.raises(ValueError, match="timezones"):  # what a student meets without tz=None
        df.to_excel(tmp_path / "aware.xlsx")
    small_run.to_frame(tz=None).to_excel(tmp_path / "runs.xlsx", index=False)
    back = pd.read_excel(tmp_path / "runs.xlsx")
    expected = df["arrival_C"].dt.tz_localize(None)
    assert (back["arrival_C"].isna() == expected.isna()).all()
    assert (back["arrival_C"].dropna().astype("datetime64[ns]") == expected.dropna()).all()
    assert naive_utc(small_run.milestones_frame())["arrival"].dt.tz is None


def test_readme_frame_examples_show_what_they_claim(small_run):
    """Each `print(df...describe())` of the README shows every column it names."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    lines = re.findall(r"^print\((df\[.*?\]\.describe\(\))\)", readme, flags=re.M)
    assert len(lines) >= 2
    df = small_run.to_frame().rename(columns={"arrival_C": "arrival_Kidal"})
    for line in lines:
        shown = str(eval(line, {"df": df}))  # noqa: S307 - the README's own line
        for column in re.findall(r'"([^"]+)"', line):
            assert column in shown, f"{line} hides {column}"


def test_load_sweep_and_load_run_come_from_the_package_root():
    import convoysim
    from convoysim.runs.reading import load_run, load_sweep

    assert convoysim.load_sweep is load_sweep and convoysim.load_run is load_run


def test_milestones_frame_is_long(small_run):
    df = small_run.milestones_frame()
    assert len(df) == 12 * 3 and set(df["waypoint"]) == {"A", "B", "C"}
    never = df["arrival_h"].isna()
    assert (df["arrival"].isna() == never).all()


def test_a_missing_pandas_is_named_with_the_install_command(small_run, monkeypatch):
    real = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas":
            raise ImportError("No module named 'pandas'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(ImportError, match=r"convoysim\[teach\]"):
        small_run.to_frame()


def test_in_memory_figure_data_matches_the_run_directory(small_run, tmp_path):
    memory = small_run.figure_data(tracked=5)
    from convoysim.runs.montecarlo import run_replications

    tracks = run_replications(small_run.plan, small_run.seed, range(5), track=True)
    disk = load_run(write_run(tmp_path / "run", small_run, compare_run(small_run), None, tracks=tracks))
    np.testing.assert_allclose(memory.arrivals_h, disk.arrivals_h)
    np.testing.assert_allclose(memory.departures_h, disk.departures_h)
    assert memory.comparison == [
        {k: (float(v) if k in ("hit_rate", "percentile", "crps_h") else v) for k, v in row.items()}
        for row in disk.comparison
    ]
    assert sorted(memory.tracks) == sorted(disk.tracks)
    for name in disk.replications:
        np.testing.assert_allclose(memory.replications[name], disk.replications[name])
    fig = time_distance_chart(memory)
    assert fig.axes[0].get_title().startswith("plain")


def test_comparison_frame_writes_each_documented_window_whole():
    from convoysim.runs.frames import comparison_frame
    from convoysim.scenario.loading import load_scenario

    run = run_monte_carlo(load_scenario("baseline"), replications=30, seed=2)
    df = comparison_frame(compare_run(run), run.plan.start)
    anefis = df[df["waypoint"] == "Anefis"].iloc[0]
    assert anefis["documented"] == "05 Oct-07 Oct 12:00"
    assert df[df["waypoint"] == "Kidal"].iloc[0]["documented"] == "14 Nov"
    assert str(df["p50"].dtype) == "datetime64[ns, UTC]" and list(df.columns)[:5] == [
        "waypoint",
        "documented",
        "p10",
        "p50",
        "p90",
    ]


def test_sweep_directory_frame_has_points_summaries_and_dated_arrivals(tmp_path):
    import json

    from conftest import make_sweep

    from convoysim.runs.reading import load_sweep

    folder = make_sweep(tmp_path / "s", {"threats.ied.per_100km": [0.5, 1.0]}, {"arrival_h.Kidal": lambda d: 1000 + d})
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "start": "2023-10-02T07:00:00Z"}))
    df = load_sweep(folder).to_frame()
    assert list(df["threats.ied.per_100km"]) == [0.5, 1.0]
    assert list(df["arrival_h.Kidal_mean"]) == [1000.5, 1001.0]
    expected = pd.Timestamp("2023-10-02T07:00:00Z") + pd.Timedelta(hours=1000.5)
    assert df["arrival.Kidal_mean"][0] == expected
    assert "arrival.Kidal_sd" not in df, "a spread stays in hours"


def test_posterior_frame_has_one_row_per_particle_with_named_parameters():
    from convoysim.calibration.abc import Population, UniformPrior
    from convoysim.calibration.store import posterior_frame

    pop = Population(
        generation=2,
        epsilon=5.0,
        particles=np.array([[10.0, 0.02], [12.0, 0.05], [8.0, 0.01]]),
        weights=np.array([0.5, 0.3, 0.2]),
        distances=np.array([1.0, 2.0, 3.0]),
        evaluations=9,
    )
    priors = [UniformPrior("convoy.speed_kmh.median", 3, 20), UniformPrior("threats.ambush.hazard_per_h", 0, 0.1)]
    df = posterior_frame(pop, priors)
    assert list(df.columns) == [
        "particle",
        "weight",
        "distance_h",
        "convoy.speed_kmh.median",
        "threats.ambush.hazard_per_h",
    ]
    assert df["weight"].sum() == pytest.approx(1.0) and list(df["convoy.speed_kmh.median"]) == [10.0, 12.0, 8.0]
