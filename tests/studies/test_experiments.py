"""Experiment files: schema, checks against the base scenario, and errors that name file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write

from convoysim.commands.cli import main
from convoysim.studies.experiments import ExperimentError, load_experiment, output_names
from convoysim.studies.sweep import prepare_sweep

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "src" / "convoysim" / "experiment_files").glob("*.yaml"))


GOOD = """
    name: tiny
    scenario: baseline
    parameters:
      drones.bases.gao.radius_km:
        levels: [0, 300]
    replications: 3
    """


def test_shipped_experiments_load_and_build_every_point():
    assert len(SHIPPED) >= 4
    for path in SHIPPED:
        loaded = load_experiment(path)
        if not loaded.experiment.parameters:  # a plans experiment (convoysim compare): build every plan
            from convoysim.studies.plans import experiment_plans

            assert len(experiment_plans(loaded)) > 1
            continue
        sweep = prepare_sweep(loaded)
        assert len(sweep.scenarios) == len(sweep.points) > 1
        assert loaded.experiment.question.strip(), f"{path.name} should state its question"


def test_defaults_seed_and_outputs_come_from_the_scenario(tmp_path):
    loaded = load_experiment(write(tmp_path, GOOD))
    assert loaded.seed == loaded.base.montecarlo.seed
    assert loaded.outputs == ["arrival_h.Kidal", "vehicles_lost", "incidents"]
    assert set(loaded.outputs) <= set(output_names(loaded.base.waypoint_names))


def test_radius_km_replaces_radius_mi_at_each_point(tmp_path):
    sweep = prepare_sweep(load_experiment(write(tmp_path, GOOD)))
    radii = [sc.drones.bases["gao"].coverage_radius_km for sc in sweep.scenarios]
    assert radii == [0.0, 300.0]


def test_also_sets_paired_paths(tmp_path):
    path = write(
        tmp_path,
        """
        name: paired
        scenario: baseline
        parameters:
          threats.ied.detection_prob:
            levels: [0.0, 0.9]
            also: {threats.ied.clearance_speed_factor: [1.0, 0.25]}
        replications: 2
        """,
    )
    sweep = prepare_sweep(load_experiment(path))
    pairs = [(sc.threats.ied.detection_prob, sc.threats.ied.clearance_speed_factor) for sc in sweep.scenarios]
    assert pairs == [(0.0, 1.0), (0.9, 0.25)]


def test_fingerprint_ignores_comments_but_not_levels(tmp_path):
    a = load_experiment(write(tmp_path, GOOD, "a.yaml")).fingerprint()
    b = load_experiment(write(tmp_path, "# a comment\n" + textwrap.dedent(GOOD), "b.yaml")).fingerprint()
    c = load_experiment(write(tmp_path, GOOD.replace("[0, 300]", "[0, 301]"), "c.yaml")).fingerprint()
    assert a == b != c


BAD = [
    # (file body, line, words the message must contain)
    (
        """
     name: bad
     scenario: baseline
     parameters:
       drones.bases.gao.radius_kn:
         levels: [0, 100]
     replications: 3
     """,
        4,
        ["parameters.drones.bases.gao.radius_kn", "did you mean 'drones.bases.gao.radius_km'"],
    ),
    (
        """
     name: bad
     scenario: baseline
     parameters:
       threats.ambush.hazard_per_h:
         levels: [0.01]
       threats.ied.detection_prob:
         levels: [0.5, 1.5]
     replications: 3
     """,
        6,
        ["parameters.threats.ied.detection_prob", "1.5", "less than or equal to 1"],
    ),
    (
        """
     name: bad
     scenario: baseline
     parameters:
       threats.ied.detection_prob: {levels: [0.5]}
     replication: 3
     """,
        5,
        ["unknown key 'replication'", "did you mean 'replications'"],
    ),
    (
        """
     name: bad
     scenario: baseline
     parameters:
       threats.ied.detection_prob: {levels: [0.5]}
     replications: 3
     outputs: [vehicles_lost, arrival_h.Kidel]
     """,
        6,
        ["outputs[1]", "did you mean 'arrival_h.Kidal'"],
    ),
    (
        """
     name: bad
     scenario: baseline
     parameters:
       threats.ied.detection_prob: {low: 0.1, high: 0.9}
       convoy.speed_kmh.median: {low: 8, high: 20}
     design: {kind: sobol, points: 10}
     replications: 3
     """,
        6,
        ["design", "power of two"],
    ),
    (
        """
     name: bad
     scenario: baseline
     parameters:
       threats.ied.detection_prob: {levels: [0.5]}
       convoy.speed_kmh.median: {low: 8, high: 20}
     design: {kind: latin_hypercube, points: 8}
     replications: 3
     """,
        4,
        ["parameters.threats.ied.detection_prob", "give low and high"],
    ),
    (
        """
     name: bad
     scenario: baseline
     parameters:
       threats.ied.detection_prob: {low: 0.9, high: 0.1}
     design: saltelli
     replications: 3
     """,
        4,
        ["must be above low"],
    ),
    (
        """
     name: bad
     scenario: nowhere
     parameters:
       threats.ied.detection_prob: {levels: [0.5]}
     replications: 3
     """,
        2,
        ["scenario", "no such file"],
    ),
    (
        """
     name: bad
     scenario: baseline
     parameters:
       threats.ied.detection_prob:
         levels: [0.0, 0.9]
         also: {threats.ied.clearance_speed_factr: [1.0, 0.5]}
     replications: 3
     """,
        6,
        ["did you mean 'threats.ied.clearance_speed_factor'"],
    ),
]


@pytest.mark.parametrize("body,line,words", BAD)
def test_bad_experiment_is_reported_at_its_line(tmp_path, body, line, words):
    path = write(tmp_path, body)
    with pytest.raises(ExperimentError) as caught:
        prepare_sweep(load_experiment(path))
    assert caught.value.line == line, str(caught.value)
    for word in words:
        assert word in str(caught.value)


@pytest.mark.parametrize("body,line,words", BAD[:4])
def test_bad_experiment_through_the_cli_exits_2_before_any_work(tmp_path, body, line, words):
    path = write(tmp_path, body)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["sweep", str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert "Traceback" not in message and len(message.splitlines()) == 1, message
    assert f"{path}:{line}:" in message
    assert not out.exists(), "nothing may be written when the experiment is rejected"


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path, "name: bad\nparameters: [unclosed\nreplications: 3\n")
    with pytest.raises(ExperimentError) as caught:
        load_experiment(path)
    assert caught.value.line is not None and "YAML" in caught.value.reason


def test_shipped_experiment_by_bare_name_from_another_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    loaded = load_experiment("drone-radius")
    assert loaded.experiment.name == "drone-radius"
    assert Path(loaded.file).is_file() and Path(loaded.file).resolve().parent.name == "experiment_files"
    assert loaded.base.name == load_experiment("drone-radius.yaml").base.name


def test_cli_finds_a_shipped_experiment_by_name_from_another_directory(tmp_path, monkeypatch):
    from convoysim.studies.sweep import DaskExecutor

    # The experiment is found, checked and its points built; only the (unreachable) scheduler fails.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(DaskExecutor, "connect_timeout_s", 1)
    result = CliRunner().invoke(
        main,
        [
            "sweep",
            "drone-radius",
            "--executor",
            "dask",
            "--scheduler",
            "tcp://127.0.0.1:9",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "cannot reach the Dask scheduler" in result.output and "no such file" not in result.output


def test_unknown_experiment_name_lists_the_shipped_ones(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["sweep", "drone-radios"])
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert message.count("\n") == 0 and "drone-radios" in message and "no such file" in message
    for path in SHIPPED:
        assert path.stem in message


def test_a_scenario_file_given_to_sweep_says_to_use_run(tmp_path):
    scenario = REPO / "scenarios" / "baseline.yaml"
    result = CliRunner().invoke(main, ["sweep", str(scenario), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert "this is a scenario file" in message and "convoysim run" in message and str(scenario) in message
    assert "did you mean" not in message and "Traceback" not in message and message.count("\n") == 0
    assert not (tmp_path / "o").exists()


def test_a_scenario_variant_given_to_sweep_says_to_use_run(tmp_path):
    path = write(tmp_path, "extends: baseline\nname: faster\n")
    result = CliRunner().invoke(main, ["sweep", str(path)])
    assert result.exit_code == 2 and "this is a scenario file" in result.output, result.output


def test_an_experiment_with_a_misspelt_key_still_gets_the_suggestion(tmp_path):
    path = write(tmp_path, textwrap.dedent(GOOD) + "description: why\n")
    with pytest.raises(ExperimentError) as caught:
        load_experiment(path)
    assert "did you mean 'question'" in str(caught.value)


def test_drone_radius_comments_match_the_baseline_geography():
    # The shipped drone-radius experiment explains its rows with these distances; keep them true.
    from convoysim.geo import great_circle_km, ring_intervals
    from convoysim.scenario.loading import load_scenario

    waypoints = load_scenario("baseline").route.waypoints
    at = {w.name: w for w in waypoints}
    placed = [w for w in waypoints if w.lat is not None]
    gao, kidal = at["Gao"], at["Kidal"]
    assert round(great_circle_km(gao.lat, gao.lon, kidal.lat, kidal.lon)) == 287
    ring = ring_intervals(
        [w.road_km for w in placed], [w.lat for w in placed], [w.lon for w in placed], (gao.lat, gao.lon), 241.0
    )
    assert len(ring) == 1 and at["Techanaght"].road_km < ring[0][1] < at["Alkit valley"].road_km
    assert round(ring[0][1]) == 286
    text = (REPO / "experiments" / "drone-radius.yaml").read_text()
    assert "287" in text and "road km 286" in text and "near Anefis" not in text
