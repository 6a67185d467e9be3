"""Newell's car-following rule as plain geometry on (time, km) paths: no SimPy, no state.

A follower's head passes every point of the road `gap_h` after the tail of the unit ahead did. The
path of the unit ahead is a list of breakpoints (t, km) of its head; shifted back by that unit's
length it is the path of its tail. A follower that stands at (tau, x) on that tail path (it is
where the tail was at time tau, however late) heads for the next breakpoint (t_k, x_k):

- it may leave for it no earlier than `gap_h` after the tail did, so it arrives at `t_k + gap_h`
  at the earliest (`segment_hours`);
- it drives at most `catchup` times as fast as the tail did, so a unit that fell behind catches
  up gradually, and it never passes the unit ahead;
- breakpoints where the tail's path goes straight on need no segment of their own
  (`goes_straight_on`).

An interruption (the path ahead was revised, or the unit is held) stops the follower part-way
along a segment (`stopped_at`). `units.Follower` is the SimPy process that applies these rules.
"""

from __future__ import annotations

STRAIGHT_RTOL = 1e-9
"""Relative tolerance (of the time spanned) under which three breakpoints count as one straight line."""


def goes_straight_on(tau: float, x: float, t_k: float, x_k: float, t_n: float, x_n: float) -> bool:
    """Whether breakpoint (t_k, x_k) lies on the straight line from (tau, x) to (t_n, x_n).

    The follower then runs on to (t_n, x_n) in one segment instead of two: same path, one event
    less. The cross product is compared with a tolerance relative to the time spanned."""
    d = (x_k - x) * (t_n - t_k) - (x_n - x_k) * (t_k - tau)
    tol = STRAIGHT_RTOL * (t_n - tau)
    return not (d > tol or -d > tol)


def segment_hours(now: float, gap_h: float, catchup: float, tau: float, x: float, t_k: float, x_k: float) -> float:
    """Hours the follower, at (tau, x) on the tail's path at clock `now`, takes to reach (t_k, x_k).

    It arrives `gap_h` after the tail did (t_k + gap_h), but no sooner than `catchup` times the
    tail's own speed allows when it has road to cover; a breakpoint it already stands at, or
    one whose time has passed, takes no time (0)."""
    dtau = t_k - tau
    dt = dtau - (now - gap_h - tau)
    if x_k > x:
        if dt < dtau / catchup:
            dt = dtau / catchup
    elif dt < 0.0:
        dt = 0.0
    return dt


def stopped_at(now: float, t0: float, t1: float, tau0: float, tau1: float, x0: float, x1: float) -> tuple[float, float]:
    """Where on its segment (clock t0 -> t1, tail-path time tau0 -> tau1, km x0 -> x1) a follower
    interrupted at clock `now` stands: (tau, x), linear in between, the segment's end once it is over."""
    f = (now - t0) / (t1 - t0) if t1 > t0 else 1.0
    if f > 1.0 or now > t1:
        f = 1.0
    return tau0 + f * (tau1 - tau0), x0 + f * (x1 - x0)
