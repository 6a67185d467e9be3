import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convoysim.timewindows import DailyHours


def test_open_and_close_within_a_day():
    w = DailyHours([(6, 18)], offset_h=6)  # the clock starts at 06:00
    assert w.until_close(0) == 12
    assert w.until_open(0) == 0
    assert w.until_open(12) == 12  # 18:00 -> 06:00 next day
    assert w.until_close(12) == 0


def test_window_wrapping_midnight():
    w = DailyHours([(20, 4)], offset_h=0)
    assert w.until_close(22) == 6
    assert w.until_open(5) == 15
    assert w.hours_per_day == 8


def test_adjacent_windows_merge_across_midnight():
    w = DailyHours([(0, 6), (18, 24)], offset_h=0)
    assert w.until_close(20) == 10


def test_all_day_never_closes():
    w = DailyHours([(0, 24)], offset_h=7.5)
    assert w.always and w.until_close(3) == math.inf and w.until_open(3) == 0


def test_minus_cuts_out_the_night():
    night = DailyHours([(18, 6)], 0)
    march = DailyHours([(5, 22)], 0).minus(night)
    assert march.day == [(6, 18)]


def test_overlap_counts_hours_over_several_days():
    night = DailyHours([(18, 6)], offset_h=6)
    assert night.overlap(0, 24) == 12
    assert night.overlap(0, 72) == 36
    assert night.overlap(10, 14) == 2  # 16:00-20:00


spans = st.lists(st.tuples(st.floats(0, 24), st.floats(0, 24)), min_size=1, max_size=3)


@given(spans, st.floats(0, 24), st.floats(0, 200), st.floats(0, 50), st.floats(0, 50))
def test_overlap_is_additive_and_bounded(sp, offset, t0, d1, d2):
    w = DailyHours(sp, offset)
    a, b = w.overlap(t0, t0 + d1), w.overlap(t0 + d1, t0 + d1 + d2)
    assert w.overlap(t0, t0 + d1 + d2) == pytest.approx(a + b, abs=1e-6)
    assert -1e-9 <= a <= d1 + 1e-9


@given(spans, st.floats(0, 24), st.floats(0, 500))
def test_until_open_lands_inside_the_set(sp, offset, t):
    w = DailyHours(sp, offset)
    wait = w.until_open(t)
    if math.isinf(wait):
        assert w.hours_per_day == 0
    else:
        assert wait >= 0
        assert w.until_close(t + wait) > 0
