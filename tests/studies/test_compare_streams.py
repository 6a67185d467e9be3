"""Stream synchronisation between plans (docs/streams.md): changes to one part of a plan that must not
move the draws of another (IEDs by place, breakdowns by vehicle)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import threatened_data

from convoysim.model import compile_plan
from convoysim.model.road import RoadIncident, draw_road_incidents
from convoysim.model.streams import ReplicationStreams
from convoysim.runs.montecarlo import replication_stream
from convoysim.scenario.loading import ScenarioSource
from convoysim.studies.plans import set_values


def road(values: dict, replication: int):
    plan = compile_plan(set_values(ScenarioSource(threatened_data()), values))
    return plan, draw_road_incidents(plan, ReplicationStreams(replication_stream(7, replication)))


def ieds(incidents) -> list[float]:
    return [
        km
        for km, kind in zip(incidents.km, incidents.kind)
        if kind in (RoadIncident.IED_FOUND, RoadIncident.IED_STRIKE)
    ]


@pytest.mark.parametrize("radius_km", [0.0, 60.0, 500.0])
def test_changing_the_drone_radius_moves_no_ied(radius_km):
    for r in range(20):
        _, base = road({}, r)
        _, other = road({"drones.bases.home.radius_km": radius_km}, r)
        assert ieds(other) == ieds(base)


def test_changing_the_ambush_hazard_moves_no_ied_and_no_breakdown():
    for r in range(20):
        _, base = road({}, r)
        _, other = road({"threats.ambush.hazard_per_h": 0.9}, r)
        assert list(other.km) == list(base.km) and list(other.kind) == list(base.kind)


def breakdowns_of(incidents, vehicle: int) -> list[float]:
    return [
        km
        for km, kind, v in zip(incidents.km, incidents.kind, incidents.vehicle)
        if kind == RoadIncident.BREAKDOWN and v == vehicle
    ]


def test_adding_a_vehicle_at_the_tail_does_not_change_the_heads_breakdowns():
    seen = 0
    for r in range(20):
        _, base = road({}, r)
        _, other = road({"convoy.vehicles": 12}, r)
        assert breakdowns_of(other, 0) == breakdowns_of(base, 0)
        seen += len(breakdowns_of(base, 0))
    assert seen > 0


def test_changing_detection_moves_no_ied():
    for r in range(20):
        _, base = road({}, r)
        _, other = road({"threats.ied.detection_prob": 0.9}, r)
        assert np.allclose(ieds(other), ieds(base))


def test_a_denser_leg_adds_ieds_and_moves_none():
    added = 0
    for r in range(20):
        _, base = road({}, r)
        _, denser = road({"threats.ied.per_100km": 6.0}, r)
        assert set(ieds(base)) <= set(ieds(denser))
        added += len(ieds(denser)) - len(ieds(base))
    assert added > 0
