"""Count scores on cases with known answers, counts read from real replications, and bad count
windows refused through the real CLI."""

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from conftest import threatened_data
from hypothesis import given
from hypothesis import strategies as st
from scipy import special, stats

from convoysim.commands.cli import main
from convoysim.runs.compare import compare_run
from convoysim.runs.counts import (
    COUNTED,
    count_matrix,
    count_percentile,
    count_quantiles,
    count_windows,
    counted_incidents,
    rps_cdf,
    rps_window,
    score_count,
    share_inside,
)
from convoysim.runs.montecarlo import run_monte_carlo
from convoysim.scenario.loading import ScenarioSource, build_scenario
from convoysim.scenario.schema import COUNT_KINDS


def poisson_crps(lam: float, y: int) -> float:
    """Closed form of the CRPS (= RPS) of a Poisson(lam) forecast at y (Wei and Held 2014)."""
    f, p = stats.poisson.cdf(y, lam), stats.poisson.pmf(y, lam)
    bessel = special.i0e(2 * lam) + special.i1e(2 * lam)  # exp(-2 lam) (I0 + I1), scaled
    return (y - lam) * (2 * f - 1) + 2 * lam * p - lam * bessel


def test_degenerate_forecast_scores_the_distance_to_the_count():
    # Every replication counts 3: the RPS is |3 - y| for a point y, 0 when right.
    x = np.full(50, 3)
    assert rps_window(x, 3, 3) == 0.0
    assert rps_window(x, 1, 1) == 2.0
    assert rps_window(x, 7, 7) == 4.0
    assert share_inside(x, 2, 4) == 1.0 and share_inside(x, 4, 6) == 0.0
    assert count_quantiles(x) == [3, 3, 3]
    assert count_percentile(x, 3) == 50.0 and count_percentile(x, 5) == 100.0


@pytest.mark.parametrize("lam, y", [(0.5, 0), (1.5, 1), (1.5, 4), (6.0, 2), (12.0, 12)])
def test_poisson_rps_matches_its_closed_form(lam, y):
    cdf = stats.poisson.cdf(np.arange(200), lam)
    assert rps_cdf(cdf, y, y) == pytest.approx(poisson_crps(lam, y), rel=1e-9, abs=1e-12)


def test_window_rps_is_the_average_point_rps_over_the_window():
    x = np.random.default_rng(4).poisson(2.5, 400)
    points = [rps_window(x, y, y) for y in range(1, 7)]
    assert rps_window(x, 1, 6) == pytest.approx(np.mean(points))


@given(st.lists(st.integers(0, 20), min_size=1, max_size=40), st.integers(0, 15), st.integers(0, 6))
def test_rps_is_never_negative_and_zero_only_for_a_sure_exact_count(samples, low, width):
    x = np.array(samples)
    score = rps_window(x, low, low + width)
    assert score >= -1e-12
    assert (score < 1e-12) == (width == 0 and set(samples) == {low})


def test_score_count_on_a_known_sample():
    x = np.array([0, 1, 1, 2, 5])
    s = score_count(x, 1, 2)
    assert s.hit_rate == pytest.approx(0.6)
    assert s.percentile == pytest.approx(100 * (3 / 5))  # 1.5 lies above 0, 1, 1 and below 2, 5
    assert (s.p10, s.p50, s.p90) == (0, 1, 5)
    assert s.window_meets_interval
    assert not score_count(x, 6, 9).window_meets_interval


def test_every_schema_kind_is_counted():
    assert set(COUNTED) == set(COUNT_KINDS)


def test_counts_over_the_whole_march_equal_the_record_totals():
    scenario = build_scenario(
        ScenarioSource(
            {
                **threatened_data(),
                "documented": [
                    {"count": kind, "low": 0, "high": 3}
                    for kind in (
                        "ied_strikes",
                        "ieds_found",
                        "ambushes",
                        "harassments",
                        "breakdowns",
                        "vehicles_lost",
                        "lost_ied",
                        "lost_ambush",
                        "lost_harassment",
                    )
                ],
            }
        )
    )
    run = run_monte_carlo(scenario, replications=40, seed=7)
    windows = count_windows(scenario, run.plan.road_km)
    m = count_matrix([r.incidents for r in run.records], windows, run.plan.start)
    totals = np.array(
        [
            [
                r.ied_strikes,
                r.ieds_found,
                r.ambushes,
                r.harassments,
                r.breakdowns,
                sum(r.lost.values()),
                r.lost["ied"],
                r.lost["ambush"],
                r.lost["harassment"],
            ]
            for r in run.records
        ]
    )
    np.testing.assert_array_equal(m, totals)
    assert m.sum() > 0, "the scenario must produce incidents for this test to mean anything"


def test_a_stretch_counts_only_what_happens_on_it_and_nights_are_distinct():
    scenario = build_scenario(
        ScenarioSource(
            {
                **threatened_data(),
                "documented": [
                    {"count": "ambushes", "low": 0, "high": 1, "to_place": "B"},
                    {"count": "ambushes", "low": 0, "high": 1, "from_place": "B"},
                    {"count": "ambushes", "low": 0, "high": 1},
                    {"count": "harassments", "low": 0, "high": 1},
                    {"count": "harassed_nights", "low": 0, "high": 1},
                    {"count": "ambushes", "low": 0, "high": 1, "to_time": "2023-10-03T00:00:00Z"},
                ],
            }
        )
    )
    run = run_monte_carlo(scenario, replications=60, seed=3)
    m = count_matrix([r.incidents for r in run.records], count_windows(scenario, run.plan.road_km), run.plan.start)
    np.testing.assert_array_equal(m[:, 0] + m[:, 1], m[:, 2])
    assert (m[:, 0] > 0).any() and (m[:, 1] > 0).any()
    assert (m[:, 4] <= m[:, 3]).all() and (m[:, 4] < m[:, 3]).any(), "two attacks in one night count one night"
    early = [sum(1 for kind, t, _, _ in r.incidents if kind == "ambush" and t < 18.0) for r in run.records]
    np.testing.assert_array_equal(m[:, 5], early)  # the start is 06:00 on 2 Oct: 3 Oct 00:00 is 18 h in


def test_compare_run_scores_counts_beside_dates():
    data = threatened_data()
    data["documented"] = [
        {"waypoint": "C", "earliest": "2023-10-02T06:00:00Z", "latest": "2023-10-12T06:00:00Z"},
        {"count": "ambushes", "low": 0, "high": 0, "note": "none", "source": "assumed"},
    ]
    run = run_monte_carlo(build_scenario(ScenarioSource(data)), replications=50, seed=2)
    c = compare_run(run)
    assert len(c.milestones) == 1 and len(c.counts) == 1
    zero = np.mean([r.ambushes == 0 for r in run.records])
    assert c.counts[0].hit_rate == pytest.approx(zero)
    assert c.coverage == pytest.approx((c.milestones[0].window_meets_interval + c.counts[0].window_meets_interval) / 2)
    assert c.count_coverage == float(c.counts[0].window_meets_interval)
    assert c.mean_rps == c.counts[0].rps and c.counts[0].source == "assumed"


BAD = [
    ("{count: ied_strikes, low: 3, high: 1}", ["documented[0]", "high (1) is below low (3)"]),
    ("{count: ied_strikes, low: -1, high: 1}", ["documented[0].low", "greater than or equal to 0"]),
    ("{count: ied_strike, low: 1, high: 1}", ["documented[0].count", "unknown count kind 'ied_strike'", "ied_strikes"]),
    ("{count: ambushes, low: 1, high: 1, from_place: Bb}", ["documented[0].from_place", "unknown waypoint 'Bb'"]),
    ("{count: ambushes, low: 1, high: 1, from_place: C, to_place: B}", ["documented[0].to_place", "not after"]),
]


@pytest.mark.parametrize("entry, words", BAD)
def test_bad_count_windows_exit_2_with_one_line(tmp_path, write_yaml, entry, words):
    data = threatened_data()
    text = yaml.safe_dump(data, sort_keys=False) + f"documented:\n  - {entry}\n"
    path = write_yaml(text)
    for command in (["run", str(path), "-n", "2", "--out", str(tmp_path / "r")], ["validate", str(path), "-n", "2"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
        assert f"{path}:" in result.output and all(w in result.output for w in words), result.output
    assert not (tmp_path / "r").exists()


def test_wounded_and_killed_are_counted_where_the_incident_that_hurt_them_happened():
    data = threatened_data()
    for threat in ("ied", "ambush"):
        data["threats"][threat].update(
            wounded_per_vehicle_hit={"dist": "poisson", "mean": 1.5},
            killed_per_vehicle_hit={"dist": "poisson", "mean": 0.5},
        )
    data["documented"] = [
        {"count": "wounded", "low": 0, "high": 3},
        {"count": "killed", "low": 0, "high": 3},
        {"count": "wounded", "low": 0, "high": 3, "to_place": "B"},
        {"count": "wounded", "low": 0, "high": 3, "from_place": "B"},
    ]
    scenario = build_scenario(ScenarioSource(data))
    run = run_monte_carlo(scenario, replications=60, seed=11)
    m = count_matrix(
        [counted_incidents(r) for r in run.records], count_windows(scenario, run.plan.road_km), run.plan.start
    )
    np.testing.assert_array_equal(m[:, 0], [sum(r.wounded.values()) for r in run.records])
    np.testing.assert_array_equal(m[:, 1], [sum(r.killed.values()) for r in run.records])
    np.testing.assert_array_equal(m[:, 2] + m[:, 3], m[:, 0])
    assert m[:, 0].sum() > 0 and m[:, 1].sum() > 0, "the scenario must hurt people for this test to mean anything"
