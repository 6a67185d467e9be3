"""Drone cover as the march sees it: one interface, two implementations.

The lead unit asks its `Cover` three things: where the next ring edge ahead is (a segment ends
there), whether the stretch it is about to drive is covered and when that may change (a segment
ends then too, so the ambush hazard it integrates is exact), and how many of the hours it books
were under cover. Two implementations answer:

- `RingCover`: fixed rings, geometry alone. A column inside an active base's ring is covered.
- `drones.SortieCover`: each base's airframes fly sorties (SimPy processes); the column is covered
  while a drone is on station. A fixed ring is its limiting case (one airframe, no transit,
  unlimited endurance, no turnaround).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

from convoysim.model.coverage import EDGE_TOLERANCE_KM, Coverage


class Cover(ABC):
    """Drone cover of one replication's column (see the module's docstring)."""

    sorties = 0
    """Sorties flown; fixed rings fly none."""

    def __init__(self, coverage: Coverage):
        self.coverage = coverage
        self._edge_km = -math.inf
        """The next ring edge ahead of the head; looked up again only once the head passes it."""

    def edge_ahead_km(self, km: float) -> float:
        """The next road km after `km` where the head enters or leaves a ring (inf: none).

        The head only moves forward, so the edge found last holds until the head reaches it."""
        if km + EDGE_TOLERANCE_KM >= self._edge_km:
            self._edge_km = self.coverage.next_boundary_km(km)
        return self._edge_km

    @abstractmethod
    def over(self, km: float, now: float) -> tuple[bool, float] | None:
        """Whether a stretch of road whose middle is `km` is covered now, and when that may next
        change (clock h, inf: never); None when the airframes must react first (the head just
        entered or left a base's range: the march lets them, then asks again)."""

    @abstractmethod
    def moved(self, dt: float, covered: bool) -> float:
        """Hours of a `dt`-hour stretch of driving to count under cover (`covered`: as `over` said)."""

    @abstractmethod
    def stood(self, km: float, t0: float, t1: float) -> float:
        """Hours of a halt at `km` from t0 to t1 to count under cover."""

    @abstractmethod
    def take_back(self, hours: float) -> None:
        """Uncount hours counted too many (the part of a booking past the horizon)."""

    @abstractmethod
    def hours_until(self, t: float) -> float:
        """Hours the column spent under cover from the start until t (t: the march's end)."""

    def drone_arrives_in_h(self, now: float) -> float:
        """Hours until a drone already flying to the column arrives over it (inf: none is)."""
        return math.inf

    def stand_down(self) -> None:  # noqa: B027 - an optional hook: a fixed ring has nothing to stand down
        """The march is over: no more sorties."""


class RingCover(Cover):
    """Fixed rings: the column is covered while inside the ring of an active base."""

    def __init__(self, coverage: Coverage):
        super().__init__(coverage)
        self.always_active = coverage.always_active
        self.cover_h = 0.0

    def over(self, km: float, now: float) -> tuple[bool, float] | None:
        coverage = self.coverage
        if self.always_active:
            return coverage.covered_by_any(km), math.inf
        return coverage.covered(km, now), coverage.next_change_h(now)

    def moved(self, dt: float, covered: bool) -> float:
        hours = dt if covered else 0.0
        self.cover_h += hours
        return hours

    def stood(self, km: float, t0: float, t1: float) -> float:
        hours = self.coverage.covered_hours(km, t0, t1)
        self.cover_h += hours
        return hours

    def take_back(self, hours: float) -> None:
        self.cover_h -= hours

    def hours_until(self, t: float) -> float:
        return self.cover_h
