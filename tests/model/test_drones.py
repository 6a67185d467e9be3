"""Drones as a sortie process, against the fixed ring and against hand-computed cycles."""

import copy
import math

import numpy as np
import pytest
import simpy
from conftest import scenario_data, threatened_data
from scipy import stats

from convoysim import compile_plan, simulate
from convoysim.model.drones import DroneCover
from convoysim.model.streams import ReplicationStreams
from convoysim.scenario.loading import ScenarioSource, build_scenario


def _ring_and_fleet(fleet: dict) -> tuple:
    ring = threatened_data()
    sortie = copy.deepcopy(ring)
    sortie["drones"]["bases"]["home"]["fleet"] = fleet
    return build_scenario(ScenarioSource(ring)), build_scenario(ScenarioSource(sortie))


def test_fixed_ring_is_the_limiting_case_of_the_sortie_process():
    # One airframe, no transit, unlimited endurance, no turnaround: the same law as the ring.
    ring, fleet = _ring_and_fleet({})
    a = [simulate(ring, seed=s) for s in range(400)]
    b = [simulate(fleet, seed=1000 + s) for s in range(400)]
    for field in ("end_h", "drone_cover_h", "ambushes"):
        x, y = [getattr(r, field) for r in a], [getattr(r, field) for r in b]
        assert stats.ks_2samp(x, y).pvalue > 0.01, field
    # and, on the same seeds, replication by replication
    same = [simulate(fleet, seed=s) for s in range(50)]
    assert [r.end_h for r in same] == pytest.approx([r.end_h for r in a[:50]], abs=1e-9)
    assert [r.drone_cover_h for r in same] == pytest.approx([r.drone_cover_h for r in a[:50]], abs=1e-9)


def test_a_real_fleet_covers_less_than_the_ring():
    ring, fleet = _ring_and_fleet({"cruise_kmh": 130, "endurance_h": 6, "turnaround_h": 6, "unflyable_day_prob": 0.3})
    covered_ring = np.mean([simulate(ring, seed=s).drone_cover_h for s in range(60)])
    runs = [simulate(fleet, seed=s) for s in range(60)]
    assert np.mean([r.drone_cover_h for r in runs]) < 0.7 * covered_ring
    assert all(r.sorties >= 1 for r in runs if r.drone_cover_h > 0)


def test_on_station_fraction_of_one_airframe_is_the_hand_computed_cycle():
    # The column stands still 100 km of road from a base at its start; cruise 50 km/h, endurance 10 h,
    # turnaround 3 h, radius 5000 km (the fuel reserve for the way back is radius / cruise = 100 h...
    # so use a radius equal to the distance): transit d/c out, on station E - d/c - r/c, back d/c, turnaround.
    data = scenario_data(
        drones={
            "bases": {
                "b": {
                    "lat": 16.0,
                    "lon": 0.0,
                    "radius_km": 150,
                    "fleet": {"cruise_kmh": 50, "endurance_h": 10, "turnaround_h": 3},
                }
            }
        }
    )
    plan = compile_plan(build_scenario(ScenarioSource(data)))
    fleet = plan.fleets[0]
    env = simpy.Environment()
    cover = DroneCover(env, plan.fleets, plan.fleet_names, ReplicationStreams(np.random.default_rng(0)), None)
    km = 100.0
    cover.column_at(km)
    d = fleet.distance_at(km)
    out = d / 50
    station = 10 - out - 150 / 50
    cycle = out + station + out + 3
    cycles = 20
    env.run(until=cycles * cycle - 1e-6)  # just before the next take-off
    assert cover.sorties == cycles
    assert cover.covered_hours_until(env.now) == pytest.approx(cycles * station, rel=1e-9)
    assert d == pytest.approx(100.0, rel=0.2)  # the road runs roughly away from the base


def test_unflyable_days_and_grounded_airframes_cut_sorties():
    flying = {"cruise_kmh": 200, "endurance_h": 20, "turnaround_h": 2}
    _, fleet = _ring_and_fleet(flying)
    _, grounded = _ring_and_fleet({**flying, "unflyable_day_prob": 1.0})
    assert sum(simulate(fleet, seed=s).sorties for s in range(10)) > 0
    assert all(simulate(grounded, seed=s).sorties == 0 for s in range(10))
    assert all(simulate(grounded, seed=s).drone_cover_h == 0 for s in range(10))


def test_a_ring_beside_a_fleet_flies_as_its_limiting_case():
    # A second base as a plain ring beside a fleet covers exactly as it would alone.
    data = threatened_data()
    data["drones"]["bases"]["home"]["active_from"] = "2030-01-01T00:00:00Z"  # the ring never flies
    ring_only = build_scenario(ScenarioSource(data))
    data["drones"]["bases"]["home"]["active_from"] = "2023-10-03T00:00:00Z"
    data["drones"]["bases"] = {
        "home": data["drones"]["bases"]["home"],
        "far": {"lat": 40.0, "lon": 0.0, "radius_km": 10, "fleet": {"cruise_kmh": 100}},
    }
    mixed = build_scenario(ScenarioSource(data))
    assert compile_plan(mixed).fleets and not compile_plan(ring_only).fleets
    ring, _ = _ring_and_fleet({})
    for s in range(20):
        assert simulate(mixed, seed=s).drone_cover_h == pytest.approx(simulate(ring, seed=s).drone_cover_h, abs=1e-9)
    assert all(simulate(ring_only, seed=s).drone_cover_h == 0 for s in range(5))


def test_cover_hours_never_exceed_the_march():
    _, fleet = _ring_and_fleet({"airframes": 3, "cruise_kmh": 130, "endurance_h": 24, "turnaround_h": 4})
    for s in range(20):
        r = simulate(fleet, seed=s)
        assert 0 <= r.drone_cover_h <= r.end_h + 1e-9
        assert r.ambushes_covered <= r.ambushes
        assert not math.isnan(r.end_h)


def test_a_second_airframe_relieves_the_first_instead_of_flying_beside_it():
    # Cycle of one airframe: 2 h out, 5 h on station, 2 h back, 3 h turnaround (see above): 5 h in 12.
    # Two airframes staggered cover 10 h in 12; flying together they would still cover 5.
    def covered(airframes: int) -> tuple[float, float]:
        data = scenario_data(
            drones={
                "bases": {
                    "b": {
                        "lat": 16.0,
                        "lon": 0.0,
                        "radius_km": 150,
                        "fleet": {"airframes": airframes, "cruise_kmh": 50, "endurance_h": 10, "turnaround_h": 3},
                    }
                }
            }
        )
        plan = compile_plan(build_scenario(ScenarioSource(data)))
        env = simpy.Environment()
        cover = DroneCover(env, plan.fleets, plan.fleet_names, ReplicationStreams(np.random.default_rng(0)), None)
        cover.column_at(100.0)
        env.run(until=1200.0)
        return cover.covered_hours_until(env.now) / 1200.0, plan.fleets[0].transit_h(100.0)

    (one, out), (two, _) = covered(1), covered(2)
    assert one == pytest.approx(
        (10 - 3 - out) / (10 + out), abs=0.01
    )  # station (E - reserve - out) over the cycle (E - reserve + out + turnaround)
    assert two == pytest.approx(2 * one, abs=0.02)
