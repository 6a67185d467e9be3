"""Keyed random numbers (docs/streams.md): a change to one part of a plan must not move the draws of
another. Drone days by date; incidents by ordinal and by (incident, vehicle); speeds, halts and
events by name. (IEDs by place and breakdowns by vehicle: tests/studies/test_compare_streams.py.)"""

from __future__ import annotations

import copy

import simpy
from conftest import threatened_data

from convoysim import simulate
from convoysim.model import compile_plan
from convoysim.model.drones import SortieCover
from convoysim.model.hits import apply_hits, random_vehicles
from convoysim.model.streams import IncidentKind, IncidentNumbers, ReplicationStreams
from convoysim.model.vehicles import Fleet
from convoysim.runs.montecarlo import replication_stream
from convoysim.scenario.distributions import Poisson
from convoysim.scenario.loading import ScenarioSource, build_scenario, read_source
from convoysim.studies.plans import set_values


def fleet_data() -> dict:
    data = copy.deepcopy(threatened_data())
    data["drones"]["bases"]["home"]["fleet"] = {"airframes": 2, "unflyable_day_prob": 0.5, "airframe_down_prob": 0.3}
    return data


def flyable_by_day(values: dict, days: list[int], replication: int) -> dict[tuple[int, int], bool]:
    """Whether each airframe may fly on each UTC day asked (days since 1970), asked in that order."""
    plan = compile_plan(set_values(ScenarioSource(fleet_data()), values))
    streams = ReplicationStreams(replication_stream(7, replication))
    cover = SortieCover(simpy.Environment(), plan.fleets, plan.fleet_names, streams, None)
    offset_h = plan.fleets[0].day_offset_h
    return {
        (day, a): cover.flyable(airframe, (day + 0.5) * 24.0 - offset_h)
        for day in days
        for a, airframe in enumerate(cover.airframes)
    }


def test_moving_a_drone_bases_active_dates_does_not_change_another_days_weather():
    # The other plan starts three days later, its base flies from later, and it asks about every
    # other day only: the days it asks about are the days the first plan saw.
    first = flyable_by_day({}, list(range(19600, 19620)), 0)
    grounded = 0
    for r in range(10):
        base = flyable_by_day({}, list(range(19600, 19620)), r)
        later = flyable_by_day(
            {"start": "2023-09-15T06:00:00Z", "drones.bases.home.active_from": "2023-09-20T00:00:00Z"},
            list(range(19604, 19620, 2)),
            r,
        )
        assert later == {key: base[key] for key in later}
        grounded += list(base.values()).count(False)
    assert first != flyable_by_day({}, list(range(19600, 19620)), 1)  # the days differ by replication
    assert grounded > 0


def ambushes(values: dict, replication: int) -> list[tuple[str, float, float, int]]:
    """The ambushes of one replication (time h, km, vehicles lost) when engaged vehicles come to no harm."""
    data = threatened_data()
    data["convoy"]["vehicle_types"] = [{"name": "truck", "ambush": {"destroyed_prob": 0.0}}]
    record = simulate(compile_plan(set_values(ScenarioSource(data), values)), seed=1000 + replication)
    return [incident for incident in record.incidents if incident[0] == "ambush"]


def test_an_ambush_that_engages_more_vehicles_moves_no_later_ambush():
    # Each ambush's threshold and length are its own (the k-th ambush's key), not the numbers left
    # after the previous ambush picked its vehicles one number each.
    seen = 0
    for r in range(20):
        few = ambushes({"threats.ambush.vehicles_lost": {"dist": "fixed", "value": 1}}, r)
        many = ambushes({"threats.ambush.vehicles_lost": {"dist": "fixed", "value": 6}}, r)
        assert many == few
        seen += max(0, len(few) - 1)
    assert seen > 0  # some replications have a later ambush to move


def test_a_vehicles_fate_in_an_incident_is_its_own_whoever_else_is_hit():
    # (incident, vehicle) keys: vehicle 5 fares alike hit alone or with others, in a longer column,
    # and the vehicles an ambush engages at random include those a smaller ambush engages.
    plan = compile_plan(build_scenario(ScenarioSource(threatened_data())))
    longer = compile_plan(set_values(ScenarioSource(threatened_data()), {"convoy.vehicles": 14}))
    wounded = Poisson(dist="poisson", mean=2.0)
    for r in range(30):
        streams = ReplicationStreams(replication_stream(7, r))
        fates = []
        for roster, hit in ((plan.roster, [5]), (plan.roster, [1, 2, 5]), (longer.roster, [5, 13])):
            fleet = Fleet(roster)
            numbers = IncidentNumbers(streams, IncidentKind.AMBUSH, (0,), roster.size)
            apply_hits(fleet, hit, "ambush", "ambush", 0.0, 0.0, wounded, wounded, numbers)
            fates.append(([f for f in fleet.fates if f[0] == 5], fleet.state[5], fleet.people[5]))
        assert fates[1] == fates[0] and fates[2] == fates[0]
        numbers = IncidentNumbers(streams, IncidentKind.AMBUSH, (0,), plan.roster.size)
        fleet = Fleet(plan.roster)
        assert set(random_vehicles(fleet, 1, numbers)) <= set(random_vehicles(fleet, 3, numbers))


def baseline_trace(change=None, replication: int = 0) -> list[str]:
    """The trace lines of one replication of the shipped baseline, its data changed by `change`."""
    source = read_source("baseline")
    data = copy.deepcopy(source.data)
    if change is not None:
        change(data)
    plan = compile_plan(build_scenario(ScenarioSource(data, source.layers)))
    return [text for _, text in simulate(plan, seed=100 + replication, trace=True).trace]


def halts_and_waits(lines: list[str]) -> list[str]:
    """The halts' lengths, the external events' dates and the holds' delays in a trace (not the
    length of a hold's halt: that depends on when the column got there)."""
    kept = []
    for text, before in zip(lines, [""] + lines):
        if text.startswith("waits at") or (text.startswith("halts at") and not before.startswith("waits at")):
            kept.append(text)
    return kept


def test_a_halt_added_at_the_start_changes_no_other_halt_nor_any_event():
    def first_halt_at_gao(data: dict) -> None:
        start = data["route"]["waypoints"][0]["name"]
        halt = {"waypoint": start, "duration_h": {"dist": "uniform", "low": 1, "high": 3}, "reason": "added"}
        data["halts"]["at_waypoints"].insert(0, halt)

    for r in range(5):
        base = halts_and_waits(baseline_trace(None, r))
        added = halts_and_waits(baseline_trace(first_halt_at_gao, r))
        assert added[0].endswith("added") and added[1:] == base


def test_an_event_listed_first_does_not_move_the_other_events():
    def rain_first(data: dict) -> None:
        rain = {"not_before": "2023-10-05T00:00:00Z", "delay_days": {"dist": "uniform", "low": 0, "high": 5}}
        data["events"] = {"rains": rain, **data["events"]}

    for r in range(5):
        assert halts_and_waits(baseline_trace(rain_first, r)) == halts_and_waits(baseline_trace(None, r))
