"""Monte Carlo output analysis: intervals that cover what they claim, and sequential replication
that stops when asked and gives the same numbers as a plain run of that size."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import run_cli, threatened_data
from convoysim.runs.montecarlo import run_monte_carlo
from convoysim.runs.precision import (convergence, next_size, parse_duration_h, precision, proportion_interval,
                                      quantile_interval, run_until_precise)
from convoysim.scenario.loading import ScenarioSource, build_scenario


@pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
def test_quantile_intervals_cover_the_true_quantile_at_least_as_often_as_claimed(q):
    rng = np.random.default_rng(11)
    truth = -math.log(1 - q)  # exponential(1)
    trials = 600
    covered = sum(iv.low <= truth <= iv.high for iv in (quantile_interval(rng.exponential(size=60), q) for _ in range(trials)))
    assert covered / trials >= 0.93


def test_a_quantile_that_is_never_reached_has_no_finite_interval():
    samples = np.array([1.0, 2.0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan])
    iv = quantile_interval(samples, 0.5)
    assert math.isinf(iv.estimate) and math.isinf(iv.high) and iv.half_width == math.inf


def test_wilson_intervals_cover_and_stay_inside_zero_one():
    rng = np.random.default_rng(5)
    p, n = 0.15, 80
    hits = rng.binomial(n, p, size=800)
    ivs = [proportion_interval(int(h), n) for h in hits]
    assert np.mean([iv.low <= p <= iv.high for iv in ivs]) >= 0.93
    none = proportion_interval(0, 40)
    assert none.low == 0.0 and 0 < none.high < 0.12


def test_intervals_narrow_as_replications_grow():
    rng = np.random.default_rng(2)
    points = convergence(rng.lognormal(size=2000), q=0.5, steps=12)
    widths = [p.high - p.low for p in points]
    assert points[-1].replications == 2000 and widths[-1] < widths[0] / 5


def test_next_size_aims_at_the_width_asked():
    assert next_size(400, 12.0, 6.0) == 800  # 4x wanted, at most doubled
    assert next_size(1600, 7.0, 6.0) == 2400  # 1600 * (7/6)^2 * 1.1 = 2396 -> whole blocks
    assert next_size(100, math.inf, 6.0) == 200


@pytest.fixture(scope="module")
def threatened():
    """Ambushes and IEDs, but a column strong enough to always arrive (finite quantiles)."""
    data = threatened_data()
    data["convoy"]["vehicles"] = 200
    data["horizon_days"] = 60
    return build_scenario(ScenarioSource(data))


def test_sequential_replication_stops_when_precise_and_matches_a_plain_run(threatened):
    reports = []
    run, found = run_until_precise(threatened, 3.0, seed=9, block=50, report=reports.append)
    assert found.widest[0] <= 3.0
    assert [p.replications for p in reports] == sorted({p.replications for p in reports})
    assert reports[-1].replications == run.replications and all(p.widest[0] > 3.0 for p in reports[:-1])
    plain = run_monte_carlo(threatened, replications=run.replications, seed=9)
    np.testing.assert_array_equal(plain.arrivals(), run.arrivals())


def test_sequential_replication_gives_up_at_the_maximum(threatened):
    run, found = run_until_precise(threatened, 0.001, seed=9, block=20, max_replications=60)
    assert run.replications == 60 and found.widest[0] > 0.001


def test_precision_reports_hit_rates_and_coverage(threatened):
    documented = [{"waypoint": "C", "earliest": "2023-10-03T00:00:00Z", "latest": "2023-10-04T00:00:00Z"}]
    run = run_monte_carlo(build_scenario(ScenarioSource({**threatened_data(), "documented": documented})),
                          replications=200, seed=1)
    found = precision(run)
    (c,) = found.waypoints
    assert c.waypoint == "C" and c.hit_rate is not None and c.hit_rate.low <= c.hit_rate.estimate <= c.hit_rate.high
    assert found.coverage is not None and 0 <= found.coverage.low <= found.coverage.high <= 1
    assert precision(run).coverage == found.coverage, "the bootstrap is seeded by the run"
    assert {r["estimate"] for r in found.rows()} == {"p10_h", "p50_h", "p90_h", "hit_rate", "coverage"}


def test_durations_parse_and_bad_ones_are_named():
    assert parse_duration_h("2h") == 2 and parse_duration_h("90min") == 1.5 and parse_duration_h("1d") == 24
    assert parse_duration_h("3") == 3
    for bad in ("soon", "-2h", "0h"):
        with pytest.raises(ValueError):
            parse_duration_h(bad)


def test_the_cli_runs_until_precise_and_writes_the_intervals(tmp_path, write_yaml):
    data = threatened_data()
    data["convoy"]["vehicles"], data["horizon_days"] = 200, 60
    result = run_cli(["run", str(write_yaml(data)), "--precision", "4h", "--seed", "2", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "precision ±4.0 h reached after" in result.output and "how precise the estimates are" in result.output
    assert "p50 ±" in result.output
    assert (tmp_path / "run" / "precision.csv").read_text().startswith("waypoint,estimate,value,low,high,half_width")


def test_a_bad_precision_is_one_line_and_exit_2(write_yaml):
    result = run_cli(["run", str(write_yaml(threatened_data())), "--precision", "soon"])
    assert result.exit_code == 2 and "--precision" in result.output and "Traceback" not in result.output
