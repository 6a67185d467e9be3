"""Calibration on a Dask cluster gives the local pool's posterior for the same seed."""

import re

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import baseline_problem

from convoysim.calibration.abc import AbcSettings, CalibrationProblem, DaskEvaluator, PoolEvaluator, run_abc_smc
from convoysim.commands.cli import main
from convoysim.runs.pool import DaskExecutor

PRIORS = ["convoy.speed_kmh.median=9:20", "threats.ambush.hazard_per_h=0.01:0.08"]
FIT = [
    "--budget",
    "40",
    "--population",
    "10",
    "--particle-replications",
    "2",
    "--max-generations",
    "2",
    "--check-replications",
    "5",
    "--seed",
    "4",
]


@pytest.fixture(scope="module")
def problem() -> CalibrationProblem:
    return baseline_problem(PRIORS, 2)


def test_a_local_cluster_gives_the_pools_posterior(problem):
    settings = AbcSettings(seed=8, population_size=10, budget=60, max_generations=3)
    with PoolEvaluator(problem, 2) as pool:
        local = run_abc_smc(problem, settings, pool)
    with DaskEvaluator(problem, workers=2, processes=False) as cluster:
        dask = run_abc_smc(problem, settings, cluster)
    assert len(dask.populations) == len(local.populations) >= 2
    for a, b in zip(local.populations, dask.populations):
        np.testing.assert_array_equal(a.particles, b.particles)
        np.testing.assert_array_equal(a.weights, b.weights)
        np.testing.assert_array_equal(a.distances, b.distances)


def test_cli_calibrates_on_a_running_scheduler_to_the_same_files(tmp_path):
    from distributed import LocalCluster

    local = tmp_path / "local"
    result = CliRunner().invoke(
        main, ["calibrate", "baseline", *sum((["-p", p] for p in PRIORS), []), *FIT, "-o", str(local)]
    )
    assert result.exit_code == 0, result.output
    remote = tmp_path / "remote"
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        result = CliRunner().invoke(
            main,
            [
                "calibrate",
                "baseline",
                *sum((["-p", p] for p in PRIORS), []),
                *FIT,
                "-o",
                str(remote),
                "--executor",
                "dask",
                "--scheduler",
                cluster.scheduler_address,
            ],
        )
    assert result.exit_code == 0, result.output
    for name in ("posterior.csv", "posterior_summary.csv", "history.csv", "calibrated.yaml"):
        assert _undated((local / name).read_text()) == _undated(
            (remote / name).read_text().replace(str(remote), str(local))
        ), name


def _undated(text: str) -> str:
    """calibrated.yaml says when it was written, to the minute: two runs may straddle a minute."""
    return re.sub(
        r"Calibrated by convoysim on \d{4}-\d\d-\d\d \d\d:\d\d UTC", "Calibrated by convoysim on <date>", text
    )


def test_calibrate_with_a_scheduler_but_no_dask_is_refused(tmp_path):
    result = CliRunner().invoke(main, ["calibrate", "baseline", "-p", PRIORS[0], "--scheduler", "tcp://x:1"])
    assert result.exit_code == 2 and "--executor dask" in result.output


def test_calibrate_on_an_unreachable_scheduler_is_a_clean_error(tmp_path, monkeypatch):
    monkeypatch.setattr(DaskExecutor, "connect_timeout_s", 1)
    result = CliRunner().invoke(
        main,
        [
            "calibrate",
            "baseline",
            "-p",
            PRIORS[0],
            *FIT,
            "-o",
            str(tmp_path / "o"),
            "--executor",
            "dask",
            "--scheduler",
            "tcp://127.0.0.1:9",
        ],
    )
    assert result.exit_code == 2, result.output
    assert "cannot reach the Dask scheduler" in result.output and "Traceback" not in result.output


def test_a_small_corpus_calibration_on_a_local_cluster_gives_the_pools_posterior(tmp_path):
    """Three shipped corpus convoys fitted jointly with the relative distance: the same particles,
    weights, per-convoy distances and kept proposals on a LocalCluster as on the local pool."""
    from convoysim.calibration.priors import check_priors, parse_param
    from convoysim.calibration.validation import corpus_files
    from convoysim.scenario.loading import build_scenario, read_source

    shipped = corpus_files("corpus")
    corpus = tmp_path / "three.yaml"
    chosen = [f for f in shipped if f.stem in ("ne-tera-niamey-2023", "sv-bamako-gao-2013", "bk-tombouctou-2021")]
    corpus.write_text("corpus:\n" + "".join(f"  - {f}\n" for f in chosen), encoding="utf-8")
    members = [(s, build_scenario(s)) for s in (read_source(f) for f in corpus_files(corpus))]
    (source, base), others = members[0], tuple(members[1:])
    specs = ["theatre.kinds.logistics.speed_kmh.median=8:30", "theatre.roads.paved.speed_factor=1:3"]
    priors = check_priors(source, base, [parse_param(p) for p in specs], others)
    problem = CalibrationProblem(source, base, tuple(priors), 1, "relative", others)
    settings = AbcSettings(seed=6, population_size=8, budget=40, max_generations=2)
    with PoolEvaluator(problem, 2) as pool:
        local = run_abc_smc(problem, settings, pool)
    with DaskEvaluator(problem, workers=2, processes=False) as cluster:
        dask = run_abc_smc(problem, settings, cluster)
    assert len(dask.populations) == len(local.populations) == 2
    for a, b in zip(local.populations, dask.populations):
        np.testing.assert_array_equal(a.particles, b.particles)
        np.testing.assert_array_equal(a.weights, b.weights)
        np.testing.assert_array_equal(a.member_distances, b.member_distances)
        np.testing.assert_array_equal(a.proposals.member_distances, b.proposals.member_distances)
        np.testing.assert_array_equal(a.proposals.weights, b.proposals.weights)
    assert local.posterior.member_distances.shape == (8, 3)
