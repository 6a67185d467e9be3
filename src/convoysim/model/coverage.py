"""Drone coverage along the route: which stretches of road lie in which ring, and when rings are active.

Rings are turned into road intervals once per scenario (great-circle distance from each base to the
column head), so the march asks only cheap questions of positions and times.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass

from convoysim.timewindows import EPS_H

EDGE_TOLERANCE_KM = 1e-9
"""A head this close before a ring edge has reached it: the next edge is the one after."""


@dataclass(frozen=True)
class RingOnRoad:
    """One drone base seen from the road: the stretches inside its ring and its active hours."""

    name: str
    intervals_km: tuple[tuple[float, float], ...]
    active_from_h: float
    active_until_h: float

    def covers(self, km: float) -> bool:
        for a, b in self.intervals_km:
            if a <= km <= b:
                return True
        return False

    def active(self, t: float) -> bool:
        return self.active_from_h <= t < self.active_until_h


class Coverage:
    """The union of all coverage rings, as the column head experiences it."""

    def __init__(self, rings: list[RingOnRoad], horizon_h: float = math.inf):
        self.rings = tuple(rings)
        self.always_active = all(r.active_from_h <= 0.0 and r.active_until_h >= horizon_h for r in rings)
        """True when no base starts or stops within the run: coverage then depends on position only."""
        self._boundaries = sorted({x for r in rings for iv in r.intervals_km for x in iv})
        self._changes = sorted({x for r in rings for x in (r.active_from_h, r.active_until_h) if math.isfinite(x)})
        union: list[list[float]] = []
        for a, b in sorted(iv for r in rings for iv in r.intervals_km):
            if union and a <= union[-1][1]:
                union[-1][1] = max(union[-1][1], b)
            else:
                union.append([a, b])
        self._union_edges = [x for iv in union for x in iv]

    def covered_by_any(self, km: float) -> bool:
        """Whether `km` lies in some ring, active or not; with `always_active` that is coverage."""
        return bisect_right(self._union_edges, km) % 2 == 1

    def covered(self, km: float, t: float) -> bool:
        for r in self.rings:
            if r.active_from_h <= t < r.active_until_h and r.covers(km):
                return True
        return False

    def next_boundary_km(self, km: float) -> float:
        """The next road position after `km` where the head enters or leaves a ring."""
        k = bisect_right(self._boundaries, km + EDGE_TOLERANCE_KM)
        return self._boundaries[k] if k < len(self._boundaries) else math.inf

    def next_change_h(self, t: float) -> float:
        """The next clock time after t at which a base starts or stops flying."""
        k = bisect_right(self._changes, t + EPS_H)
        return self._changes[k] if k < len(self._changes) else math.inf

    def covered_hours(self, km: float, t0: float, t1: float) -> float:
        """Hours of [t0, t1] during which a column standing at `km` is under some active ring."""
        if self.always_active:
            return t1 - t0 if self.covered_by_any(km) else 0.0
        spans = sorted((max(t0, r.active_from_h), min(t1, r.active_until_h)) for r in self.rings if r.covers(km))
        total, reach = 0.0, t0
        for a, b in spans:
            a = max(a, reach)
            if b > a:
                total += b - a
                reach = b
        return total
