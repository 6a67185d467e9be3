"""How a scenario's problems read: the same words and field path through the loader and through
`Scenario.with_values`, which validates without the loader (no import circle)."""

import pytest
from pydantic import ValidationError

from convoysim.scenario.errors import ScenarioError, field_path, first_problem
from convoysim.scenario.loading import load_scenario
from convoysim.scenario.schema import Scenario, validated


def test_field_path_keeps_what_the_data_holds_and_drops_union_tags():
    data = {"route": {"waypoints": [{"name": "A"}, {"name": "B", "speed": {"dist": "fixed"}}]}}
    assert field_path(data, ("route", "waypoints", 1, "speed", "fixed", "value")) == (
        ["route", "waypoints", 1, "speed"],
        "route.waypoints[1].speed",
    )
    assert field_path(data, ("nowhere",)) == ([], "")


def test_first_problem_points_an_unknown_key_at_the_key():
    data = load_scenario("baseline").model_dump(mode="json", by_alias=True)
    data["convoy"]["vehicle"] = 5
    with pytest.raises(ValidationError) as caught:
        Scenario.model_validate(data)
    loc, reason = first_problem(caught.value)
    assert loc[-2:] == ("convoy", "vehicle") and "vehicles" in reason  # the closest valid key


def test_with_values_names_a_cross_field_problem_by_path():
    baseline = load_scenario("baseline")
    with pytest.raises(ScenarioError) as caught:
        baseline.with_values({"route.waypoints.Techanaght.name": "Techanagh"})
    err = caught.value
    assert (err.file, err.path, err.line) == ("baseline (with_values)", "halts.holds[0].waypoint", None)
    assert "unknown waypoint 'Techanaght' (did you mean 'Techanagh'?)" in err.reason


def test_validated_places_the_problem_where_it_is_told():
    data = load_scenario("baseline").model_dump(mode="json", by_alias=True)
    data["convoy"]["vehicles"] = -1
    with pytest.raises(ScenarioError, match=r"^here.yaml:7: convoy.vehicles: .*greater than 0"):
        validated(data, lambda loc: ("here.yaml", field_path(data, loc)[1], 7))
    assert (
        validated(
            load_scenario("baseline").model_dump(mode="json", by_alias=True), lambda loc: ("unused", "", None)
        ).name
        == "baseline"
    )
