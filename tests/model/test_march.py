import math

import numpy as np
import pytest
from conftest import make_scenario, scenario_data, threatened_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convoysim import compile_plan, simulate
from convoysim.geo import great_circle_km
from convoysim.model import ACTIVITIES
from convoysim.scenario.loading import ScenarioSource, build_scenario


def test_zero_threat_march_matches_hand_computation():
    # 06:00 start, 20 km/h, windows 06-18, column 5 km long (11 vehicles x 500 m) so closing up takes 0.25 h.
    # A->B 100 km: 5 h. Close up 0.25 h, halt 2 h, leave B at 7.25 h. The window shuts at 12 h after
    # 95 km; night halt to 24 h; the last 105 km take 5.25 h: C at 29.25 h.
    r = simulate(make_scenario(), seed=123)
    assert r.arrival_h == [0.0, 5.0, 29.25]
    assert r.departure_h[:2] == [0.0, 7.25]
    assert r.end_reason == "arrived" and r.end_h == 29.25
    assert r.hours["moving"] == 5.0 + 0.25 + 4.75 + 5.25
    assert r.hours["night_halt"] == 12.0
    assert r.hours["scheduled_halt"] == 2.0
    assert sum(r.hours.values()) == r.end_h
    assert r.vehicles_end == 11 and sum(r.lost.values()) == 0


def test_zero_threat_march_is_the_same_for_every_seed():
    first = simulate(make_scenario(), seed=1)
    assert all(simulate(make_scenario(), seed=s).arrival_h == first.arrival_h for s in range(2, 6))


def test_hold_until_a_date():
    sc = make_scenario(halts={"holds": [{"waypoint": "B", "until": "2023-10-03T08:00:00Z"}]})
    r = simulate(sc, seed=0)
    # Arrive B at 5 h, close up and halt to 7.25 h, hold until 26 h (08:00 next day), then 200 km at
    # 20 km/h: 10 h of the 06-18 window, 36 h.
    assert r.departure_h[1] == 26.0
    assert r.arrival_h[2] == 36.0
    assert r.hours["operational_pause"] == 26.0 - 7.25


def test_moving_by_night_is_cut_when_forbidden():
    sc = make_scenario(
        convoy={
            "march_windows": [{"from_h": 0, "to_h": 24}],
            "move_by_night": False,
            "night": {"from_h": 18, "to_h": 6},
        }
    )
    assert simulate(sc, seed=0).arrival_h[2] == 29.25


def test_route_derived_from_coordinates_uses_the_winding_factor():
    data = scenario_data()
    data["route"] = {
        "winding_factor": 1.5,
        "waypoints": [
            {"name": "A", "lat": 0.0, "lon": 0.0},
            {"name": "B", "lat": 1.0, "lon": 0.0},
            {"name": "C", "lat": 2.0, "lon": 0.0},
        ],
    }
    plan = compile_plan(build_scenario(ScenarioSource(data)))
    assert plan.road_km[2] == pytest.approx(2 * 1.5 * great_circle_km(0, 0, 1, 0), rel=1e-9)


def test_horizon_cuts_the_record_back():
    r = simulate(make_scenario(horizon_days=0.5), seed=0)  # 12 h: the window shuts 95 km past B
    assert r.end_reason == "horizon" and r.end_h == 12.0
    assert sum(r.hours.values()) == pytest.approx(12.0)
    assert r.end_km == pytest.approx(195.0)
    assert math.isnan(r.arrival_h[2])


def test_column_that_loses_too_many_vehicles_stops():
    data = threatened_data()
    data["convoy"]["min_vehicles"] = 11
    data["threats"]["ied"].update(per_100km=50.0, detection_prob=0.0, vehicles_destroyed=1)
    r = simulate(build_scenario(ScenarioSource(data)), seed=3)
    assert r.end_reason == "combat_ineffective"
    assert r.vehicles_end < 11 and math.isnan(r.arrival_h[2])


def test_certain_detection_means_no_strikes():
    data = threatened_data()
    data["threats"]["ied"].update(per_100km=20.0, detection_prob=1.0)
    r = simulate(build_scenario(ScenarioSource(data)), seed=4)
    assert r.ied_strikes == 0 and r.ieds_found > 0 and r.lost["ied"] == 0


def test_drones_that_stop_all_ambushes_inside_their_ring():
    data = threatened_data()
    data["drones"]["hazard_factor"] = 0.0
    data["drones"]["bases"]["home"].pop("active_from")
    sc = build_scenario(ScenarioSource(data))
    ring_end = compile_plan(sc).coverage.rings[0].intervals_km[0][1]
    for seed in range(30):
        r = simulate(sc, seed=seed)
        assert all(km > ring_end - 1e-6 for kind, _, km, _ in r.incidents if kind == "ambush")


def test_drone_cover_hours_match_the_ring():
    # The only base covers the whole route from the start: every hour of the march is covered.
    data = scenario_data(drones={"bases": {"big": {"lat": 16.5, "lon": 0.5, "radius_km": 5000}}})
    r = simulate(build_scenario(ScenarioSource(data)), seed=0)
    assert r.drone_cover_h == pytest.approx(r.end_h)


def test_trace_tells_the_story_in_order():
    r = simulate(build_scenario(ScenarioSource(threatened_data())), seed=8, trace=True)
    times = [t for t, _ in r.trace]
    assert times == sorted(times)
    reached = [name for name, h in zip("ABC", r.arrival_h) if not math.isnan(h)][1:]
    assert reached, "the column reaches B at least"
    for name in reached:
        assert any(f"arrives at {name}" in text for _, text in r.trace)


replication_seeds = st.integers(0, 2**32 - 1)
speeds = st.floats(5, 40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=replication_seeds, speed=speeds, per_night=st.floats(0, 3), hazard=st.floats(0, 0.5))
def test_invariants_of_a_threatened_march(seed, speed, per_night, hazard):
    data = threatened_data()
    data["convoy"]["speed_kmh"] = {"dist": "lognormal", "median": speed, "sigma": 0.3}
    data["threats"]["harassment"]["per_night"] = per_night
    data["threats"]["ambush"]["hazard_per_h"] = hazard
    sc = build_scenario(ScenarioSource(data))
    r = simulate(sc, seed=seed, trace=True)
    arrived = [h for h in r.arrival_h if not math.isnan(h)]
    assert arrived == sorted(arrived), "arrival times increase along the route"
    assert 0 <= sum(r.lost.values()) <= r.vehicles_start
    assert r.vehicles_end == r.vehicles_start - sum(r.lost.values())
    times = [t for t, _ in r.trace]
    assert all(b >= a for a, b in zip(times, times[1:])), "the clock never runs backwards"
    assert sum(r.hours.values()) == pytest.approx(r.end_h, abs=1e-6), "every hour is booked once"
    assert 0 <= r.drone_cover_h <= r.end_h + 1e-6
    assert set(r.hours) == set(ACTIVITIES)
    again = simulate(sc, seed=seed)
    assert again.arrival_h == r.arrival_h and again.lost == r.lost, "a seed reproduces its replication"


def test_losses_follow_the_scenario_not_chance_alone():
    sc = build_scenario(ScenarioSource(threatened_data()))
    lost = np.mean([sum(simulate(sc, seed=s).lost.values()) for s in range(60)])
    calm = threatened_data()
    calm["threats"]["ambush"]["hazard_per_h"] = 0.0
    calm["threats"]["ied"]["per_100km"] = 0.0
    calm_lost = np.mean([sum(simulate(build_scenario(ScenarioSource(calm)), seed=s).lost.values()) for s in range(60)])
    assert lost > calm_lost
