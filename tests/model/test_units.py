"""March units and vehicles: the column as serials that follow each other, vehicles with fates."""

import copy
import math

import pytest
from conftest import make_scenario, threatened_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convoysim import compile_plan, simulate
from convoysim.model.units import position_at
from convoysim.scenario.loading import ScenarioSource, build_scenario


def test_vehicles_alone_split_into_units_of_at_most_the_doctrinal_size():
    plan = compile_plan(make_scenario(convoy={"vehicles": 115}))
    sizes = [u.count for u in plan.roster.units]
    assert sum(sizes) == 115 and max(sizes) <= 20 and len(sizes) == 6
    assert max(sizes) - min(sizes) <= 1
    assert plan.roster.ids[0] == "1-01" and plan.roster.ids[-1] == f"6-{sizes[-1]:02d}"


def test_march_units_list_vehicles_by_type():
    sc = make_scenario(
        convoy={
            "vehicles": 14,
            "vehicle_types": [
                {"name": "pickup", "crew": 4},
                {"name": "truck", "crew": 2, "passengers": 10},
                {"name": "wrecker", "recovers": True},
            ],
            "march_units": [
                {"name": "head", "vehicles": {"pickup": 5}},
                {"name": "main", "vehicles": {"truck": 8, "wrecker": 1}},
            ],
        }
    )
    plan = compile_plan(sc)
    assert [u.name for u in plan.roster.units] == ["head", "main"]
    assert [u.recovery_vehicles for u in plan.roster.units] == [0, 1]
    assert simulate(sc, seed=0).people_start == 5 * 4 + 8 * 12 + 2


@pytest.mark.parametrize(
    "convoy, reason",
    [
        ({"vehicles": 10, "march_units": [{"name": "a", "vehicles": {"vehicle": 9}}]}, "march units list 9"),
        ({"vehicles": 3, "march_units": [{"name": "a", "vehicles": {"tank": 3}}]}, "unknown vehicle type 'tank'"),
        (
            {"vehicle_types": [{"name": "t", "ied": {"destroyed_prob": 0.7, "damaged_prob": 0.5}}], "vehicles": 3},
            "cannot exceed 1",
        ),
    ],
)
def test_march_units_refuse_nonsense(convoy, reason):
    with pytest.raises(Exception, match=reason):
        make_scenario(convoy=convoy)


def test_pass_time_is_the_doctrinal_column_length_over_speed_plus_gaps():
    # 60 vehicles at 500 m in three units of 20: each 9.5 km long; 20 km/h; gaps of 2 min.
    r = simulate(make_scenario(convoy={"vehicles": 60, "unit_gap_min": 2.0}), seed=0)
    assert r.tail_arrival_h - r.arrival_h[-1] == pytest.approx(3 * 9.5 / 20 + 2 * 2 / 60, abs=1e-9)


def test_one_unit_column_keeps_the_old_hand_computed_times():
    r = simulate(make_scenario(), seed=0)  # 11 vehicles: one unit, the whole column as before
    assert r.arrival_h == [0.0, 5.0, 29.25]
    assert r.tail_arrival_h == pytest.approx(29.25 + 10 * 0.5 / 20)


def _threatened_units(seed_policy: str, section: int) -> dict:
    data = threatened_data()
    data["convoy"].update(vehicles=45, max_unit_vehicles=10, interval_m=100, catchup_speed_factor=1.3)
    data["convoy"]["vehicle_types"] = [
        {
            "name": "truck",
            "crew": 3,
            "passengers": 2,
            "ied": {"destroyed_prob": 0.5, "damaged_prob": 0.4},
            "ambush": {"destroyed_prob": 0.2, "damaged_prob": 0.5},
        }
    ]
    data["convoy"]["recovery"] = {"section_vehicles": section, "after_limit": seed_policy}
    data["convoy"]["breakdowns"]["mean_km_between_failures"] = 150
    data["threats"]["ied"].update(
        wounded_per_vehicle_hit={"dist": "poisson", "mean": 3}, killed_per_vehicle_hit={"dist": "poisson", "mean": 2}
    )
    data["threats"]["ambush"].update(
        kill_zone_m=800,
        wounded_per_vehicle_hit={"dist": "poisson", "mean": 2},
        killed_per_vehicle_hit={"dist": "integers", "low": 0, "high": 6},
    )
    return data


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    policy=st.sampled_from(["abandon", "leave_behind"]),
    section=st.integers(0, 2),
    gap=st.floats(0, 30),
    hazard=st.floats(0, 0.5),
)
def test_invariants_of_march_units(seed, policy, section, gap, hazard):
    data = _threatened_units(policy, section)
    data["convoy"]["unit_gap_min"] = gap
    data["threats"]["ambush"]["hazard_per_h"] = hazard
    sc = build_scenario(ScenarioSource(data))
    import numpy as np

    from convoysim.model import replicate

    r = replicate(compile_plan(sc), np.random.default_rng(seed), 0, trace=True, track=True)
    # vehicles are conserved: with the column (moving, queued, under recovery) + destroyed + abandoned + left behind
    assert r.vehicles_end + sum(r.lost.values()) + r.left_behind == r.vehicles_start
    gone = [f for f in r.fates if f[1] in ("destroyed", "abandoned")]
    assert len(gone) == sum(r.lost.values()) and len({f[0] for f in gone}) == len(gone), "a vehicle is lost once"
    # people: never more hurt than carried
    assert 0 <= sum(r.wounded.values()) + sum(r.killed.values()) <= r.people_start
    # the clock never runs backwards
    times = [t for t, _ in r.trace]
    assert times == sorted(times)
    # units never overtake, gaps never go negative: each head stays behind the tail of the unit ahead
    paths: dict[int, tuple[list[float], list[float], list[float]]] = {}
    for u, t, head, tail in r.units:
        ts, heads, tails = paths.setdefault(u, ([], [], []))
        assert not ts or t >= ts[-1], "a unit's own clock never runs backwards"
        ts.append(t), heads.append(head), tails.append(tail)
    for u in range(1, len(paths)):
        ts, heads, _ = paths[u]
        ahead_t, _, ahead_tail = paths[u - 1]
        for t, head in zip(ts, heads):
            if t <= ahead_t[-1]:
                assert head <= position_at(ahead_t, ahead_tail, t) + 1e-6
    assert all(b >= a - 1e-9 for ts, heads, _ in paths.values() for a, b in zip(heads, heads[1:])), (
        "units never reverse"
    )


def test_a_breakdown_behind_holds_up_that_unit_and_those_behind_not_the_head():
    data = _threatened_units("abandon", 0)
    data["threats"] = {}
    data["convoy"]["vehicle_types"][0]["repair_h"] = 1.0
    data["convoy"]["breakdowns"] = {"mean_km_between_failures": 300, "repair_h": 1.0, "abandon_after_h": 5}
    calm = copy.deepcopy(data)
    calm["convoy"]["breakdowns"] = {}
    broken = [simulate(build_scenario(ScenarioSource(data)), seed=s) for s in range(20)]
    assert sum(r.units_held_h for r in broken) > 0
    base = simulate(build_scenario(ScenarioSource(calm)), seed=0)
    for r in broken:
        assert r.breakdowns > 0
        # the head waits only for breakdowns in the lead unit, one hour each
        assert r.hours["incident_delay"] <= r.breakdowns * 1.0 + 1e-9
        assert r.tail_arrival_h >= base.tail_arrival_h - 1e-9


def test_ied_target_lead_always_strikes_the_first_vehicle():
    data = _threatened_units("abandon", 0)
    data["convoy"]["ied_target"] = "lead"
    data["threats"]["ied"].update(per_100km=5, detection_prob=0, vehicles_destroyed=1)
    data["threats"]["ambush"]["hazard_per_h"] = 0
    data["threats"]["harassment"]["per_night"] = 0
    data["convoy"]["breakdowns"] = {}
    r = simulate(build_scenario(ScenarioSource(data)), seed=2)
    hits = [f for f in r.fates if f[2] == "ied"]
    assert hits and all(f[0] == min(f2[0] for f2 in hits if f2[3] == f[3]) for f in hits)
    moving_before = set(range(45))
    for v, fate, _, _, _ in sorted(hits, key=lambda f: f[3]):
        assert v == min(moving_before)
        if fate == "destroyed":
            moving_before.discard(v)


def test_kill_zone_engages_only_vehicles_inside_it():
    data = _threatened_units("abandon", 0)
    data["threats"]["ied"]["per_100km"] = 0
    data["threats"]["ambush"].update(hazard_per_h=0.5, kill_zone_m=150)
    data["convoy"]["vehicle_types"][0]["ambush"] = {"destroyed_prob": 1.0}
    sc = build_scenario(ScenarioSource(data))
    for s in range(10):
        r = simulate(sc, seed=s)
        by_time: dict[float, list[float]] = {}
        for _vehicle, _fate, cause, t, km in r.fates:
            if cause == "ambush":
                by_time.setdefault(t, []).append(km)
        for kms in by_time.values():
            assert max(kms) - min(kms) <= 0.150 + 1e-9


def test_wounded_need_evacuation_by_air_where_a_helicopter_can_come():
    data = _threatened_units("abandon", 0)
    data["threats"]["ambush"]["hazard_per_h"] = 0
    data["threats"]["ied"].update(per_100km=5, detection_prob=0, delay_h=0)
    data["casevac"] = {"ground_h": 7.0, "air_h": 1.0, "air": [{"up_to_km": 150}]}
    r = simulate(build_scenario(ScenarioSource(data)), seed=5)
    assert r.casevacs_air + r.casevacs_ground > 0
    strikes = [(t, km) for kind, t, km, _ in r.incidents if kind == "ied_strike"]
    assert r.casevacs_air <= sum(1 for _, km in strikes if km <= 150)
    assert r.casevacs_ground <= sum(1 for _, km in strikes if km > 150)
    assert not math.isnan(r.end_h)


@pytest.mark.parametrize("target", ["lead", "random", "front"])
def test_an_ied_strike_hits_a_block_of_the_drawn_size(target):
    import numpy as np

    from convoysim.model.hits import ied_targets
    from convoysim.model.vehicles import Fleet, VehicleState

    fleet = Fleet(compile_plan(make_scenario(convoy={"vehicles": 12})).roster)
    fleet.set(3, VehicleState.DESTROYED)
    for u in np.random.default_rng(0).random(200).tolist():
        hit = ied_targets(fleet, target, 4, u)
        moving = fleet.moving()
        assert len(hit) == 4 and hit == moving[moving.index(hit[0]) : moving.index(hit[0]) + 4]
        if target == "lead":
            assert hit[0] == 0
    assert len(ied_targets(fleet, target, 50, 0.5)) == 11


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    unit=st.sampled_from([3, 10, 20]),
    fleet=st.booleans(),
    rest=st.booleans(),
    kill_zone=st.sampled_from([None, 100, 2000]),
    position_km=st.floats(1, 299),
    bypass=st.floats(0, 1),
)
def test_invariants_with_every_process_on(seed, unit, fleet, rest, kill_zone, position_km, bypass):
    import numpy as np

    from convoysim.model import replicate

    data = _threatened_units("leave_behind", 1)
    data["convoy"]["max_unit_vehicles"] = unit
    if rest:
        data["convoy"]["rest_halts"] = {}
    if kill_zone is None:
        data["threats"]["ambush"].pop("kill_zone_m")
    else:
        data["threats"]["ambush"]["kill_zone_m"] = kill_zone
    data["threats"]["positions"] = [
        {
            "name": "p",
            "road_km": position_km,
            "bypass_prob": bypass,
            "breach_h": 3,
            "vehicles_hit": 2,
            "bypass_km": 5,
            "killed_per_vehicle_hit": 4,
        }
    ]
    data["threats"]["ambush"]["schedule"] = [{"from_date": "2023-10-03T00:00:00Z", "factor": 3}]
    if fleet:
        data["drones"]["bases"]["home"]["fleet"] = {
            "airframes": 2,
            "cruise_kmh": 100,
            "endurance_h": 8,
            "turnaround_h": 3,
            "unflyable_day_prob": 0.3,
        }
    r = replicate(
        compile_plan(build_scenario(ScenarioSource(data))), np.random.default_rng(seed), 0, trace=True, track=True
    )
    assert r.vehicles_end + sum(r.lost.values()) + r.left_behind == r.vehicles_start
    assert sum(r.wounded.values()) + sum(r.killed.values()) <= r.people_start
    assert sum(r.hours.values()) == pytest.approx(r.end_h, abs=1e-6)
    assert 0 <= r.drone_cover_h <= r.end_h + 1e-6
    times = [t for t, _ in r.trace]
    assert times == sorted(times)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0.0, 0.5, 1.0, 2.0]), st.floats(0, 5), st.sampled_from([0.0, 0.25, 3.0]), st.floats(0, 5)
        ),
        min_size=1,
        max_size=8,
    )
)
def test_add_stretch_publishes_exactly_what_two_adds_do(stretches):
    """The lead publishes each booking with one call; the path and the wake-ups must be those of two adds."""
    import simpy

    from convoysim.model.units import UnitPath

    paths, woken = [], []
    for one_call in (False, True):
        env = simpy.Environment()
        path = UnitPath(env)
        wakes = []

        def listener(env=env, path=path, wakes=wakes):
            while True:
                yield path.moved
                wakes.append(env.now)

        env.process(listener())
        env.run()  # the listener now waits on `moved`
        t = 0.0
        for dt0, km0, dt, km1 in stretches:
            t0 = t + dt0
            if one_call:
                path.add_stretch(t0, km0, t0 + dt, km1)
            else:
                path.add(t0, km0)
                path.add(t0 + dt, km1)
            t = t0 + dt
            env.run()
        paths.append((path.t, path.km))
        woken.append(wakes)
    assert paths[0] == paths[1]
    assert woken[0] == woken[1]
