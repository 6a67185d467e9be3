"""The theatre: shared values resolved into each convoy's scenario at load time (scenario/theatre.py)."""

from __future__ import annotations

import pytest
import yaml
from conftest import scenario_data, write

from convoysim.scenario.loading import ScenarioError, build_scenario, load_scenario, read_source
from convoysim.scenario.paths import apply_values, get_value

THEATRE = {
    "name": "test theatre",
    "roads": {
        "paved": {"speed_factor": 2.0, "breakdown_factor": 0.5},
        "track": {"speed_factor": 1.0, "breakdown_factor": 2.0},
    },
    "threats": {
        "none": {"contested": False},
        "low": {"contested": False, "ied_per_100km": 0.5, "detection_prob": 0.4},
        "high": {
            "contested": True,
            "ied_per_100km": 2.0,
            "detection_prob": 0.5,
            "detection_prob_no_clearance": 0.1,
            "clearance_speed_factor": 0.5,
            "ambush_per_h": 0.02,
            "harassment_per_night": 0.5,
        },
        "hot": {
            "contested": True,
            "ied_per_100km": 4.0,
            "detection_prob": 0.6,
            "clearance_speed_factor": 0.25,
            "ambush_per_h": 0.08,
            "harassment_per_night": 1.0,
        },
    },
    "kinds": {
        "logistics": {
            "speed_kmh": 20,
            "march_windows": [{"from_h": 6, "to_h": 16}],
            "move_by_night": False,
            "clears_route": True,
            "breakdowns": {"mean_km_between_failures": 1000},
            "interval_m": 100,
        },
        "civilian": {"speed_kmh": 15, "clears_route": False},
    },
    "vehicles": [{"name": "truck", "crew": 2}, {"name": "armoured", "crew": 3, "ied": {"destroyed_prob": 0.3}}],
}


def convoy_file(tmp_path, name: str, legs: list[tuple[str, str]], kind: str = "logistics", **extra) -> str:
    """A scenario on theatre.yaml: A -> ... with one leg of 100 km per (road, threat)."""
    data = scenario_data(name=name, halts={})
    data.pop("halts")
    data["theatre"] = "theatre.yaml"
    data["route"] = {
        "waypoints": [{"name": "A", "lat": 16.0, "lon": 0.0, "road_km": 0}]
        + [
            {"name": f"P{i}", "road_km": 100 * i, "road": road, "threat": threat}
            for i, (road, threat) in enumerate(legs, 1)
        ]
    }
    data["route"]["waypoints"][-1].update(lat=17.0, lon=1.0)
    data["convoy"] = {"kind": kind, "march_units": [{"name": "u", "vehicles": {"armoured": 2, "truck": 8}}]}
    data.update(extra)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


@pytest.fixture
def theatre(tmp_path):
    (tmp_path / "theatre.yaml").write_text(yaml.safe_dump(THEATRE, sort_keys=False), encoding="utf-8")
    return tmp_path


def test_legs_kind_and_catalogue_resolve_into_model_parameters(theatre):
    sc = load_scenario(
        convoy_file(theatre, "mixed", [("paved", "low"), ("track", "high"), ("track", "hot"), ("paved", "none")])
    )
    wps = sc.route.waypoints
    # reference level: the hottest contested one on the route
    assert sc.threats.ied.per_100km == 4.0 and sc.threats.ambush.hazard_per_h == 0.08
    assert sc.threats.ied.detection_prob == 0.6 and sc.threats.ied.clearance_speed_factor == 0.25
    assert sc.threats.harassment.per_night == 1.0
    assert sc.threats.ied.uncontested_per_100km == 0.5
    # each leg: its road's speed, its level's ratio to the reference (clearance: 0.5 / 0.25 = 2)
    assert [w.contested for w in wps[1:]] == [False, True, True, False]
    assert [w.terrain_factor for w in wps[1:]] == [2.0, 2.0, 1.0, 2.0]
    assert [w.ied_factor for w in wps[1:]] == [1.0, 0.5, 1.0, 0.0]
    assert [w.ambush_factor for w in wps[1:]] == [1.0, 0.25, 1.0, 1.0]
    # by hand, the density on each leg the model will use: 0.5, 2, 4, 0 per 100 km
    model_density = [
        (sc.threats.ied.per_100km if w.contested else sc.threats.ied.uncontested_per_100km) * w.ied_factor
        for w in wps[1:]
    ]
    assert model_density == [0.5, 2.0, 4.0, 0.0]
    # march discipline of the kind; breakdowns weighted by road length: (0.5 + 2 + 2 + 0.5) / 4 = 1.25
    assert sc.convoy.interval_m == 100 and not sc.convoy.move_by_night and sc.convoy.march_windows[0].to_h == 16
    assert sc.convoy.breakdowns.mean_km_between_failures == pytest.approx(1000 / 1.25)
    assert [t.name for t in sc.convoy.vehicle_types] == ["truck", "armoured"]
    assert sc.convoy.vehicle_types[1].ied.destroyed_prob == 0.3


def test_a_levels_clearance_pace_and_a_kinds_laager_reach_the_scenario(theatre):
    changed = dict(
        THEATRE,
        threats=dict(THEATRE["threats"], hot=dict(THEATRE["threats"]["hot"], clearance_km_per_day=5)),
        kinds=dict(THEATRE["kinds"], logistics=dict(THEATRE["kinds"]["logistics"], every_unit_keeps_window=True)),
    )
    (theatre / "theatre.yaml").write_text(yaml.safe_dump(changed, sort_keys=False), encoding="utf-8")
    sc = load_scenario(convoy_file(theatre, "paced", [("track", "hot"), ("track", "high")]))
    assert [w.clearance_km_per_day for w in sc.route.waypoints[1:]] == [5, None]
    assert sc.convoy.every_unit_keeps_window
    # a convoy without route clearance at its head is not paced by it
    civ = load_scenario(convoy_file(theatre, "civ", [("track", "hot")], kind="civilian"))
    assert civ.route.waypoints[1].clearance_km_per_day is None and not civ.convoy.every_unit_keeps_window


def test_a_kind_without_route_clearance_keeps_speed_and_takes_the_escorts_detection(theatre):
    sc = load_scenario(convoy_file(theatre, "civ", [("track", "high")], kind="civilian"))
    assert sc.threats.ied.clearance_speed_factor == 1.0 and sc.threats.ied.detection_prob == 0.1
    assert sc.route.waypoints[1].terrain_factor == 1.0


def test_the_scenarios_own_values_win_and_leg_factors_multiply(theatre):
    path = convoy_file(theatre, "own", [("track", "high"), ("track", "hot")], threats={"ied": {"detection_prob": 0.9}})
    data = yaml.safe_load(open(path))
    data["route"]["waypoints"][1]["ambush_factor"] = 3
    data["convoy"]["interval_m"] = 20
    open(path, "w").write(yaml.safe_dump(data))
    sc = load_scenario(path)
    assert sc.threats.ied.detection_prob == 0.9 and sc.convoy.interval_m == 20
    assert sc.route.waypoints[1].ambush_factor == pytest.approx(3 * 0.25)


def test_a_theatre_value_reaches_every_convoy_that_uses_it(theatre):
    """Changing one value in the theatre file changes each convoy on it; a convoy without it does not move."""
    names = [
        convoy_file(theatre, f"c{i}", legs)
        for i, legs in enumerate(
            [[("track", "high")], [("paved", "high"), ("track", "low")], [("track", "hot"), ("paved", "high")]]
        )
    ]
    before = [load_scenario(n) for n in names]
    changed = dict(THEATRE, threats=dict(THEATRE["threats"], high=dict(THEATRE["threats"]["high"], ied_per_100km=3.0)))
    (theatre / "theatre.yaml").write_text(yaml.safe_dump(changed, sort_keys=False), encoding="utf-8")
    after = [load_scenario(n) for n in names]

    def high_density(sc):
        legs = [w for w in sc.route.waypoints[1:] if w.threat == "high"]
        return [sc.threats.ied.per_100km * w.ied_factor for w in legs]

    assert [high_density(sc) for sc in before] == [[2.0], [2.0], [2.0]]
    assert [high_density(sc) for sc in after] == [[3.0], [3.0], [3.0]]
    # the same through a parameter path, as a sweep or a calibration sets it
    source = read_source(names[2])
    sc = build_scenario(source)
    assert get_value(sc, "theatre.threats.high.ied_per_100km") == 3.0
    moved = apply_values(
        source, {"theatre.threats.high.ied_per_100km": 1.0, "theatre.roads.paved.speed_factor": 3.0}, sc
    )
    assert (
        high_density(moved) == [1.0] and moved.route.waypoints[2].terrain_factor == 3.0 * 0.5 / 0.25
    )  # road times clearance ratio


def test_a_theatre_error_is_reported_at_the_theatre_files_line(theatre):
    text = yaml.safe_dump(THEATRE, sort_keys=False).replace("ied_per_100km: 4.0", "ied_per_100km: -4.0")
    (theatre / "theatre.yaml").write_text(text, encoding="utf-8")
    line = next(k for k, text_line in enumerate(text.splitlines(), 1) if "-4.0" in text_line)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(convoy_file(theatre, "bad", [("track", "hot")]))
    assert caught.value.file.endswith("theatre.yaml") and caught.value.line == line
    assert caught.value.path == "theatre.threats.hot.ied_per_100km"


def test_unknown_names_are_refused_with_the_closest_at_the_scenarios_line(theatre):
    path = convoy_file(theatre, "typo", [("track", "hgh")])
    line = next(k for k, text_line in enumerate(open(path).read().splitlines(), 1) if "hgh" in text_line)
    with pytest.raises(ScenarioError, match="unknown threat level 'hgh' .did you mean 'high'") as caught:
        load_scenario(path)
    assert caught.value.line == line and caught.value.path == "route.waypoints[1].threat"
    with pytest.raises(ScenarioError, match="unknown convoy kind 'logistic' .did you mean 'logistics'"):
        load_scenario(convoy_file(theatre, "kind", [("track", "high")], kind="logistic"))
    data = yaml.safe_load(open(convoy_file(theatre, "noroad", [("track", "high"), ("paved", "low")])))
    del data["route"]["waypoints"][1]["road"]
    open(theatre / "noroad.yaml", "w").write(yaml.safe_dump(data))
    with pytest.raises(ScenarioError, match="names a threat level but no road"):
        load_scenario(theatre / "noroad.yaml")
    # a leg with neither keeps its own factors, as without a theatre
    del data["route"]["waypoints"][1]["threat"]
    data["route"]["waypoints"][1].update(terrain_factor=0.5, contested=True)
    open(theatre / "noroad.yaml", "w").write(yaml.safe_dump(data))
    own = load_scenario(theatre / "noroad.yaml").route.waypoints[1]
    assert (own.terrain_factor, own.contested, own.ied_factor) == (0.5, True, 1.0)


def test_theatre_names_without_a_theatre_are_refused(tmp_path):
    data = scenario_data()
    data["route"]["waypoints"][1]["threat"] = "high"
    path = write(tmp_path, yaml.safe_dump(data), "s.yaml")
    with pytest.raises(ScenarioError, match="say which theatre first"):
        load_scenario(path)


def test_a_scenario_without_a_theatre_is_unchanged(tmp_path):
    sc = load_scenario(write(tmp_path, yaml.safe_dump(scenario_data()), "s.yaml"))
    assert sc.theatre is None and sc.convoy.interval_m == 500 and sc.route.waypoints[1].terrain_factor == 1.0
    # its resolved dump (kind, road, threat and theatre written as null) loads back to the same scenario
    dumped = write(tmp_path, yaml.safe_dump(sc.model_dump(mode="json", by_alias=True)), "resolved.yaml")
    assert load_scenario(dumped) == sc


def test_a_run_s_resolved_scenario_loads_to_the_same_scenario(tmp_path):
    """scenario.resolved.yaml holds the resolved values and the theatre marked resolved: not resolved twice."""
    sc = load_scenario("baseline")
    path = tmp_path / "resolved.yaml"
    path.write_text(yaml.safe_dump(sc.model_dump(mode="json", by_alias=True), sort_keys=False), encoding="utf-8")
    again = load_scenario(path)
    assert again.route.waypoints[-1].ambush_factor == 3.0 and again.threats == sc.threats and again.convoy == sc.convoy


def test_the_baseline_takes_the_theatre_and_overrides_its_calibrated_values():
    sc = load_scenario("baseline")
    uncal = load_scenario("baseline-uncalibrated")
    assert sc.theatre["name"] == "sahel" and sc.convoy.kind == "combat"
    assert (
        sc.threats.ied.per_100km == 2.93
        and uncal.threats.ied.per_100km == sc.theatre["threats"]["opposed"]["ied_per_100km"]
    )
    assert uncal.convoy.speed_kmh.median == 20 and sc.convoy.speed_kmh.median == 14.2
    assert [w.contested for w in sc.route.waypoints[1:]] == [False, False] + [True] * 6
