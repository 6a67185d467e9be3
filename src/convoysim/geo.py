"""Distances on the Earth, positions along a route, and drone coverage rings.

Pure functions only: no SimPy, no randomness. Angles are in degrees, distances in kilometres.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG); the great-circle error against the ellipsoid is below 0.5 %."""

KM_PER_MILE = 1.609344


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance, stable for the short distances of a road leg."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def intermediate_point(lat1: float, lon1: float, lat2: float, lon2: float, fraction: float) -> tuple[float, float]:
    """Point at `fraction` of the great-circle arc from the first point to the second."""
    d = great_circle_km(lat1, lon1, lat2, lon2) / EARTH_RADIUS_KM
    if d == 0.0:
        return lat1, lon1
    p1, l1, p2, l2 = map(math.radians, (lat1, lon1, lat2, lon2))
    a = math.sin((1 - fraction) * d) / math.sin(d)
    b = math.sin(fraction * d) / math.sin(d)
    x = a * math.cos(p1) * math.cos(l1) + b * math.cos(p2) * math.cos(l2)
    y = a * math.cos(p1) * math.sin(l1) + b * math.cos(p2) * math.sin(l2)
    z = a * math.sin(p1) + b * math.sin(p2)
    return math.degrees(math.atan2(z, math.hypot(x, y))), math.degrees(math.atan2(y, x))


def destination_point(lat: float, lon: float, bearing_deg: float, distance_km: float) -> tuple[float, float]:
    """Point reached by following a great circle from (lat, lon); used to draw true coverage rings."""
    p1, l1, th = math.radians(lat), math.radians(lon), math.radians(bearing_deg)
    d = distance_km / EARTH_RADIUS_KM
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(th))
    l2 = l1 + math.atan2(math.sin(th) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), (math.degrees(l2) + 540.0) % 360.0 - 180.0


def position_at(
    road_km: Sequence[float], lats: Sequence[float], lons: Sequence[float], km: float
) -> tuple[float, float]:
    """Latitude and longitude of the point `km` along the road.

    The road between two waypoints is drawn as the great-circle arc between them, travelled in
    proportion to road distance; that is the best the sources allow for a desert track.
    """
    if km <= road_km[0]:
        return lats[0], lons[0]
    for i in range(1, len(road_km)):
        if km <= road_km[i]:
            span = road_km[i] - road_km[i - 1]
            frac = 0.0 if span == 0 else (km - road_km[i - 1]) / span
            return intermediate_point(lats[i - 1], lons[i - 1], lats[i], lons[i], frac)
    return lats[-1], lons[-1]


RING_CACHE_SIZE = 1024
"""Rings remembered by their inputs; a calibration or sweep that leaves the route and the bases alone
compiles thousands of plans whose rings are all the same, and finding one costs milliseconds."""


def ring_intervals(
    road_km: Sequence[float],
    lats: Sequence[float],
    lons: Sequence[float],
    centre: tuple[float, float],
    radius_km: float,
    step_km: float = 1.0,
    tolerance_km: float = 1e-6,
) -> list[tuple[float, float]]:
    """Stretches of road (start_km, end_km) whose points lie within `radius_km` of `centre`.

    The road is sampled every `step_km` and each crossing is refined by bisection, so a ring is
    found to within `tolerance_km` unless the road dips in and out between two samples. A pure
    function of its inputs, so the answer for inputs seen before is taken from a cache.
    """
    return list(
        _ring_intervals(
            tuple(road_km), tuple(lats), tuple(lons), (centre[0], centre[1]), radius_km, step_km, tolerance_km
        )
    )


@lru_cache(maxsize=RING_CACHE_SIZE)
def _ring_intervals(
    road_km: tuple[float, ...],
    lats: tuple[float, ...],
    lons: tuple[float, ...],
    centre: tuple[float, float],
    radius_km: float,
    step_km: float,
    tolerance_km: float,
) -> tuple[tuple[float, float], ...]:
    return tuple(_find_ring_intervals(road_km, lats, lons, centre, radius_km, step_km, tolerance_km))


def _find_ring_intervals(
    road_km: Sequence[float],
    lats: Sequence[float],
    lons: Sequence[float],
    centre: tuple[float, float],
    radius_km: float,
    step_km: float,
    tolerance_km: float,
) -> list[tuple[float, float]]:
    if radius_km <= 0:
        return []

    def inside(km: float) -> bool:
        lat, lon = position_at(road_km, lats, lons, km)
        return great_circle_km(lat, lon, centre[0], centre[1]) <= radius_km

    def crossing(a: float, b: float) -> float:
        ina = inside(a)
        while b - a > tolerance_km:
            mid = 0.5 * (a + b)
            if inside(mid) == ina:
                a = mid
            else:
                b = mid
        return 0.5 * (a + b)

    start, end = road_km[0], road_km[-1]
    n = max(1, math.ceil((end - start) / step_km))
    samples = [start + (end - start) * k / n for k in range(n + 1)]
    intervals: list[tuple[float, float]] = []
    opened = samples[0] if inside(samples[0]) else None
    prev = samples[0]
    for km in samples[1:]:
        now_inside = inside(km)
        if opened is None and now_inside:
            opened = crossing(prev, km)
        elif opened is not None and not now_inside:
            intervals.append((opened, crossing(prev, km)))
            opened = None
        prev = km
    if opened is not None:
        intervals.append((opened, end))
    return intervals


def ring_outline(centre: tuple[float, float], radius_km: float, points: int = 181) -> list[tuple[float, float]]:
    """(lat, lon) points of the true great-circle circle of `radius_km` around `centre`."""
    return [destination_point(centre[0], centre[1], 360.0 * k / (points - 1), radius_km) for k in range(points)]
