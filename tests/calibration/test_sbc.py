"""Simulation-based calibration (calibration/sbc.py): a small SBC of the real procedure that fails
when its posterior is systematically too narrow, checked to fail on a deliberately narrowed one."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from conftest import SYNTHETIC
from hypothesis import given, settings
from hypothesis import strategies as st

from convoysim.calibration.abc import AbcSettings, CalibrationProblem, Population, check_priors, parse_param
from convoysim.calibration.sbc import (
    RANK_DRAWS,
    draw_truth,
    flatness_p,
    narrowed,
    posterior_rank,
    rank_histogram,
    run_sbc,
    sbc_table,
    synthetic_documents,
    truth_rows,
)
from convoysim.scenario.loading import build_scenario, read_source

WIDTH_H = 12.0
DOCUMENTED = {
    "documented": [
        {"waypoint": "B", "earliest": "2023-01-01T12:00:00Z", "latest": "2023-01-02T00:00:00Z"},
        {"waypoint": "D", "earliest": "2023-01-02T12:00:00Z", "latest": "2023-01-03T00:00:00Z"},
    ]
}
"""Two 12-hour windows; SBC keeps their widths and moves them to each synthetic convoy."""

TRUTHS = 10
SEED = 7


def too_narrow(table: list[dict]) -> list[str]:
    """The parameters whose posteriors are systematically too narrow over the truths: fewer than
    half the truths inside the nominal 80 % interval, or a mean squared standardised error above 3
    (about 1 for an honest posterior; an interval 3 times too narrow makes it about 9)."""
    return [r["parameter"] for r in table if r["coverage_ci80"] < 0.5 or r["mean_z2"] > 3.0]


@pytest.fixture(scope="module")
def problem(tmp_path_factory) -> CalibrationProblem:
    path = tmp_path_factory.mktemp("sbc") / "synthetic.yaml"
    path.write_text(SYNTHETIC + yaml.safe_dump(DOCUMENTED))
    source = read_source(path)
    scenario = build_scenario(source)
    priors = tuple(check_priors(source, scenario, [parse_param("convoy.speed_kmh.median=6:24")]))
    return CalibrationProblem(source, scenario, priors, replications=5)


@pytest.fixture(scope="module")
def fitted(problem, tmp_path_factory):
    """A few truths, one parameter, a tiny budget: fitted once, scored as fitted and narrowed."""
    settings_ = AbcSettings(population_size=40, budget=320, max_generations=6)
    return run_sbc(problem, settings_, TRUTHS, SEED, tmp_path_factory.mktemp("fits"))


def scored(truths, priors, shrink: float = 1.0) -> list[dict]:
    rows = [row for t in truths for row in truth_rows(t, priors, SEED, narrowed(t.posterior, shrink))]
    return sbc_table(rows, priors, bins=2)


def test_the_calibration_posterior_is_not_too_narrow(problem, fitted):
    table = scored(fitted, problem.priors)
    assert not too_narrow(table), table
    assert table[0]["truths"] == TRUTHS


def test_an_overconfident_posterior_fails_the_same_check(problem, fitted):
    """The check has teeth: the same fits with every posterior's spread divided by 3 fail it."""
    honest, overconfident = scored(fitted, problem.priors), scored(fitted, problem.priors, shrink=3.0)
    assert too_narrow(overconfident) == [problem.priors[0].name], overconfident
    assert overconfident[0]["coverage_ci80"] < honest[0]["coverage_ci80"]


def test_truths_and_fits_follow_the_seed(problem, fitted):
    again = draw_truth(problem.priors, SEED, 3)
    assert again[0] == fitted[3].theta[0]
    assert 6 <= again[0] <= 24
    assert len({t.theta[0] for t in fitted}) == TRUTHS


def test_synthetic_documents_keep_the_widths_and_hold_the_replication(problem):
    rng = np.random.default_rng(1)
    docs = synthetic_documents(problem, 0, [12.0], rng)
    assert [d["waypoint"] for d in docs] == ["B", "D"]
    for doc in docs:
        earliest, latest = (np.datetime64(doc[k].replace("+00:00", "")) for k in ("earliest", "latest"))
        assert (latest - earliest) / np.timedelta64(1, "h") == pytest.approx(WIDTH_H)
        assert "synthetic" in doc["note"]
    start = np.datetime64("2023-01-01T06:00")
    d_earliest_h = (np.datetime64(docs[1]["earliest"].replace("+00:00", "")) - start) / np.timedelta64(1, "h")
    expected_h = 400 / 12.0 + 10  # 400 km at 12 km/h and the 10-hour halt at B, give or take their spread
    assert d_earliest_h <= 1.3 * expected_h and d_earliest_h + WIDTH_H >= 0.7 * expected_h, d_earliest_h


def test_a_flat_rank_histogram_passes_and_a_piled_one_fails():
    assert flatness_p(np.array([10, 10, 10, 10, 10])) == pytest.approx(1.0)
    assert flatness_p(np.array([25, 0, 0, 0, 25])) < 1e-6
    assert rank_histogram([0, 19, 20, 99, 50], bins=5).tolist() == [2, 1, 1, 0, 1]
    with pytest.raises(ValueError, match="evenly"):
        rank_histogram([0], bins=3)


@settings(max_examples=30, deadline=None)
@given(st.floats(-5, 5), st.integers(0, 10_000))
def test_the_rank_counts_the_posterior_draws_below_the_truth(value, seed):
    particles = np.linspace(-3, 3, 61)[:, None]
    pop = Population(1, 1.0, particles, np.full(61, 1 / 61), np.zeros(61), 61)
    rank = posterior_rank(pop, 0, value, np.random.default_rng(seed))
    assert 0 <= rank <= RANK_DRAWS
    if value < -3:
        assert rank == 0
    if value > 3:
        assert rank == RANK_DRAWS


def test_narrowing_divides_the_spread_and_keeps_the_mean():
    rng = np.random.default_rng(0)
    pop = Population(1, 1.0, rng.normal(5, 2, (200, 2)), np.full(200, 1 / 200), np.zeros(200), 200)
    thin = narrowed(pop, 3.0)
    assert np.allclose(thin.particles.mean(axis=0), pop.particles.mean(axis=0))
    assert np.allclose(thin.particles.std(axis=0), pop.particles.std(axis=0) / 3)
