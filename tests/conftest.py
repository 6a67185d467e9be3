"""Small scenarios built in code, so each test states exactly what it depends on."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from convoysim.loading import ScenarioSource, build_scenario
from convoysim.scenario import Scenario

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


THREATENED = {
    "threats": {
        "ied": {"per_100km": 2.0, "detection_prob": 0.3, "vehicles_destroyed": {"dist": "integers", "low": 1, "high": 3},
                "delay_h": {"dist": "uniform", "low": 1, "high": 4}, "clearance_delay_h": 0.5},
        "ambush": {"hazard_per_h": 0.2, "engagement_h": {"dist": "lognormal", "median": 3, "sigma": 0.7},
                   "vehicles_lost": {"dist": "poisson", "mean": 1.0}, "halt_prob": 0.5,
                   "regroup_h": {"dist": "triangular", "low": 1, "mode": 3, "high": 8}},
        "harassment": {"per_night": 1.5, "delay_h": {"dist": "exponential", "mean": 1.0},
                       "vehicles_lost": {"dist": "integers", "low": 0, "high": 1}},
    },
    "drones": {"hazard_factor": 0.3, "engagement_factor": 0.5,
               "bases": {"home": {"lat": 16.0, "lon": 0.0, "radius_km": 120, "active_from": "2023-10-03T00:00:00Z"}}},
}


def threatened_data(**changes: Any) -> dict[str, Any]:
    data = scenario_data(**THREATENED)
    data["route"]["waypoints"][1]["contested"] = True
    data["route"]["waypoints"][2]["contested"] = True
    data["convoy"]["breakdowns"] = {"mean_km_between_failures": 400, "repair_h": {"dist": "exponential", "mean": 1.0},
                                    "abandon_after_h": 1.5}
    for key, value in changes.items():
        data[key] = value
    return data


@pytest.fixture
def write_yaml(tmp_path: Path):
    """Write a mapping (or raw text) to a YAML file in the test's folder and return its path."""

    def write(content: dict[str, Any] | str, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False))
        return path

    return write
