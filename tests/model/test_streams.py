"""Keyed random numbers (docs/streams.md): a change to one part of a plan must not move the draws of
another. Drone days by date; incidents by ordinal and by (incident, vehicle); speeds, halts and
events by name. (IEDs by place and breakdowns by vehicle: tests/studies/test_compare_streams.py.)"""

from __future__ import annotations

import copy

import simpy
from conftest import threatened_data

from convoysim.model import compile_plan
from convoysim.model.drones import SortieCover
from convoysim.model.streams import ReplicationStreams
from convoysim.runs.montecarlo import replication_stream
from convoysim.scenario.loading import ScenarioSource
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
