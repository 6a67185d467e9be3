"""Experiment files: schema, checks against the base scenario, and errors that name file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import write
from convoysim.cli import main
from convoysim.experiments import ExperimentError, load_experiment, output_names
from convoysim.sweep import prepare_sweep

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted((REPO / "experiments").glob("*.yaml"))


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
    path = write(tmp_path, """
        name: paired
        scenario: baseline
        parameters:
          threats.ied.detection_prob:
            levels: [0.0, 0.9]
            also: {threats.ied.clearance_speed_factor: [1.0, 0.25]}
        replications: 2
        """)
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
    ("""
     name: bad
     scenario: baseline
     parameters:
       drones.bases.gao.radius_kn:
         levels: [0, 100]
     replications: 3
     """, 4, ["parameters.drones.bases.gao.radius_kn", "did you mean 'drones.bases.gao.radius_km'"]),
    ("""
     name: bad
     scenario: baseline
     parameters:
       threats.ambush.hazard_per_h:
         levels: [0.01]
       threats.ied.detection_prob:
         levels: [0.5, 1.5]
     replications: 3
     """, 6, ["parameters.threats.ied.detection_prob", "1.5", "less than or equal to 1"]),
    ("""
     name: bad
     scenario: baseline
     parameters:
       threats.ied.detection_prob: {levels: [0.5]}
     replication: 3
     """, 5, ["unknown key 'replication'", "did you mean 'replications'"]),
    ("""
     name: bad
     scenario: baseline
     parameters:
       threats.ied.detection_prob: {levels: [0.5]}
     replications: 3
     outputs: [vehicles_lost, arrival_h.Kidel]
     """, 6, ["outputs[1]", "did you mean 'arrival_h.Kidal'"]),
    ("""
     name: bad
     scenario: baseline
     parameters:
       threats.ied.detection_prob: {low: 0.1, high: 0.9}
       convoy.speed_kmh.median: {low: 8, high: 20}
     design: {kind: sobol, points: 10}
     replications: 3
     """, 6, ["design", "power of two"]),
    ("""
     name: bad
     scenario: baseline
     parameters:
       threats.ied.detection_prob: {levels: [0.5]}
       convoy.speed_kmh.median: {low: 8, high: 20}
     design: {kind: latin_hypercube, points: 8}
     replications: 3
     """, 4, ["parameters.threats.ied.detection_prob", "give low and high"]),
    ("""
     name: bad
     scenario: baseline
     parameters:
       threats.ied.detection_prob: {low: 0.9, high: 0.1}
     design: saltelli
     replications: 3
     """, 4, ["must be above low"]),
    ("""
     name: bad
     scenario: nowhere
     parameters:
       threats.ied.detection_prob: {levels: [0.5]}
     replications: 3
     """, 2, ["scenario", "no such file"]),
    ("""
     name: bad
     scenario: baseline
     parameters:
       threats.ied.detection_prob:
         levels: [0.0, 0.9]
         also: {threats.ied.clearance_speed_factr: [1.0, 0.5]}
     replications: 3
     """, 6, ["did you mean 'threats.ied.clearance_speed_factor'"]),
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
