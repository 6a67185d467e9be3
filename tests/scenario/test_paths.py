import pytest
from conftest import THREATENED, scenario_data

from convoysim.scenario.loading import ScenarioError, ScenarioSource, build_scenario, read_source
from convoysim.scenario.paths import ParameterPathError, apply_values, get_value


@pytest.fixture
def source():
    return ScenarioSource(scenario_data(**THREATENED))


def test_values_are_set_by_path_including_defaults(source):
    sc = apply_values(
        source,
        {
            "threats.ambush.hazard_per_h": 0.7,
            "convoy.breakdowns.abandon_after_h": 3,
            "route.waypoints.C.ambush_factor": 2.5,
            "route.waypoints.1.terrain_factor": 0.5,
        },
    )
    assert sc.threats.ambush.hazard_per_h == 0.7
    assert sc.convoy.breakdowns.abandon_after_h == 3
    assert sc.route.waypoints[2].ambush_factor == 2.5 and sc.route.waypoints[1].terrain_factor == 0.5
    assert get_value(sc, "route.waypoints.C.ambush_factor") == 2.5


def test_radius_in_one_unit_replaces_the_other(source):
    data = scenario_data(drones={"bases": {"g": {"lat": 16, "lon": 0, "radius_mi": 150}}})
    sc = apply_values(ScenarioSource(data), {"drones.bases.g.radius_km": 300})
    assert sc.drones.bases["g"].coverage_radius_km == 300


@pytest.mark.parametrize(
    "path, suggestion",
    [
        ("threats.ambush.hazard", "threats.ambush.hazard_per_h"),
        ("drones.bases.home.radius_kms", "drones.bases.home.radius_km"),
        ("route.waypoints.Cc.contested", "route.waypoints.C"),
        ("convoy.speed", "convoy.speed_kmh"),
    ],
)
def test_wrong_paths_suggest_the_closest(source, path, suggestion):
    with pytest.raises(ParameterPathError) as err:
        apply_values(source, {path: 1})
    assert err.value.suggestion == suggestion


def test_a_value_the_schema_rejects_is_a_scenario_error(source):
    with pytest.raises(ScenarioError, match="hazard_per_h"):
        apply_values(source, {"threats.ambush.hazard_per_h": -1})


def test_the_source_is_not_changed(source):
    before = repr(source.data)
    apply_values(source, {"convoy.vehicles": 3})
    assert repr(source.data) == before and build_scenario(source).convoy.vehicles == 11


def test_a_whole_distribution_is_not_a_parameter(source):
    data = scenario_data()
    data["convoy"]["speed_kmh"] = {"dist": "lognormal", "median": 12, "sigma": 0.2}
    with pytest.raises(ParameterPathError) as err:
        apply_values(ScenarioSource(data), {"convoy.speed_kmh": 10})
    assert "lognormal distribution" in str(err.value) and err.value.suggestion == "convoy.speed_kmh.median"


def test_setting_values_leaves_the_source_data_as_it_was():
    import copy

    from convoysim.scenario.paths import full_tree, with_values

    source = read_source("baseline")
    before = copy.deepcopy(source.data)
    full = full_tree(build_scenario(source))
    changed = with_values(
        source.data,
        full,
        {
            "convoy.speed_kmh.median": 11.0,
            "route.waypoints.Kidal.ambush_factor": 2.0,
            "drones.bases.gao.radius_km": 200,
            "threats.ied.per_100km": 2.0,
        },
    )
    assert source.data == before
    assert (
        changed["convoy"]["speed_kmh"]["median"] == 11.0 and changed["route"]["waypoints"][-1]["ambush_factor"] == 2.0
    )
    assert (
        changed["drones"]["bases"]["gao"]["radius_km"] == 200 and "radius_mi" not in changed["drones"]["bases"]["gao"]
    )
    assert changed["route"]["waypoints"][0] == before["route"]["waypoints"][0]
