"""Monte Carlo output analysis: intervals that cover what they claim, and sequential replication
that stops when asked and gives the same numbers as a plain run of that size."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli, threatened_data

from convoysim.commands.run import EXIT_NOT_PRECISE
from convoysim.runs.montecarlo import run_monte_carlo
from convoysim.runs.precision import (
    MAX_REPLICATIONS,
    convergence,
    next_size,
    parse_duration_h,
    precision,
    precision_shortfall,
    proportion_interval,
    quantile_interval,
    reachability,
    run_until_precise,
)
from convoysim.scenario.loading import ScenarioSource, build_scenario


@pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
def test_quantile_intervals_cover_the_true_quantile_at_least_as_often_as_claimed(q):
    rng = np.random.default_rng(11)
    truth = -math.log(1 - q)  # exponential(1)
    trials = 600
    covered = sum(
        iv.low <= truth <= iv.high for iv in (quantile_interval(rng.exponential(size=60), q) for _ in range(trials))
    )
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
    assert run.replications == 60 and found.widest[0] > 0.001 and not found.reached(0.001)
    assert precision_shortfall(found, 0.001).startswith("precision ±0 min not reached within 60 replications")


def test_a_run_capped_short_of_the_target_exits_3(tmp_path, write_yaml):
    data = threatened_data()
    data["convoy"]["vehicles"], data["horizon_days"] = 200, 60
    result = run_cli(["run", str(write_yaml(data)), "--precision", "10min", "-n", "50", "--out", str(tmp_path / "run")])
    assert result.exit_code == EXIT_NOT_PRECISE and "not reached within 50 replications" in result.output


def test_precision_reports_hit_rates_and_coverage(threatened):
    documented = [{"waypoint": "C", "earliest": "2023-10-03T00:00:00Z", "latest": "2023-10-04T00:00:00Z"}]
    run = run_monte_carlo(
        build_scenario(ScenarioSource({**threatened_data(), "documented": documented})), replications=200, seed=1
    )
    found = precision(run)
    (c,) = found.waypoints
    assert c.waypoint == "C" and c.hit_rate is not None and c.hit_rate.low <= c.hit_rate.estimate <= c.hit_rate.high
    assert found.coverage is not None and 0 <= found.coverage.low <= found.coverage.high <= 1
    assert precision(run).coverage == found.coverage, "the bootstrap is seeded by the run"
    assert {r["estimate"] for r in found.rows() if not r["waypoint"].startswith("count:")} == {
        "p10_h",
        "p50_h",
        "p90_h",
        "hit_rate",
        "coverage",
    }


def test_counts_get_intervals_too(threatened):
    run = run_monte_carlo(threatened, replications=300, seed=4)
    found = precision(run, bootstrap=False)
    labels = [c.label for c in found.counts]
    assert labels == ["vehicles_lost (whole march)", "ied_strikes (whole march)"]
    lost = np.array(
        [
            sum(i[3] for i in r.incidents if i[0] in ("ied_strike", "ambush", "breakdown", "harassment"))
            for r in run.records
        ]
    )
    (vehicles, _) = found.counts
    assert vehicles.mean.low < lost.mean() < vehicles.mean.high and vehicles.mean.estimate == pytest.approx(lost.mean())
    assert [iv.estimate for iv in vehicles.quantiles] == [
        float(v) for v in np.quantile(lost, [0.1, 0.5, 0.9], method="inverted_cdf")
    ]
    rows = [r for r in found.rows() if r["waypoint"] == "count: vehicles_lost (whole march)"]
    assert [r["estimate"] for r in rows] == ["p10", "p50", "p90", "mean"]


def _bimodal(n: int, below: float, seed: int = 3) -> np.ndarray:
    """Exactly a share `below` of arrivals around hour 10, the rest around hour 40: an empty stretch of
    some 20 hours, as a breach or a bypass of a defended position gives."""
    rng = np.random.default_rng(seed)
    k = round(n * below)
    return rng.permutation(np.concatenate([rng.normal(10, 1, k), rng.normal(40, 1, n - k)]))


def test_a_quantile_at_a_gap_of_the_distribution_is_found_out_of_reach_with_the_reason():
    found = reachability(_bimodal(2000, 0.1), 0.1, 2.0, 20_000, "Kidal")
    assert found is not None and found.estimate == "Kidal p10" and "gap" in found.reason
    assert 9 < found.reachable_h < 20, "the interval keeps spanning the 20-hour gap: about ±10 h can be reached"
    # the same quantile well away from the gap (30 % below it) shrinks as usual
    assert reachability(_bimodal(2000, 0.3), 0.1, 2.0, 20_000) is None
    # a smooth distribution is never mistaken for one with a gap
    assert reachability(np.random.default_rng(1).normal(50, 5, 2000), 0.1, 0.5, 20_000) is None


def test_a_quantile_that_is_never_is_out_of_reach_with_no_target_at_all():
    x = np.where(np.random.default_rng(2).random(1000) < 0.8, 30.0 + np.random.default_rng(3).random(1000), np.nan)
    found = reachability(x, 0.9, 2.0, 20_000, "Kidal")
    assert found is not None and math.isinf(found.reachable_h) and "never" in found.reason


def test_a_target_too_fine_for_the_cap_is_found_from_the_shrinkage():
    found = reachability(np.random.default_rng(1).exponential(20, 1000), 0.5, 0.05, 2000)
    assert found is not None and "1/sqrt(n)" in found.reason and found.reachable_h > 0.05


def test_the_readme_command_converges_and_says_how_many_replications_it_took(tmp_path):
    """The README's in-class example converges (under a small cap), and the README quotes its count."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    command = re.search(r"convoysim run baseline --precision (\S+)\s", readme)
    assert command, "the README gives an in-class --precision example"
    result = run_cli(
        [
            "run",
            "baseline",
            "--precision",
            command.group(1),
            "-n",
            "2000",
            "--workers",
            "2",
            "--out",
            str(tmp_path / "run"),
        ]
    )
    assert result.exit_code == 0, result.output
    took = re.search(r"reached after (\d+) replications", result.output)
    assert took and f"after {int(took.group(1)):,} replications" in readme, "the README quotes the count of a real run"


def test_a_precision_out_of_reach_stops_early_says_why_and_exits_3(tmp_path):
    result = run_cli(["run", "baseline", "--precision", "2h", "--workers", "2", "--out", str(tmp_path / "run")])
    assert result.exit_code == EXIT_NOT_PRECISE, result.output
    assert "cannot be reached" in result.output and "gap of the distribution" in result.output
    assert "nearest reachable target: ±" in result.output
    stopped = int(re.search(r"stopped after (\d+) replications", result.output).group(1))
    assert stopped < MAX_REPLICATIONS / 4 and (tmp_path / "run" / "precision.csv").exists()
    nearest = re.search(r"nearest reachable target: (±\S+ h)", result.output).group(1)
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert f"it stops after {stopped:,} replications" in readme and f"nearest reachable {nearest}" in readme, (
        "the README quotes this run"
    )


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


def test_a_run_too_short_for_any_finite_interval_says_so_without_a_traceback(tmp_path):
    result = run_cli(["run", "baseline", "-n", "3", "--precision", "48h", "--out", str(tmp_path / "run")])
    assert result.exit_code == EXIT_NOT_PRECISE, result.output
    assert "'never' or too close to it" in result.output and "internal error" not in result.output
    assert "2.2 [" not in result.output, "a count's quantile is a whole number"
