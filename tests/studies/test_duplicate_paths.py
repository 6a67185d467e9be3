"""One scenario value under two paths (issue 23, item 7): by index and by name it is the same
value, and a sweep would silently ignore one; it is refused with both paths named."""

from __future__ import annotations

import pytest
from conftest import run_cli, write

from convoysim.studies.experiments import ExperimentError, load_experiment

TWICE = """
    name: twice
    scenario: baseline
    replications: 2
    parameters:
      route.waypoints.8.ambush_factor: {levels: [1, 2]}
      route.waypoints.Kidal.ambush_factor: {levels: [1, 3]}
    """


def test_a_value_named_twice_is_refused_with_both_paths(tmp_path):
    with pytest.raises(ExperimentError) as caught:
        load_experiment(write(tmp_path, TWICE))
    assert "'route.waypoints.Kidal.ambush_factor' and 'route.waypoints.8.ambush_factor' name the same value" in str(
        caught.value
    )
    assert caught.value.line == 6


def test_an_also_path_naming_the_varied_value_is_refused(tmp_path):
    text = TWICE.replace("      route.waypoints.Kidal.ambush_factor: {levels: [1, 3]}\n", "").replace(
        "{levels: [1, 2]}", "{levels: [1, 2], also: {route.waypoints.Kidal.ambush_factor: [1, 3]}}"
    )
    with pytest.raises(ExperimentError, match="name the same value"):
        load_experiment(write(tmp_path, text))


def test_the_cli_writes_nothing(tmp_path):
    result = run_cli(["sweep", str(write(tmp_path, TWICE)), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert not (tmp_path / "out").exists()
