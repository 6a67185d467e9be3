"""The issue-11 inputs, each refused with file, line, field and reason instead of exhausting
memory, hanging or running nonsense."""

from __future__ import annotations

import pytest
from conftest import write

from convoysim.scenario.loading import ScenarioError, load_scenario


@pytest.mark.parametrize(
    "lines, field, reason",
    [
        (
            "route: {waypoints: [{name: Gao, lat: 16.27, lon: -0.04, road_km: 0}, {name: Kidal, lat: 18.44, lon: "
            "1.41, road_km: 1.0e+9}]}",
            "route.waypoints[1].road_km",
            "above the limit of 20000",
        ),
        ("threats: {ied: {per_100km: 1.0e+308}}", "threats.ied.per_100km", "minefield"),
        (
            "convoy: {breakdowns: {mean_km_between_failures: 1.0e-300}}",
            "convoy.breakdowns.mean_km_between_failures",
            "greater than or equal to 1",
        ),
        (
            "convoy: {vehicles: 1000000000000000000000000000000}",
            "convoy.vehicles",
            "more vehicles than any road convoy",
        ),
        (
            "convoy: {vehicle_types: [{name: truck, mean_km_between_failures: 1.0e-300}]}",
            "convoy.vehicle_types[0].mean_km_between_failures",
            "greater than or equal to 1",
        ),
        ("threats: {harassment: {per_night: 1.0e+308}}", "threats.harassment.per_night", "a battle, not harassment"),
        ("convoy: {march_windows: [{from_h: 5.5, to_h: 5.5}]}", "convoy", "0 minutes a day to move"),
        ("horizon_days: true", "horizon_days", "True is not a number"),
        ("start: 0", "start", "0 is not a date"),
        ("convoy: {move_by_night: !!bool maybe}", "", "'maybe' is not a valid !!bool"),
        ("convoy: {move_by_night: 1}", "convoy.move_by_night", "1 is not true or false"),
        ("horizon_days: '30'", "horizon_days", "'30' is not a number"),
        (
            "convoy: {speed_kmh: {dist: lognormal, median: 14, sigma: 1000}}",
            "convoy.speed_kmh.sigma",
            "less than or equal to 10",
        ),
        (
            "halts: {pauses: [{waypoint: Techanaght, duration_h: 1.0e+300}]}",
            "halts.pauses[0].duration_h",
            "above the limit of 1e+06",
        ),
    ],
)
def test_nonsense_is_refused_at_its_field(tmp_path, lines, field, reason):
    path = write(tmp_path, f"extends: baseline\nname: x\n{lines}\n", "s.yaml")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.path == field
    assert reason in caught.value.reason
    assert caught.value.line == 3


# -- issue 23: dates, tags, characters and long values --------------------------------------------


@pytest.mark.parametrize(
    "lines, field",
    [
        (
            "documented: [{waypoint: Tin Aouker, earliest: 2023-10-02T07:00:00Z, latest: 9999-12-31T23:59:59Z}]",
            "documented[0].latest",
        ),
        ("start: 9999-12-30T00:00:00Z", "start"),
        ("start: 0001-01-01T00:00:00Z", "start"),
    ],
)
def test_a_date_beyond_the_calendar_the_run_can_reach_is_refused(tmp_path, lines, field):
    path = write(tmp_path, f"extends: baseline\nname: x\n{lines}\n", "s.yaml")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.path == field and caught.value.line == 3
    assert "outside 1900 to 2199" in caught.value.reason


def test_a_year_9999_run_writes_no_folder(tmp_path):
    from conftest import run_cli

    path = write(tmp_path, "extends: baseline\nname: x\nstart: 9999-12-30T00:00:00Z\n", "s.yaml")
    result = run_cli(["run", str(path), "-n", "2", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "s.yaml:3: start:" in result.output
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("value", ["!!timestamp 'abc'", "!!timestamp '2023-13-45'", "!!timestamp ''"])
def test_a_timestamp_tag_with_a_bad_value_is_refused_at_its_line(tmp_path, value):
    path = write(tmp_path, f"extends: baseline\nname: {value}\n", "s.yaml")
    with pytest.raises(ScenarioError, match="is not a valid date or time") as caught:
        load_scenario(path)
    assert caught.value.line == 2


def test_a_character_yaml_forbids_is_one_line_with_its_line_number(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("extends: baseline\nname: x\nnote: 'a\x07b'\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.line == 3 and "#x0007" in caught.value.reason
    assert "\n" not in str(caught.value) and "position" not in str(caught.value)


def test_a_long_value_is_cut_in_the_error(tmp_path):
    path = write(tmp_path, "extends: baseline\nname: x\nhorizon_days: !!int '" + "9" * 200_000 + "'\n", "s.yaml")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert len(str(caught.value)) < 300 and "200,000 characters" in str(caught.value)
