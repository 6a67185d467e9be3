"""Scenario parameters named by their path, e.g. `drones.bases.gao.radius_km`, for sweeps and fits.

A path is checked against the full schema (defaults included), so a parameter the file leaves at
its default can still be varied; a scenario on a theatre also has the theatre's values, under
`theatre.` (`theatre.threats.high.ied_per_100km`), and changing one re-resolves the scenario on it;
a wrong path is reported with the closest valid one. List items
are named by index (`route.waypoints.3.ambush_factor`) or, for waypoints, by name
(`route.waypoints.Kidal.ambush_factor`).
The path walking lives in `pathtree` (below the schema, whose `Scenario.with_values` uses it) and is
re-exported here, the one module users import; `apply_values` sets paths on a scenario read from
files and validates the result against them, so an error names the file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from convoysim.scenario.loading import ScenarioSource, build_scenario
from convoysim.scenario.pathtree import EXCLUSIVE, ParameterPathError, full_tree, get_value, resolve, split, with_values
from convoysim.scenario.schema import Scenario

__all__ = [
    "EXCLUSIVE",
    "ParameterPathError",
    "apply_values",
    "full_tree",
    "get_value",
    "resolve",
    "split",
    "with_values",
]


def apply_values(source: ScenarioSource, values: Mapping[str, Any], base: Scenario | None = None) -> Scenario:
    """The source's scenario with parameters changed; raises ParameterPathError or ScenarioError."""
    scenario = base or build_scenario(source)
    data = with_values(source.data, full_tree(scenario), values)
    return build_scenario(ScenarioSource(data, source.layers))
