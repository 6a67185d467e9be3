import math

import numpy as np
import pytest
from conftest import scenario_data
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats

from convoysim.runs.compare import (
    compare,
    compare_run,
    crps_window,
    hit_rate,
    percentile_of,
    pinned_waypoints,
    quantiles,
)
from convoysim.runs.montecarlo import run_monte_carlo
from convoysim.scenario.loading import ScenarioSource, build_scenario


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


def test_a_hold_pins_what_follows_it_when_the_column_waits_for_its_date():
    names = ["A", "B", "C", "D"]
    arrivals = np.array(
        [[0.0, 10.0, 60.0, 70.0], [0.0, 12.0, 61.0, 75.0], [0.0, 30.0, 80.0, 90.0], [0.0, np.nan, np.nan, np.nan]]
    )
    # Three of four replications reach B before the hold's date (20 h): C and D follow from that date.
    assert pinned_waypoints(names, [("B", 20.0)], arrivals) == {"C", "D"}
    # A date most replications reach B after does not fix anything (one of four waits for it).
    assert pinned_waypoints(names, [("B", 11.0)], arrivals) == set()
    # The earliest binding hold pins everything after it; no hold, nothing pinned.
    assert pinned_waypoints(names, [("C", 100.0), ("B", 20.0)], arrivals) == {"C", "D"}
    assert pinned_waypoints(names, [], arrivals) == set()


def test_pinned_milestones_are_left_out_of_the_predicted_figures():
    arrivals = np.array([[0.0, 10.0, 20.0], [0.0, 12.0, 30.0], [0.0, 14.0, 25.0]])
    c = compare(arrivals, ["A", "B", "C"], [("B", 100.0, 110.0), ("C", 19.0, 31.0)], horizon_h=200.0, pinned={"C"})
    b, cc = c.milestones
    assert (b.label, cc.label) == ("predicted", "pinned")
    assert c.coverage == 0.5 and c.predicted_coverage == 0.0 and c.predicted_date_coverage == 0.0
    assert c.predicted_mean_crps_h == pytest.approx(b.crps_h)
    assert c.mean_crps_h == pytest.approx((b.crps_h + cc.crps_h) / 2)
    summary = c.summary()
    assert summary["pinned"] == 1 and summary["dates"] == 2 and summary["counts"] == 0
    assert summary["count_coverage"] is None and summary["mean_rps"] is None


def test_compare_run_pins_after_a_binding_hold_only():
    def comparison(until: str):
        data = scenario_data(halts={"holds": [{"waypoint": "B", "until": until}]})
        data["documented"] = [
            {"waypoint": w, "earliest": "2023-10-02T06:00:00Z", "latest": "2023-10-09T06:00:00Z"} for w in ("B", "C")
        ]
        run = run_monte_carlo(build_scenario(ScenarioSource(data)), replications=5, seed=1)
        return compare_run(run)

    # The column reaches B (100 km at 20 km/h) at 11:00 on 2 Oct.
    late = comparison("2023-10-05T06:00:00Z")
    assert [m.pinned for m in late.milestones] == [False, True]
    early = comparison("2023-10-02T08:00:00Z")
    assert [m.pinned for m in early.milestones] == [False, False]
