"""Bad scenarios through the real command line: exit code 2, one clear line, never a traceback."""

import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import scenario_data

from convoysim.commands.cli import main
from convoysim.scenario.loading import ScenarioError, load_scenario, merge


def run_cli(*args: str):
    result = CliRunner().invoke(main, ["run", *args])
    return result.exit_code, result.output


def expect_error(path, *fragments: str, line: int | None = None):
    code, out = run_cli(str(path), "-n", "2")
    assert code == 2, out
    assert "Traceback" not in out
    for fragment in fragments:
        assert fragment in out, out
    if line is not None:
        assert f"{path}:{line}:" in out, out
    return out


def test_yaml_syntax_error_names_the_line(write_yaml):
    path = write_yaml("name: x\nstart: 2023-10-02\nroute: [a, b\nconvoy: {}\n")
    expect_error(path, "YAML syntax error", line=4)


def test_unknown_key_suggests_the_closest(write_yaml):
    data = scenario_data()
    data["convoy"]["speed_kph"] = data["convoy"].pop("speed_kmh")
    out = expect_error(write_yaml(data), "unknown key 'speed_kph'", "did you mean 'speed_kmh'", "convoy.speed_kph")
    assert ":" in out


def test_wrong_type_names_the_field(write_yaml):
    data = scenario_data()
    data["convoy"]["vehicles"] = "many"
    expect_error(write_yaml(data), "convoy.vehicles", "integer")


def test_negative_value(write_yaml):
    data = scenario_data()
    data["convoy"]["interval_m"] = -5
    expect_error(write_yaml(data), "convoy.interval_m", "greater than or equal to 0")


def test_distribution_with_bad_parameters(write_yaml):
    data = scenario_data()
    data["convoy"]["speed_kmh"] = {"dist": "triangular", "low": 10, "mode": 5, "high": 20}
    expect_error(write_yaml(data), "convoy.speed_kmh", "low <= mode <= high")


def test_unknown_distribution(write_yaml):
    data = scenario_data()
    data["convoy"]["speed_kmh"] = {"dist": "gaussian", "mean": 10}
    expect_error(write_yaml(data), "convoy.speed_kmh", "unknown distribution 'gaussian'", "lognormal")


def test_milestone_naming_an_unknown_waypoint(write_yaml):
    data = scenario_data(documented=[{"waypoint": "Cc", "earliest": "2023-10-03", "latest": "2023-10-04"}])
    expect_error(write_yaml(data), "documented[0].waypoint", "unknown waypoint 'Cc'", "did you mean 'C'")


def test_fewer_than_two_waypoints(write_yaml):
    data = scenario_data()
    data["route"]["waypoints"] = data["route"]["waypoints"][:1]
    expect_error(write_yaml(data), "route", "at least two waypoints")


def test_missing_file(tmp_path):
    expect_error(tmp_path / "nope.yaml", "no such file", "baseline")


def test_python_tags_are_refused(write_yaml):
    path = write_yaml("name: !!python/object/apply:os.system ['echo pwned']\n")
    expect_error(path, "YAML")


def test_error_line_points_at_the_offending_key(write_yaml):
    text = write_yaml(scenario_data()).read_text().replace("vehicles: 11", "vehicles: -3")
    path = write_yaml(text)
    line = next(k for k, text_line in enumerate(text.splitlines(), 1) if "vehicles: -3" in text_line)
    expect_error(path, "convoy.vehicles", line=line)


def test_errors_in_a_variant_point_at_the_variant(write_yaml):
    write_yaml(scenario_data(), "base.yaml")
    variant = write_yaml("extends: base.yaml\nconvoy:\n  vehicles: 0\n", "variant.yaml")
    expect_error(variant, "convoy.vehicles", line=3)


def test_variant_merges_and_null_removes(write_yaml):
    write_yaml(scenario_data(), "base.yaml")
    variant = write_yaml("extends: base.yaml\nname: v\nhalts: null\nconvoy: {vehicles: 7}\n", "variant.yaml")
    sc = load_scenario(variant)
    assert sc.name == "v" and sc.convoy.vehicles == 7 and sc.convoy.interval_m == 500 and sc.halts.at_waypoints == []


def test_extends_cycle_is_an_error(write_yaml):
    write_yaml("extends: b.yaml\n", "a.yaml")
    b = write_yaml("extends: a.yaml\n", "b.yaml")
    with pytest.raises(ScenarioError, match="extends itself"):
        load_scenario(b)


def test_merge_rules():
    assert merge({"a": {"b": 1, "c": 2}, "l": [1, 2]}, {"a": {"b": 3, "c": None}, "l": [9]}) == {
        "a": {"b": 3},
        "l": [9],
    }


def test_every_shipped_scenario_loads():
    from convoysim.scenario.loading import packaged_scenarios

    names = packaged_scenarios()
    assert "baseline" in names and len(names) >= 4
    for name in names:
        assert load_scenario(name).route.waypoints


def test_the_installed_command_exits_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    proc = subprocess.run([sys.executable, "-m", "convoysim", "run", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and str(bad) in proc.stderr


def test_a_date_that_does_not_exist(write_yaml):
    text = write_yaml(scenario_data()).read_text().replace("'2023-10-02T06:00:00Z'", "2023-13-45")
    path = write_yaml(text)
    line = next(k for k, text_line in enumerate(text.splitlines(), 1) if "2023-13-45" in text_line)
    expect_error(path, "'2023-13-45' is not a valid date", line=line)


def test_a_file_that_is_not_utf8(write_yaml, tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    expect_error(path, "not UTF-8")


def test_a_directory_is_not_a_scenario(tmp_path):
    (tmp_path / "adir").mkdir()
    expect_error(tmp_path / "adir", "is a directory")


def test_a_repeated_key_is_an_error(write_yaml):
    path = write_yaml("name: a\nstart: 2023-10-02\nname: b\n")
    expect_error(path, "key 'name' appears twice", line=3)


def test_an_experiment_file_is_pointed_to_sweep(write_yaml):
    path = write_yaml("name: e\nscenario: baseline\nquestion: why?\nparameters: {}\n")
    expect_error(path, "experiment file", "convoysim sweep")


def test_a_missing_field_is_named(write_yaml):
    data = scenario_data()
    del data["convoy"]["speed_kmh"]
    expect_error(write_yaml(data), "required field 'speed_kmh' is missing", "convoy")


def test_infinite_numbers_are_refused(write_yaml):
    text = write_yaml(scenario_data()).read_text().replace("speed_kmh: 20", "speed_kmh: .inf")
    expect_error(write_yaml(text), "convoy.speed_kmh", "finite")


def test_a_variant_can_switch_a_distribution(write_yaml):
    data = scenario_data()
    data["convoy"]["speed_kmh"] = {"dist": "lognormal", "median": 12, "sigma": 0.2}
    write_yaml(data, "base.yaml")
    variant = write_yaml("extends: base.yaml\nconvoy:\n  speed_kmh: {dist: uniform, low: 5, high: 10}\n", "v.yaml")
    assert load_scenario(variant).convoy.speed_kmh.dist == "uniform"
    broken = write_yaml(
        "extends: base.yaml\nconvoy:\n  speed_kmh: {dist: triangular, low: 5, mode: 12, high: 10}\n", "w.yaml"
    )
    expect_error(broken, "low <= mode <= high", line=3)


def test_an_unwritable_output_folder_is_one_line(write_yaml):
    code, out = run_cli(str(write_yaml(scenario_data())), "-n", "2", "--out", "/proc/convoysim-cannot-write")
    assert code == 2 and "cannot write the run directory" in out and "Traceback" not in out
