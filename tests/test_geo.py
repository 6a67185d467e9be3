import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convoysim import geo

KM_PER_DEGREE = math.pi * geo.EARTH_RADIUS_KM / 180


def test_one_degree_of_meridian():
    # 2 * pi * R / 360 with the mean Earth radius
    assert geo.great_circle_km(0, 0, 1, 0) == pytest.approx(111.195, abs=0.001)


def test_known_city_pairs():
    # Published great-circle distances (mean-radius sphere): London-Paris ~343.5 km, Gao-Kidal ~287 km (reference notes)
    assert geo.great_circle_km(51.5074, -0.1278, 48.8566, 2.3522) == pytest.approx(343.5, abs=1.0)
    assert geo.great_circle_km(16.2667, -0.05, 18.4389, 1.4083) == pytest.approx(287, abs=3)


def test_antipodes_are_half_the_circumference():
    assert geo.great_circle_km(0, 0, 0, 180) == pytest.approx(math.pi * geo.EARTH_RADIUS_KM)


coords = st.tuples(st.floats(-80, 80), st.floats(-179, 179))


@given(coords, coords)
def test_distance_is_symmetric_and_non_negative(a, b):
    d = geo.great_circle_km(*a, *b)
    assert d >= 0
    assert d == pytest.approx(geo.great_circle_km(*b, *a), abs=1e-6)


@given(coords, st.floats(0, 360), st.floats(1, 2000))
def test_destination_point_lies_at_the_distance(origin, bearing, dist):
    lat, lon = geo.destination_point(*origin, bearing, dist)
    assert geo.great_circle_km(*origin, lat, lon) == pytest.approx(dist, rel=1e-6)


@given(coords, coords, st.floats(0, 1))
def test_intermediate_point_splits_the_arc(a, b, f):
    p = geo.intermediate_point(*a, *b, f)
    total = geo.great_circle_km(*a, *b)
    assert geo.great_circle_km(*a, *p) == pytest.approx(f * total, abs=1e-6 * max(1.0, total))


def test_ring_intervals_on_a_meridian_road():
    # A road due north along lon 0, 0 to 300 km; a ring of 100 km around its start covers its first 100 km.
    lat_end = 300 / KM_PER_DEGREE
    road = [0.0, 300.0]
    intervals = geo.ring_intervals(road, [0.0, lat_end], [0.0, 0.0], (0.0, 0.0), 100.0)
    assert len(intervals) == 1
    start, end = intervals[0]
    assert start == 0.0
    assert end == pytest.approx(100.0, abs=1e-3)


def test_ring_in_the_middle_of_the_road_gives_entry_and_exit():
    lat_end = 300 / KM_PER_DEGREE
    centre = (150 / KM_PER_DEGREE, 0.0)
    ((a, b),) = geo.ring_intervals([0.0, 300.0], [0.0, lat_end], [0.0, 0.0], centre, 50.0)
    assert a == pytest.approx(100.0, abs=1e-3) and b == pytest.approx(200.0, abs=1e-3)


def test_zero_radius_covers_nothing():
    assert geo.ring_intervals([0.0, 10.0], [0.0, 0.1], [0.0, 0.0], (0.0, 0.0), 0.0) == []


def test_ring_outline_is_a_true_circle():
    points = geo.ring_outline((16.27, -0.05), 241.4, points=73)
    assert all(geo.great_circle_km(16.27, -0.05, lat, lon) == pytest.approx(241.4, rel=1e-9) for lat, lon in points)
    assert points[0] == pytest.approx(points[-1])


def test_position_at_interpolates_by_road_distance():
    lat, lon = geo.position_at([0.0, 100.0, 300.0], [0.0, 1.0, 3.0], [0.0, 0.0, 0.0], 200.0)
    assert lat == pytest.approx(2.0, abs=1e-9) and lon == pytest.approx(0.0, abs=1e-9)
