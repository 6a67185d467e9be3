"""The lead unit's ledger: every hour of the march booked once, with its cover and its path.

Each booking says what the column does (an `Activity`) from a moment on, for how long, where and
how fast. One call books the hours to the activity, the hours under drone cover (asked of the
`Cover`) and the stretch of the head's path the units behind follow (`UnitPath`). The booking in
progress is kept (`open`): when the horizon ends the run inside it, `close` keeps only the part
before the horizon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import simpy
from simpy.events import Timeout

from convoysim.model.cover import Cover
from convoysim.model.record import Activity
from convoysim.model.units import UnitPath


@dataclass(slots=True)
class Booking:
    """What the head does from `start_h` on: `dt_h` hours (NaN while it waits for an event of
    unknown length) of `activity` from road km `km` at `speed_kmh`, `cover_h` of them under cover."""

    activity: Activity
    start_h: float
    dt_h: float
    km: float
    speed_kmh: float
    cover_h: float


class Ledger:
    """Hours per activity, hours under cover and the head's published path, booked together."""

    def __init__(self, env: simpy.Environment, path: UnitPath, cover: Cover):
        self.env, self.path, self.cover = env, path, cover
        self.hours = [0.0] * len(Activity)
        self.events = 0
        """Bookings and waits: the lead unit's share of the SimPy events."""
        self.open: Booking | None = None
        """The booking in progress: rewritten in place by each booking (not a new object a time:
        a replication books about a hundred), replaced by a wait."""

    def move(self, dt: float, activity: Activity, km: float, speed: float, covered: bool) -> Timeout:
        """Book `dt` hours of driving from `km` at `speed` (or of a detour, at speed 0) and return
        the timeout that lets them pass."""
        return self._book(dt, activity, km, speed, self.cover.moved(dt, covered))

    def halt(self, dt: float, activity: Activity, km: float) -> Timeout:
        """Book `dt` hours of standing at `km`; drone cover may start or end during them."""
        now = self.env.now
        return self._book(dt, activity, km, 0.0, self.cover.stood(km, now, now + dt))

    def _book(self, dt: float, activity: Activity, km: float, speed: float, cover_h: float) -> Timeout:
        now = self.env.now
        self.hours[activity] += dt
        self.events += 1
        b = self.open
        if b is None:
            self.open = Booking(activity, now, dt, km, speed, cover_h)
        else:
            b.activity, b.start_h, b.dt_h, b.km, b.speed_kmh, b.cover_h = activity, now, dt, km, speed, cover_h
        self.path.add_stretch(now, km, now + dt, km + speed * dt)
        return Timeout(self.env, dt)

    def instant(self) -> Timeout:
        """A pause of no length, booked to no activity: it lets other processes act at this moment
        (airframes taking off as the head enters their range) before the head decides its segment."""
        self.events += 1
        return Timeout(self.env, 0.0)

    def start_wait(self, activity: Activity, km: float) -> None:
        """The head stands at `km` until an event of unknown length fires (`end_wait` books it)."""
        now = self.env.now
        self.path.add(now, km)
        self.open = Booking(activity, now, math.nan, km, 0.0, 0.0)

    def end_wait(self) -> None:
        """The event the head waited for fired: book the hours it stood."""
        wait = self.open
        assert wait is not None
        now = self.env.now
        wait.dt_h = now - wait.start_h
        self.events += 1
        self.hours[wait.activity] += wait.dt_h
        wait.cover_h = self.cover.stood(wait.km, wait.start_h, now)
        self.path.add(now, wait.km)

    def close(self, horizon_h: float) -> float | None:
        """The run ended at the horizon inside the open booking: keep only its part before the
        horizon. Returns the head's km at the horizon (None: nothing was open)."""
        b = self.open
        if b is None:
            return None
        if b.dt_h != b.dt_h:  # a wait: book it up to the horizon
            self.hours[b.activity] += max(0.0, horizon_h - b.start_h)
            self.cover.stood(b.km, b.start_h, max(b.start_h, horizon_h))
            return b.km
        kept = min(b.dt_h, max(0.0, horizon_h - b.start_h))
        if kept < b.dt_h:
            self.hours[b.activity] -= b.dt_h - kept
            self.cover.take_back(b.cover_h - b.cover_h * kept / b.dt_h)
        return b.km + b.speed_kmh * kept
