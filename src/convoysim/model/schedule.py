"""Threat levels that change by date: a factor on the model clock, piecewise constant.

A schedule is a list of periods (from, until, factor); outside every period the factor is 1 and
overlapping periods multiply. The march ends a movement segment where the factor changes, so the
ambush hazard it integrates is exact; IEDs are drawn at the highest density and thinned by
factor / highest when the column meets them (a Poisson process thinned by time).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable


class DateFactor:
    __slots__ = ("_edges", "_factors", "highest", "constant")

    def __init__(self, periods: Iterable[tuple[float, float, float]]):
        periods = list(periods)
        edges = sorted({x for a, b, _ in periods for x in (a, b) if math.isfinite(x)})
        self._edges = edges
        probes = (
            [edges[0] - 1.0] + [(a + b) / 2 for a, b in zip(edges, edges[1:])] + [edges[-1] + 1.0] if edges else [0.0]
        )
        self._factors = [math.prod(f for a, b, f in periods if a <= t < b) for t in probes]
        self.highest = max(self._factors)
        self.constant = len(set(self._factors)) == 1

    @property
    def changes(self) -> int:
        """Dates at which the factor may change (each ends a movement segment)."""
        return len(self._edges)

    def at(self, t: float) -> float:
        return self._factors[bisect_right(self._edges, t)]

    def next_change_h(self, t: float) -> float:
        k = bisect_right(self._edges, t)
        return self._edges[k] if k < len(self._edges) else math.inf
