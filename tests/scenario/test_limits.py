"""The issue-11 inputs, each refused with file, line, field and reason instead of exhausting
memory, hanging or running nonsense."""

from __future__ import annotations

import pytest

from conftest import write
from convoysim.scenario.loading import ScenarioError, load_scenario


@pytest.mark.parametrize("lines, field, reason", [
    ("route: {waypoints: [{name: Gao, lat: 16.27, lon: -0.04, road_km: 0}, {name: Kidal, lat: 18.44, lon: 1.41, road_km: 1.0e+9}]}",
     "route.waypoints[1].road_km", "above the limit of 20000"),
    ("threats: {ied: {per_100km: 1.0e+308}}", "threats.ied.per_100km", "minefield"),
    ("convoy: {breakdowns: {mean_km_between_failures: 1.0e-300}}", "convoy.breakdowns.mean_km_between_failures", "greater than or equal to 1"),
    ("convoy: {vehicles: 1000000000000000000000000000000}", "convoy.vehicles", "more vehicles than any road convoy"),
    ("convoy: {vehicle_types: [{name: truck, mean_km_between_failures: 1.0e-300}]}",
     "convoy.vehicle_types[0].mean_km_between_failures", "greater than or equal to 1"),
    ("threats: {harassment: {per_night: 1.0e+308}}", "threats.harassment.per_night", "a battle, not harassment"),
    ("convoy: {march_windows: [{from_h: 5.5, to_h: 5.5}]}", "convoy", "0 minutes a day to move"),
    ("horizon_days: true", "horizon_days", "True is not a number"),
    ("start: 0", "start", "0 is not a date"),
    ("convoy: {move_by_night: !!bool maybe}", "", "'maybe' is not a valid !!bool"),
    ("convoy: {move_by_night: 1}", "convoy.move_by_night", "1 is not true or false"),
    ("horizon_days: '30'", "horizon_days", "'30' is not a number"),
    ("convoy: {speed_kmh: {dist: lognormal, median: 14, sigma: 1000}}", "convoy.speed_kmh.sigma", "less than or equal to 10"),
    ("halts: {pauses: [{waypoint: Techanaght, duration_h: 1.0e+300}]}", "halts.pauses[0].duration_h", "above the limit of 1e+06"),
])
def test_nonsense_is_refused_at_its_field(tmp_path, lines, field, reason):
    path = write(tmp_path, f"extends: baseline\nname: x\n{lines}\n", "s.yaml")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.path == field
    assert reason in caught.value.reason
    assert caught.value.line == 3
