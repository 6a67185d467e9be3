"""Pauses that end on events, threats that change by date, defended positions."""

import pytest
from conftest import make_scenario, scenario_data, threatened_data

from convoysim import simulate
from convoysim.scenario.loading import ScenarioSource, build_scenario


def test_hold_after_an_event_with_a_fixed_date_is_a_hold_until_that_date():
    sc = make_scenario(
        events={"decision": {"not_before": "2023-10-03T06:00:00Z", "delay_days": 0}},
        halts={"holds": [{"waypoint": "B", "after": "decision", "delay_h": 2}]},
    )
    r = simulate(sc, seed=0)
    # as in test_hold_until_a_date: 08:00 next day is 26 h, then 200 km at 20 km/h in the 06-18 window
    assert r.departure_h[1] == 26.0
    assert r.arrival_h[2] == 36.0


def test_chained_events_with_uncertain_dates_move_the_departure():
    sc = make_scenario(
        events={
            "un_leaves": {"not_before": "2023-10-03T00:00:00Z", "delay_days": {"dist": "uniform", "low": 0, "high": 3}},
            "resume": {"after": "un_leaves", "delay_days": {"dist": "triangular", "low": 1, "mode": 2, "high": 4}},
        },
        halts={"holds": [{"waypoint": "B", "after": "resume"}]},
    )
    departures = [simulate(sc, seed=s).departure_h[1] for s in range(40)]
    assert min(departures) >= 18 + 24  # not before 3 Oct 00:00 (18 h) plus at least one day
    assert max(departures) <= 18 + 24 * 7 + 24  # at most 3 + 4 days, then the next march window
    assert len(set(departures)) > 10


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"halts": {"holds": [{"waypoint": "B", "after": "nope"}]}}, "unknown event 'nope'"),
        ({"halts": {"holds": [{"waypoint": "B"}]}}, "exactly one of until"),
        ({"events": {"a": {"after": "b"}, "b": {"after": "a"}}}, "loop"),
        ({"events": {"a": {"not_before": "2023-10-03", "after": "a"}}}, "exactly one of not_before"),
    ],
)
def test_events_refuse_nonsense(changes, reason):
    with pytest.raises(Exception, match=reason):
        make_scenario(**changes)


def _only_ambushes(schedule: list) -> dict:
    data = threatened_data()
    data["threats"]["ied"]["per_100km"] = 0
    data["threats"]["harassment"]["per_night"] = 0
    data["threats"]["ambush"].update(hazard_per_h=0.3, schedule=schedule)
    data["drones"] = {}
    return data


def test_ambush_schedule_switches_the_hazard_by_date():
    quiet = build_scenario(ScenarioSource(_only_ambushes([{"factor": 0}])))
    assert all(simulate(quiet, seed=s).ambushes == 0 for s in range(20))
    # only on 3 October (hours 18 to 42 of the march)
    window = build_scenario(
        ScenarioSource(
            _only_ambushes(
                [
                    {"until_date": "2023-10-03T00:00:00Z", "factor": 0},
                    {"from_date": "2023-10-04T00:00:00Z", "factor": 0},
                ]
            )
        )
    )
    times = [t for s in range(40) for kind, t, _, _ in simulate(window, seed=s).incidents if kind == "ambush"]
    assert times and all(18.0 - 1e-9 <= t <= 42.0 + 1e-9 for t in times)


def test_ied_schedule_thins_the_ieds_by_the_date_they_are_met():
    data = threatened_data()
    data["threats"]["ambush"]["hazard_per_h"] = 0
    data["threats"]["ied"].update(
        per_100km=10, detection_prob=1.0, schedule=[{"from_date": "2023-10-02T00:00:00Z", "factor": 0}]
    )
    sc = build_scenario(ScenarioSource(data))
    assert all(simulate(sc, seed=s).ied_strikes + simulate(sc, seed=s).ieds_found == 0 for s in range(10))
    data["threats"]["ied"]["schedule"] = [{"from_date": "2023-10-02T00:00:00Z", "factor": 2}]
    doubled = build_scenario(ScenarioSource(data))
    data["threats"]["ied"]["schedule"] = []
    plain = build_scenario(ScenarioSource(data))

    def mean_ieds(s):
        return sum(r.ied_strikes + r.ieds_found for r in (simulate(s, seed=k) for k in range(80))) / 80

    assert mean_ieds(doubled) > 1.5 * mean_ieds(plain)


def _position(**spec) -> dict:
    return scenario_data(threats={"positions": [{"name": "trench", "road_km": 150, **spec}]})


def test_breaching_a_position_costs_the_fight_and_its_losses():
    sc = build_scenario(ScenarioSource(_position(breach_h=5, vehicles_hit=2, killed_per_vehicle_hit=1)))
    r = simulate(sc, seed=0)
    assert r.breaches == 1 and r.bypasses == 0
    assert r.hours["engagement"] == 5.0
    assert r.lost["breach"] == 2 and r.killed["breach"] == 2
    assert sorted(f[0] for f in r.fates) == [0, 1], "the head of the column takes the fight"


def test_bypassing_a_position_costs_the_detour():
    calm = simulate(make_scenario(), seed=0)
    r = simulate(
        build_scenario(ScenarioSource(_position(bypass_prob=1, bypass_km=20, bypass_h=1, breach_h=50))), seed=0
    )
    assert r.bypasses == 1 and r.breaches == 0
    assert r.hours["engagement"] == 0.0
    assert r.hours["moving"] == pytest.approx(calm.hours["moving"] + 20 / 20 + 1)


def test_a_position_no_longer_held_is_passed_freely():
    calm = simulate(make_scenario(), seed=0)
    r = simulate(build_scenario(ScenarioSource(_position(breach_h=5, held_until="2023-10-02T12:00:00Z"))), seed=0)
    assert r.breaches == 0 and r.arrival_h == calm.arrival_h


def test_rest_halts_follow_the_doctrinal_rhythm():
    # B is 5 h from A: rest 15 min after 1 h, then 10 min at 3 h: B at 5.4167 h.
    r = simulate(make_scenario(convoy={"rest_halts": {}}), seed=0)
    assert r.arrival_h[1] == pytest.approx(5.0 + 15 / 60 + 10 / 60)
    assert r.hours["scheduled_halt"] > 2.0 + 25 / 60 - 1e-9
