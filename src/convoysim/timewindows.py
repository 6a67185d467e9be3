"""Hours of the day that repeat every day (march windows, darkness), on the model's clock.

The model counts hours since the scenario's start; `offset_h` is the start's hour of day (UTC), so
clock time t falls at hour (offset_h + t) mod 24 of its day. Pure arithmetic, no SimPy.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable

EPS_H = 1e-9
"""Times closer than this (3.6 microseconds) are the same instant; absorbs float rounding."""


def _day_intervals(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Disjoint sorted [a, b) intervals within one day; a span with from > to wraps midnight.

    Pieces shorter than EPS_H are dropped: a window the clock cannot resolve is no window.
    """
    pieces: list[tuple[float, float]] = []
    for a, b in spans:
        if a < b:
            pieces.append((a, b))
        elif a > b:
            pieces.extend([(a, 24.0), (0.0, b)])
    pieces = sorted(p for p in pieces if p[1] - p[0] > EPS_H)
    merged: list[tuple[float, float]] = []
    for a, b in pieces:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


class DailyHours:
    """A set of hours repeated every day, with the queries the march needs."""

    def __init__(self, spans: Iterable[tuple[float, float]], offset_h: float):
        self.day = _day_intervals(spans)
        self.offset_h = offset_h
        self.hours_per_day = sum(b - a for a, b in self.day)
        self.always = self.hours_per_day >= 24.0
        # Three tiled days, merged across midnight, so a query in the middle day sees wrap-around.
        tiled = _day_intervals((a + 24.0 * k, b + 24.0 * k) for k in range(3) for a, b in self.day)
        self._starts = [a for a, _ in tiled]
        self._ends = [b for _, b in tiled]

    def minus(self, other: "DailyHours") -> "DailyHours":
        """These hours without the other's (e.g. march windows without the night)."""
        cuts: list[tuple[float, float]] = []
        for a, b in self.day:
            pieces = [(a, b)]
            for c, d in other.day:
                pieces = [p for x, y in pieces for p in ((x, min(y, c)), (max(x, d), y)) if p[1] > p[0]]
            cuts.extend(pieces)
        return DailyHours(cuts, self.offset_h)

    def _hour(self, t: float) -> float:
        return (self.offset_h + t) % 24.0 + 24.0

    def until_close(self, t: float) -> float:
        """Hours from t until the set is left; 0 if t is outside it, inf if it never closes."""
        if self.always:
            return math.inf
        h = self._hour(t)
        k = bisect_right(self._starts, h + EPS_H) - 1
        if k < 0 or h >= self._ends[k] - EPS_H:
            return 0.0
        return self._ends[k] - h

    def until_open(self, t: float) -> float:
        """Hours from t until the set is entered; 0 if t is inside it, inf if it is empty."""
        if self.always:
            return 0.0
        if not self.day:
            return math.inf
        h = self._hour(t)
        k = bisect_right(self._starts, h + EPS_H) - 1
        if k >= 0 and h < self._ends[k] - EPS_H:
            return 0.0
        return self._starts[k + 1] - h

    def state(self, t: float) -> tuple[bool, float]:
        """(True, hours until it closes) inside the set, (False, hours until it opens) outside.

        One call instead of two on the march's hot path.
        """
        if self.always:
            return True, math.inf
        h = self._hour(t)
        k = bisect_right(self._starts, h + EPS_H) - 1
        if k >= 0 and h < self._ends[k] - EPS_H:
            return True, self._ends[k] - h
        if not self.day:
            return False, math.inf
        return False, self._starts[k + 1] - h

    def _measure_to(self, t: float) -> float:
        """Hours of the set between the clock's day start (hour 0 of the start day) and offset+t."""
        x = self.offset_h + t
        days = math.floor(x / 24.0)
        rest = x - 24.0 * days
        partial = sum(max(0.0, min(b, rest) - a) for a, b in self.day)
        return days * self.hours_per_day + partial

    def overlap(self, t0: float, t1: float) -> float:
        """Hours of the set within the clock interval [t0, t1]."""
        if t1 <= t0:
            return 0.0
        return self._measure_to(t1) - self._measure_to(t0)
