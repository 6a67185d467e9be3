"""The next thing that happens to the moving head: hand-computed cases and invariants."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from convoysim.model.horizons import Horizon, ambush_cuts, ambush_rate, in_time, incident_km, on_road, threat_change_h
from convoysim.model.schedule import DateFactor

INF = math.inf


def test_on_road_picks_the_nearest_place():
    assert on_road(100.0, 40.0, 70.0) == (40.0, Horizon.INCIDENT)
    assert on_road(100.0, 140.0, 70.0) == (70.0, Horizon.RING_EDGE)
    assert on_road(100.0, INF, INF) == (100.0, Horizon.WAYPOINT)


def test_on_road_ties_incident_before_waypoint_before_edge():
    assert on_road(100.0, 100.0, 120.0) == (100.0, Horizon.INCIDENT)
    assert on_road(100.0, 150.0, 100.0) == (100.0, Horizon.WAYPOINT)
    assert on_road(100.0, 60.0, 60.0) == (60.0, Horizon.INCIDENT)


def test_in_time_hand_computed():
    # 2 h to the road horizon; the window closes in 1.5 h: the window wins
    assert in_time(2.0, Horizon.WAYPOINT, 1.5, INF, INF, INF, 10.0, 0.0) == (1.5, Horizon.WINDOW_END)
    # a rest halt due in 0.5 h comes first
    assert in_time(2.0, Horizon.WAYPOINT, 1.5, INF, INF, 0.5, 10.0, 0.0) == (0.5, Horizon.REST)
    # 0.1 ambushes per hour with 0.1 of exposure left: an ambush after 1 h, before the window
    assert in_time(2.0, Horizon.WAYPOINT, 1.5, INF, INF, INF, 0.1, 0.1) == (1.0, Horizon.AMBUSH)
    # a cover change at 1.2 h and a threat change at 1.2 h: the cover change is listed first
    assert in_time(2.0, Horizon.INCIDENT, 3.0, 1.2, 1.2, INF, 10.0, 0.0) == (1.2, Horizon.COVER_CHANGE)
    # nothing earlier: the road horizon stays
    assert in_time(2.0, Horizon.RING_EDGE, 3.0, INF, INF, INF, 10.0, 0.0) == (2.0, Horizon.RING_EDGE)


def test_ambush_needs_the_exposure_used_up_strictly():
    assert not ambush_cuts(2.0, 0.2, 0.1)  # exactly used up at the horizon: the horizon comes first
    assert ambush_cuts(2.0, 0.19, 0.1)
    assert not ambush_cuts(2.0, 0.0, 0.0)  # no hazard, no ambush


def test_ambush_rate_by_date_and_under_cover():
    by_date = DateFactor([(10.0, 20.0, 3.0)])
    assert ambush_rate(0.05, by_date, 5.0, False, 0.5) == 0.05
    assert ambush_rate(0.05, by_date, 15.0, False, 0.5) == 0.05 * 3.0
    assert ambush_rate(0.05, by_date, 15.0, True, 0.5) == 0.05 * 3.0 * 0.5


def test_threat_change_only_where_the_threat_can_change():
    by_date = DateFactor([(10.0, 20.0, 3.0)])
    assert threat_change_h(0.05, by_date, 4.0) == 6.0
    assert threat_change_h(0.05, by_date, 12.0) == 8.0
    assert threat_change_h(0.0, by_date, 4.0) == INF  # an uncontested leg
    assert threat_change_h(0.05, DateFactor(()), 4.0) == INF  # no schedule


def test_incident_km_past_the_last_is_infinite():
    assert incident_km([3.0, 8.0], 1) == 8.0
    assert incident_km([3.0, 8.0], 2) == INF


positive = st.floats(min_value=1e-3, max_value=1e4, allow_nan=False)
maybe_inf = st.one_of(positive, st.just(INF))


@given(positive, maybe_inf, maybe_inf)
def test_on_road_is_the_minimum(waypoint, incident, edge):
    km, what = on_road(waypoint, incident, edge)
    assert km == min(waypoint, incident, edge)
    assert (what == Horizon.INCIDENT) == (incident <= waypoint and incident <= edge)


@given(positive, maybe_inf, maybe_inf, maybe_inf, maybe_inf, positive, st.floats(min_value=0.0, max_value=10.0))
def test_in_time_never_later_than_any_horizon(road_h, window, cover, threat, rest, left, rate):
    dt, what = in_time(road_h, Horizon.WAYPOINT, window, cover, threat, rest, left, rate)
    assert 0.0 <= dt <= min(road_h, window, cover, threat, rest)
    if what == Horizon.AMBUSH:
        assert rate > 0.0 and dt == left / rate
    else:
        assert dt == min(road_h, window, cover, threat, rest)
        assert rate * dt <= left  # the exposure is not used up before the segment ends
