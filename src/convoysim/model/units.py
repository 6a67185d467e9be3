"""March units behind the lead: each one a SimPy process that follows the unit ahead.

A follower's head keeps to the path of the unit ahead, shifted back by that unit's length in
space and by the time gap in time (Newell's car-following rule): it passes every point `gap_h`
after the tail of the unit ahead did. A halt ahead therefore closes the column up (the follower
stops against the tail ahead) and the units leave again one gap apart. A unit that has fallen
further behind (held by its own breakdown) catches up at `catchup` times the speed ahead until
it is back at its gap, and can never pass the unit ahead.

Paths are lists of (t_h, km) breakpoints of the unit head, linear in between, on a *virtual*
road: km below 0 means still waiting at the start, above the route's length already parked at
the destination; `clamp` turns them into road positions.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Generator

import simpy
from simpy.events import Timeout

from convoysim.model.newell import goes_straight_on, segment_hours, stopped_at
from convoysim.timewindows import DailyHours


class UnitPath:
    """The published path of one unit head. A moving stretch is published when it starts (its end
    included), so the unit behind can move along it at once; `revise` takes back what an
    interruption made untrue and tells the unit behind. The lists `t` and `km` are changed in place
    and never replaced, so the unit behind holds them once for its whole run."""

    __slots__ = ("env", "t", "km", "moved", "done", "behind")

    def __init__(self, env: simpy.Environment, t0: float = 0.0, km0: float = 0.0):
        self.env = env
        self.t = [t0]
        self.km = [km0]
        self.moved = env.event()
        self.done = False
        self.behind: Follower | None = None

    def add(self, t: float, km: float) -> None:
        """Publish a breakpoint (one at the same time as the last replaces it) and wake the unit
        behind if it waits for one."""
        ts = self.t
        if t == ts[-1]:
            self.km[-1] = km
        else:
            ts.append(t)
            self.km.append(km)
        moved = self.moved
        if moved.callbacks:
            self.moved = self.env.event()
            moved.succeed()

    def add_stretch(self, t0: float, km0: float, t1: float, km1: float) -> None:
        """`add(t0, km0)` then `add(t1, km1)` with one wake-up: the lead publishes each booking so."""
        ts, kms = self.t, self.km
        if t0 == ts[-1]:
            kms[-1] = km0
        else:
            ts.append(t0)
            kms.append(km0)
        if t1 == t0:
            kms[-1] = km1
        else:
            ts.append(t1)
            kms.append(km1)
        moved = self.moved
        if moved.callbacks:
            self.moved = self.env.event()
            moved.succeed()

    def revise(self, t: float, km: float) -> None:
        """The head stopped at `km` at time t: drop the breakpoints published beyond t."""
        t_, km_ = self.t, self.km
        while len(t_) > 1 and t_[-1] > t:
            t_.pop()
            km_.pop()
        self.add(t, km)
        behind = self.behind
        if behind is not None and behind.target_t > t and behind.process.is_alive:
            behind.process.interrupt(REVISED)  # only a unit heading for a breakpoint now taken back

    def finish(self) -> None:
        self.done = True
        moved = self.moved
        self.moved = self.env.event()
        moved.succeed()

    def at(self, t: float) -> float:
        """Virtual km of the head at time t (held at the last breakpoint after it)."""
        return position_at(self.t, self.km, t)


REVISED = "revised"
"""Interrupt cause: the path ahead was revised."""


def position_at(ts: list[float], kms: list[float], t: float) -> float:
    k = bisect_right(ts, t)
    if k == 0:
        return kms[0]
    if k == len(ts):
        return kms[-1]
    t0, t1 = ts[k - 1], ts[k]
    return kms[k - 1] + (kms[k] - kms[k - 1]) * (t - t0) / (t1 - t0)


def passage_time(ts: list[float], kms: list[float], km: float) -> float:
    """First time the path reaches `km`, NaN if it never does."""
    for k in range(1, len(ts)):
        if kms[k] >= km:
            a, b = kms[k - 1], kms[k]
            if a >= km:
                return ts[k - 1]
            return ts[k - 1] + (ts[k] - ts[k - 1]) * (km - a) / (b - a)
    return float("nan") if not kms or kms[0] < km else ts[0]


def clamp(km: float, total_km: float) -> float:
    return 0.0 if km < 0.0 else total_km if km > total_km else km


class Hold:
    """Raised into a follower (as an Interrupt cause): wait for `released` before moving on."""

    __slots__ = ("released",)

    def __init__(self, released: simpy.Event):
        self.released = released


class Follower:
    """A march unit that follows the unit ahead (see the module's docstring); its SimPy process
    (`run`) waits on the path ahead and on its own recoveries."""

    __slots__ = ("env", "ahead", "shift_km", "gap_h", "catchup", "window", "path", "held_h", "target_t", "process")

    def __init__(
        self,
        env: simpy.Environment,
        ahead: UnitPath,
        ahead_length_km: float,
        gap_h: float,
        catchup: float,
        window: DailyHours | None = None,
    ):
        self.env = env
        self.window = window
        """The march window this unit keeps (a night laager where it stands), or None: it then
        closes up on the unit ahead whatever the hour."""
        self.ahead = ahead
        self.shift_km = ahead_length_km
        self.gap_h = gap_h
        self.catchup = catchup
        self.path = UnitPath(env, 0.0, ahead.km[0] - ahead_length_km)
        self.held_h = 0.0
        self.target_t = -math.inf
        """While moving: time, on the path ahead, of the breakpoint this unit is heading for; -inf
        whenever it stands (waiting for the path ahead or held)."""
        ahead.behind = self
        self.process = env.process(self.run())

    def at(self, t: float) -> float:
        """Virtual km of this unit's head at time t (its path holds the segment in progress)."""
        return self.path.at(t)

    def run(self) -> Generator[simpy.Event, None, None]:
        """The follower's SimPy process: drive from breakpoint to breakpoint of the path ahead.

        It waits on `ahead.moved` when it has caught up with everything the unit ahead has
        published, and otherwise on a timeout: the hours Newell's rule gives to reach the next
        breakpoint (`newell.segment_hours`). An interrupt stops it where it stands: REVISED when
        the unit ahead took back part of its path, a `Hold` when one of its own vehicles needs
        recovery (then it stands until that recovery releases it).

        Longer than 40 lines on purpose: it is the model's busiest loop (about 600 resumes a
        replication), and splitting it into more calls costs a measurable share of a run."""
        env, ahead, path = self.env, self.ahead, self.path
        ahead_t, ahead_km = ahead.t, ahead.km  # a UnitPath changes its lists in place, never replaces them
        gap, catchup, shift = self.gap_h, self.catchup, self.shift_km
        tau, x = -self.gap_h, path.km[0]
        """Where the unit stands: its place on the path ahead (time tau there) and its km."""
        segment = (0.0, 0.0, tau, tau, x, x)
        """The last segment started: clock t0 -> t1, tau0 -> tau1 on the path ahead, km x0 -> x1."""
        k = 0
        while True:
            try:
                n = len(ahead_t)
                if k >= n:
                    if ahead.done:
                        path.finish()
                        return
                    self.target_t = -math.inf  # it may still name the breakpoint just reached
                    yield ahead.moved
                    continue
                if k + 1 < n and ahead_t[k] > tau:  # breakpoints beyond k may lie on one straight line
                    k = self._last_straight(k, tau, x)
                t_k, x_k = ahead_t[k], ahead_km[k] - shift
                now = env.now
                dt = segment_hours(now, gap, catchup, tau, x, t_k, x_k)
                if dt > 0.0 and x_k > x and self.window is not None:
                    is_open, window_h = self.window.state(now)
                    if not is_open:  # laager where it stands until the window opens
                        self.target_t = -math.inf
                        segment = (now, now, tau, tau, x, x)
                        path.add(now, x)
                        yield Timeout(env, window_h)
                        continue
                    if window_h < dt:  # drive until the window closes, part-way to the breakpoint
                        t1 = now + window_h
                        tau1, x1 = stopped_at(t1, now, now + dt, tau, t_k, x, x_k)
                        segment = (now, t1, tau, tau1, x, x1)
                        self.target_t = t_k
                        path.add_stretch(now, x, t1, x1)
                        yield Timeout(env, window_h)
                        tau, x = tau1, x1
                        continue
                if dt > 0.0:
                    t1 = now + dt
                    segment = (now, t1, tau, t_k, x, x_k)
                    self.target_t = t_k  # set to -inf again before the unit next waits standing
                    path.add_stretch(now, x, t1, x_k)
                    yield Timeout(env, dt)
                else:
                    path.add(now, x_k)
                tau, x = t_k, x_k
                k += 1
            except simpy.Interrupt as stop:
                self.target_t = -math.inf
                now = env.now
                tau, x = stopped_at(now, *segment)
                segment = (now, now, tau, tau, x, x)
                path.revise(now, x)  # take back what the published path says beyond now
                if stop.cause is not REVISED:
                    yield from self._held(stop.cause)  # type: ignore[arg-type]
                k = bisect_right(ahead_t, tau)

    def _last_straight(self, k: int, tau: float, x: float) -> int:
        """Breakpoint k of the path ahead, or a later one when the path goes straight on through
        those in between (`newell.goes_straight_on`): one segment instead of several."""
        ahead_t, ahead_km, shift = self.ahead.t, self.ahead.km, self.shift_km
        t_k, x_k = ahead_t[k], ahead_km[k] - shift
        n = len(ahead_t)
        while k + 1 < n and t_k > tau:
            t_n, x_n = ahead_t[k + 1], ahead_km[k + 1] - shift
            if not goes_straight_on(tau, x, t_k, x_k, t_n, x_n):
                break
            k += 1
            t_k, x_k = t_n, x_n
        return k

    def _held(self, hold: "Hold") -> Generator[simpy.Event, None, None]:
        """Stand still until every hold raised into this unit is released."""
        env = self.env
        pending = [hold.released]
        started = env.now
        while pending:
            event = pending.pop()
            while not event.processed:
                try:
                    yield event
                except simpy.Interrupt as more:
                    if more.cause is not REVISED:
                        pending.append(more.cause.released)
        self.held_h += env.now - started
        self.path.add(env.now, self.path.km[-1])
