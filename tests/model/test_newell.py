"""Newell's car-following geometry (model/newell.py): hand-computed cases and invariants."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from convoysim.model.newell import goes_straight_on, segment_hours, stopped_at


def test_a_follower_keeps_its_gap_behind_the_tail():
    # at clock 1 h it stands where the tail was at tau = 0.75 h; the tail reached km 10 at 2 h,
    # the gap is 0.25 h: it arrives at 2.25 h, 1.25 h from now
    assert segment_hours(1.0, 0.25, 1.1, 0.75, 0.0, 2.0, 10.0) == 1.25


def test_a_follower_that_fell_behind_catches_up_at_most_catchup_times_faster():
    # the tail took 1 h (tau 1 -> 2) for the stretch; the follower is 2 h late and may be 1.25x
    # as fast: it takes 0.8 h, not the 1 h - 2 h its gap would ask for
    assert segment_hours(3.25, 0.25, 1.25, 1.0, 0.0, 2.0, 10.0) == 0.8


def test_a_breakpoint_without_road_to_cover_waits_or_takes_no_time():
    assert segment_hours(1.0, 0.25, 1.1, 0.75, 10.0, 2.0, 10.0) == 1.25  # the tail stood still: stand as long
    assert segment_hours(5.0, 0.25, 1.1, 0.75, 10.0, 2.0, 10.0) == 0.0  # its time has passed


def test_straight_on_through_a_collinear_breakpoint_only():
    assert goes_straight_on(0.0, 0.0, 1.0, 10.0, 2.0, 20.0)
    assert not goes_straight_on(0.0, 0.0, 1.0, 10.0, 2.0, 10.0)  # the tail stops at the breakpoint


def test_stopped_part_way_and_after_the_end():
    assert stopped_at(1.5, 1.0, 2.0, 0.0, 4.0, 0.0, 10.0) == (2.0, 5.0)
    assert stopped_at(3.0, 1.0, 2.0, 0.0, 4.0, 0.0, 10.0) == (4.0, 10.0)
    assert stopped_at(1.0, 1.0, 1.0, 3.0, 3.0, 7.0, 7.0) == (3.0, 7.0)  # a segment of no length


hours = st.floats(min_value=0.0, max_value=1e3, allow_nan=False)
kms = st.floats(min_value=-10.0, max_value=1e3, allow_nan=False)


@given(
    hours,
    st.floats(min_value=0.0, max_value=2.0),
    st.floats(min_value=1.0, max_value=3.0),
    hours,
    st.floats(min_value=1e-3, max_value=100.0),
    kms,
    st.floats(min_value=0.0, max_value=100.0),
)
def test_segment_hours_respects_the_gap_and_the_catchup_speed(now, gap, catchup, tau, dtau, x, dx):
    t_k, x_k = tau + dtau, x + dx
    dt = segment_hours(now, gap, catchup, tau, x, t_k, x_k)
    assert dt >= 0.0
    if x_k > x:
        assert dt >= (t_k - tau) / catchup  # never faster than catchup times the tail's pace
        assert now + dt >= t_k + gap - 1e-9 * (1 + now + t_k)  # never closer than its gap behind the tail


@given(
    hours,
    st.floats(min_value=0.0, max_value=10.0),
    hours,
    st.floats(min_value=0.0, max_value=10.0),
    kms,
    st.floats(min_value=0.0, max_value=100.0),
    st.floats(min_value=0.0, max_value=2.0),
)
def test_stopped_at_lies_on_the_segment(t0, dt, tau0, dtau, x0, dx, where):
    t1 = t0 + dt
    tau, x = stopped_at(t0 + where * dt, t0, t1, tau0, tau0 + dtau, x0, x0 + dx)
    assert min(tau0, tau0 + dtau) - 1e-9 <= tau <= tau0 + dtau + 1e-9
    assert x0 - 1e-9 <= x <= x0 + dx + 1e-9
