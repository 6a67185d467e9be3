"""Shared test material: small scenarios built in code (so each test states exactly what it
depends on), and small real runs and synthetic sweep directories for the figure, report and
animation tests."""

from __future__ import annotations

import copy
import csv
import json
import textwrap
from pathlib import Path
from typing import Any

import matplotlib
import pytest
import yaml
from click.testing import CliRunner

from convoysim.commands.cli import main
from convoysim.scenario.loading import ScenarioSource, build_scenario, read_source
from convoysim.scenario.schema import Scenario

matplotlib.use("Agg")

PLAIN: dict[str, Any] = {
    "name": "plain",
    "start": "2023-10-02T06:00:00Z",
    "horizon_days": 10,
    "route": {
        "waypoints": [
            {"name": "A", "lat": 16.0, "lon": 0.0, "road_km": 0},
            {"name": "B", "road_km": 100},
            {"name": "C", "lat": 18.0, "lon": 1.0, "road_km": 300},
        ]
    },
    "convoy": {
        "vehicles": 11,
        "interval_m": 500,
        "speed_kmh": 20,
        "march_windows": [{"from_h": 6, "to_h": 18}],
    },
    "halts": {"at_waypoints": [{"waypoint": "B", "duration_h": 2}]},
}
"""No threats, fixed speed: every time in it can be worked out by hand."""


def scenario_data(**changes: Any) -> dict[str, Any]:
    """A copy of PLAIN with top-level sections replaced or merged (dicts merge one level deep)."""
    data = copy.deepcopy(PLAIN)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def make_scenario(**changes: Any) -> Scenario:
    return build_scenario(ScenarioSource(scenario_data(**changes)))


SYNTHETIC = """\
name: synthetic
start: 2023-01-01T06:00:00Z
horizon_days: 10
route:
  waypoints:
    - {name: A, lat: 16.0, lon: 0.0, road_km: 0}
    - {name: B, road_km: 100}
    - {name: C, road_km: 200}
    - {name: D, lat: 19.0, lon: 0.5, road_km: 400}
convoy:
  vehicles: 20
  speed_kmh: {dist: lognormal, median: 15, sigma: 0.1}
halts:
  at_waypoints:
    - {waypoint: B, duration_h: {dist: lognormal, median: 10, sigma: 0.2}}
montecarlo: {replications: 50, seed: 11}
"""
"""Four places on a 400 km road, for the calibration tests: the halt at B and the speed are the
parameters to recover."""


THREATENED = {
    "threats": {
        "ied": {
            "per_100km": 2.0,
            "detection_prob": 0.3,
            "vehicles_destroyed": {"dist": "integers", "low": 1, "high": 3},
            "delay_h": {"dist": "uniform", "low": 1, "high": 4},
            "clearance_delay_h": 0.5,
        },
        "ambush": {
            "hazard_per_h": 0.2,
            "engagement_h": {"dist": "lognormal", "median": 3, "sigma": 0.7},
            "vehicles_lost": {"dist": "poisson", "mean": 1.0},
            "halt_prob": 0.5,
            "regroup_h": {"dist": "triangular", "low": 1, "mode": 3, "high": 8},
        },
        "harassment": {
            "per_night": 1.5,
            "delay_h": {"dist": "exponential", "mean": 1.0},
            "vehicles_lost": {"dist": "integers", "low": 0, "high": 1},
        },
    },
    "drones": {
        "hazard_factor": 0.3,
        "engagement_factor": 0.5,
        "bases": {"home": {"lat": 16.0, "lon": 0.0, "radius_km": 120, "active_from": "2023-10-03T00:00:00Z"}},
    },
}


def threatened_data(**changes: Any) -> dict[str, Any]:
    data = scenario_data(**copy.deepcopy(THREATENED))  # tests change their copy in place
    data["route"]["waypoints"][1]["contested"] = True
    data["route"]["waypoints"][2]["contested"] = True
    data["convoy"]["breakdowns"] = {
        "mean_km_between_failures": 400,
        "repair_h": {"dist": "exponential", "mean": 1.0},
        "abandon_after_h": 1.5,
    }
    for key, value in changes.items():
        data[key] = value
    return data


TWO_POINTS = """
    name: two-points
    scenario: baseline
    parameters:
      threats.ambush.hazard_per_h: {levels: [0.02, 0.08]}
    replications: 2
    seed: 3
    outputs: [arrival_h.Kidal]
    """
"""The smallest sweep of the baseline: two points of two replications."""


def write(tmp_path: Path, text: str, name: str = "exp.yaml") -> Path:
    """Write indented YAML text from a test (dedented) into the test's folder."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.fixture
def replication_raises(monkeypatch):
    """Make one replication raise, as a model bug would: call it with the replication's index and
    the error's message; every other replication runs the real model."""
    import convoysim.runs.montecarlo as montecarlo

    real = montecarlo.replicate

    def arm(failing: int, message: str = "boom") -> None:
        def flaky(plan, rng, i, trace=False, track=False):
            if i == failing:
                raise RuntimeError(message)
            return real(plan, rng, i, trace, track)

        monkeypatch.setattr(montecarlo, "replicate", flaky)

    return arm


@pytest.fixture
def write_yaml(tmp_path: Path):
    """Write a mapping (or raw text) to a YAML file in the test's folder and return its path."""

    def write(content: dict[str, Any] | str, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False))
        return path

    return write


VARIANT = """\
extends: baseline.yaml
name: two-bases
drones:
  bases:
    tessalit:
      lat: 20.2011
      lon: 1.0125
      radius_km: 200
      active_from: 2023-10-20T00:00:00Z
    later:
      lat: 18.4389
      lon: 1.4083
      radius_km: 100
      active_from: 2024-06-01T00:00:00Z
"""


def run_cli(args: list[str]):
    return CliRunner().invoke(main, args, catch_exceptions=False)


@pytest.fixture(scope="session")
def baseline_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "baseline"
    result = run_cli(["run", "baseline", "-n", "120", "--seed", "7", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def variant_dir(tmp_path_factory) -> Path:
    """A run with three drone bases: Gao (active), Tessalit (active from 20 Oct), one active only in 2024."""
    folder = tmp_path_factory.mktemp("variant")
    (folder / "two-bases.yaml").write_text(VARIANT)
    out = folder / "run"
    result = run_cli(["run", str(folder / "two-bases.yaml"), "-n", "40", "--seed", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def make_sweep(
    folder: Path,
    parameters: dict[str, list[float]],
    outputs: dict[str, object],
    sobol: list[list[object]] | None = None,
    shuffle: bool = False,
) -> Path:
    """A sweep directory in the documented format; `outputs` maps name -> f(point values) -> mean.

    Points are the full grid of the parameter values (or, with one parameter, the list); sd is
    a tenth of the mean and the percentiles are mean -/+ 1.28 sd, so every statistic is known.
    """
    import itertools

    folder.mkdir(parents=True, exist_ok=True)
    names = list(parameters)
    points = list(itertools.product(*parameters.values()))
    order = list(range(len(points)))
    if shuffle:
        order = order[::-1]
    write_csv(folder / "points.csv", ["point", *names], [[k, *points[k]] for k in range(len(points))])
    header = ["point"]
    for out in outputs:
        header += [f"{out}_{s}" for s in ("mean", "sd", "p10", "p50", "p90")]
    rows = []
    for k in order:
        row: list[object] = [k]
        for f in outputs.values():
            mean = f(*points[k])
            sd = abs(mean) / 10
            row += [mean, sd, mean - 1.28 * sd, mean, mean + 1.28 * sd]
        rows.append(row)
    write_csv(folder / "summary.csv", header, rows)
    if sobol is not None:
        write_csv(folder / "sobol.csv", ["parameter", "output", "S1", "S1_conf", "ST", "ST_conf"], sobol)
    (folder / "manifest.json").write_text(json.dumps({"kind": "sweep", "name": folder.name, "parameters": names}))
    return folder


def pytest_configure(config):
    # Animations built only to inspect frames are never saved; matplotlib warns when they are collected.
    config.addinivalue_line("filterwarnings", "ignore:Animation was deleted without rendering")


def baseline_problem(priors: list[str], replications: int):
    """A calibration of the shipped baseline with `--param`-style priors."""
    from convoysim.calibration.abc import CalibrationProblem, check_priors, parse_param

    source = read_source("baseline")
    scenario = build_scenario(source)
    return CalibrationProblem(
        source, scenario, tuple(check_priors(source, scenario, [parse_param(p) for p in priors])), replications
    )
