import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats

from convoysim.runs.compare import compare, crps_window, hit_rate, percentile_of, quantiles


def test_quantiles_match_numpy_when_all_arrived():
    x = np.random.default_rng(1).normal(50, 10, 101)
    assert quantiles(x) == pytest.approx(list(np.quantile(x, [0.1, 0.5, 0.9])))


def test_non_arrivals_are_later_than_any_date():
    x = np.array([1.0, 2.0, 3.0, np.nan, np.nan])
    p10, p50, p90 = quantiles(x)
    assert p10 == pytest.approx(1.4) and p50 == 3.0 and p90 == math.inf


def test_hit_rate_and_percentile_on_known_samples():
    x = np.array([0.0, 10.0, 20.0, 30.0, np.nan])
    assert hit_rate(x, 5.0, 25.0) == pytest.approx(0.4)
    assert percentile_of(x, 15.0) == pytest.approx(40.0)
    assert percentile_of(x, 20.0) == pytest.approx(50.0)  # a tie counts half


def test_crps_of_one_sample_is_the_absolute_error():
    assert crps_window(np.array([7.0]), 3.0, 3.0) == pytest.approx(4.0)


def test_crps_against_the_normal_closed_form():
    mu, sigma, y = 10.0, 2.0, 11.0
    x = stats.norm(mu, sigma).ppf((np.arange(20000) + 0.5) / 20000)
    z = (y - mu) / sigma
    exact = sigma * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / math.sqrt(math.pi))
    assert crps_window(x, y, y) == pytest.approx(exact, rel=1e-3)


@given(st.lists(st.floats(-50, 50), min_size=1, max_size=12), st.floats(-40, 40), st.floats(0.5, 30))
def test_window_crps_is_the_average_point_crps_over_the_window(samples, a, width):
    x = np.array(samples)
    b = a + width
    kinks = sorted({v for v in samples if a < v < b})
    numeric, _ = integrate.quad(lambda y: crps_window(x, y, y), a, b, limit=200, points=kinks or None)
    assert crps_window(x, a, b) == pytest.approx(numeric / width, rel=1e-5, abs=1e-6)


@given(st.lists(st.floats(-50, 50), min_size=1, max_size=30), st.floats(-40, 40), st.floats(0, 30))
def test_crps_is_never_negative(samples, a, width):
    assert crps_window(np.array(samples), a, a + width) >= -1e-9


def test_compare_scores_each_milestone_and_the_whole():
    arrivals = np.array([[0.0, 10.0, 20.0], [0.0, 12.0, 30.0], [0.0, 14.0, np.nan]])
    c = compare(arrivals, ["A", "B", "C"], [("B", 11.0, 13.0), ("C", 100.0, 110.0)], horizon_h=200.0)
    b, cc = c.milestones
    assert b.hit_rate == pytest.approx(1 / 3)
    assert b.window_meets_interval
    assert cc.p90_h == math.inf and cc.hit_rate == 0.0
    # The 80 % interval of C reaches +inf (never arrived), so the late window still meets it.
    assert cc.window_meets_interval
    assert c.coverage == 1.0
    # C's CRPS censors the non-arrival at the horizon (200 h).
    assert cc.crps_h == pytest.approx(crps_window(np.array([20.0, 30.0, 200.0]), 100.0, 110.0))
    assert c.mean_crps_h == pytest.approx((b.crps_h + cc.crps_h) / 2)


def test_window_outside_the_interval_is_a_miss():
    arrivals = np.column_stack([np.zeros(10), np.arange(10.0)])
    c = compare(arrivals, ["A", "B"], [("B", 50.0, 60.0)], horizon_h=100.0)
    assert not c.milestones[0].window_meets_interval and c.coverage == 0.0
