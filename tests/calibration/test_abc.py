"""ABC-SMC calibration: recovery of known parameters, reproducibility, resuming, priors and the CLI."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from conftest import SYNTHETIC
from hypothesis import given
from hypothesis import strategies as st

from convoysim.calibration.abc import (
    AbcSettings,
    CalibrationProblem,
    ParameterSpecError,
    PoolEvaluator,
    SerialEvaluator,
    Targets,
    check_priors,
    median_window_distance,
    parse_param,
    posterior_medians,
    posterior_summary,
    run_abc_smc,
    weighted_quantile,
    window_distance_h,
)
from convoysim.calibration.store import CalibrationStore, calibrated_scenario_text, fit_config
from convoysim.commands.cli import main
from convoysim.runs.montecarlo import run_monte_carlo
from convoysim.scenario.loading import build_scenario, read_source
from convoysim.scenario.paths import ParameterPathError, apply_values

TRUTH = {"convoy.speed_kmh.median": 12.0, "halts.at_waypoints.0.duration_h.median": 30.0}
PRIORS = ["convoy.speed_kmh.median=6:24", "halts.at_waypoints.0.duration_h.median=2:60"]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    """A scenario whose documented windows are +-1.5 h around the model's own median arrivals at TRUTH."""
    folder = tmp_path_factory.mktemp("synthetic")
    path = folder / "synthetic.yaml"
    path.write_text(SYNTHETIC)
    source = read_source(path)
    truth = apply_values(source, TRUTH)
    median = np.median(run_monte_carlo(truth, replications=200, seed=99).arrivals(), axis=0)
    docs = []
    for name, h in zip(truth.waypoint_names[1:], median[1:]):
        a, b = truth.start + timedelta(hours=float(h) - 1.5), truth.start + timedelta(hours=float(h) + 1.5)
        docs.append({"waypoint": name, "earliest": a.isoformat(), "latest": b.isoformat()})
    path.write_text(SYNTHETIC + yaml.safe_dump({"documented": docs}))
    return path


def problem_for(path: Path, specs=PRIORS, replications: int = 5) -> CalibrationProblem:
    source = read_source(path)
    scenario = build_scenario(source)
    return CalibrationProblem(
        source, scenario, tuple(check_priors(source, scenario, [parse_param(s) for s in specs])), replications
    )


def test_recovers_known_parameters_from_synthetic_milestones(synthetic):
    problem = problem_for(synthetic)
    result = run_abc_smc(problem, AbcSettings(seed=5, population_size=50, budget=2000), SerialEvaluator(problem))
    assert len(result.populations) >= 4
    epsilons = [p.epsilon for p in result.populations]
    assert all(b < a for a, b in zip(epsilons, epsilons[1:])), "the tolerance must shrink"
    for row in posterior_summary(result.posterior, problem.priors):
        truth = TRUTH[row["parameter"]]
        assert row["ci80_low"] <= truth <= row["ci80_high"], row
        assert row["ci80_high"] - row["ci80_low"] < 0.5 * (row["prior_high"] - row["prior_low"]), (
            "the data must narrow the prior"
        )
    assert np.isclose(result.posterior.weights.sum(), 1.0)


def test_fixed_seed_gives_the_same_posterior_on_one_or_two_workers(synthetic):
    problem = problem_for(synthetic, replications=2)
    settings = AbcSettings(seed=3, population_size=20, budget=120)
    serial = run_abc_smc(problem, settings, SerialEvaluator(problem))
    again = run_abc_smc(problem, settings, SerialEvaluator(problem))
    with PoolEvaluator(problem, 2) as pool:
        parallel = run_abc_smc(problem, settings, pool)
    other_seed = run_abc_smc(problem, AbcSettings(seed=4, population_size=20, budget=120), SerialEvaluator(problem))
    for run in (again, parallel):
        assert len(run.populations) == len(serial.populations)
        for a, b in zip(serial.populations, run.populations):
            np.testing.assert_array_equal(a.particles, b.particles)
            np.testing.assert_array_equal(a.weights, b.weights)
    assert not np.array_equal(serial.posterior.particles, other_seed.posterior.particles)


def test_interrupted_run_resumes_from_its_checkpoints_to_the_same_posterior(synthetic, tmp_path):
    problem = problem_for(synthetic, replications=2)
    settings = AbcSettings(seed=8, population_size=20, budget=1000, max_generations=4)
    whole = run_abc_smc(problem, settings, SerialEvaluator(problem))
    assert len(whole.populations) == 4

    store = CalibrationStore(tmp_path / "cal")
    config = fit_config(problem, settings)
    assert store.open(config) == []
    history: list[dict] = []

    def save_then_stop(pop):
        from convoysim.calibration.abc import history_row

        history.append(history_row(pop, sum(h["evaluations"] for h in history) + pop.evaluations))
        store.save_generation(pop, problem.priors, history)
        if pop.generation == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_abc_smc(problem, settings, SerialEvaluator(problem), on_generation=save_then_stop)
    done = CalibrationStore(tmp_path / "cal").open(config)
    assert [p.generation for p in done] == [0, 1]
    resumed = run_abc_smc(problem, settings, SerialEvaluator(problem), done=done)
    assert resumed.evaluations == whole.evaluations
    np.testing.assert_array_equal(resumed.posterior.particles, whole.posterior.particles)
    np.testing.assert_array_equal(resumed.posterior.weights, whole.posterior.weights)


def test_store_refuses_a_directory_with_other_settings(synthetic, tmp_path):
    problem = problem_for(synthetic)
    CalibrationStore(tmp_path).open(fit_config(problem, AbcSettings(seed=1, population_size=10, budget=50)))
    from convoysim.calibration.store import CalibrationDirError

    with pytest.raises(CalibrationDirError, match="seed"):
        CalibrationStore(tmp_path).open(fit_config(problem, AbcSettings(seed=2, population_size=10, budget=50)))
    # a larger budget only changes when to stop, so it resumes
    CalibrationStore(tmp_path).open(fit_config(problem, AbcSettings(seed=1, population_size=10, budget=500)))


# -- distance --------------------------------------------------------------------------------------


def targets(*windows: tuple[float, float]) -> Targets:
    n = len(windows)
    return Targets(
        tuple("ABCD"[1 : n + 1]),
        np.arange(1, n + 1),
        np.array([a for a, _ in windows]),
        np.array([b for _, b in windows]),
    )


def test_window_distance_is_zero_inside_and_hours_outside():
    t = targets((10.0, 20.0), (30.0, 30.0))
    arrivals = np.array([[0.0, 15.0, 30.0], [0.0, 7.0, 34.5], [0.0, 23.0, np.nan]])
    d = window_distance_h(arrivals, t, horizon_h=100.0)
    np.testing.assert_allclose(d, [[0.0, 0.0], [3.0, 4.5], [3.0, 70.0]])
    # medians per milestone 3.0 and 4.5, mean 3.75
    assert median_window_distance(arrivals, t, 100.0) == pytest.approx(3.75)


def test_even_particle_replications_take_the_mean_of_the_middle_two():
    # --particle-replications may be even: the median is then the mean of the two middle distances.
    t = targets((10.0, 20.0))
    arrivals = np.array([[0.0, 15.0], [0.0, 22.0], [0.0, 26.0], [0.0, 60.0]])  # 0, 2, 6, 40 hours outside
    assert median_window_distance(arrivals, t, 100.0) == pytest.approx((2.0 + 6.0) / 2)


@given(st.floats(0, 100), st.floats(0, 50), st.floats(0, 200))
def test_window_distance_properties(a, width, x):
    t = targets((a, a + width))
    d = window_distance_h(np.array([[0.0, x]]), t, horizon_h=300.0)[0, 0]
    assert d >= 0.0
    assert (d == 0.0) == (a <= x <= a + width)
    assert d == pytest.approx(min(abs(x - a), abs(x - a - width)) if d else 0.0)


def test_weighted_quantile_follows_the_weights():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert weighted_quantile(x, np.full(4, 0.25), 0.5) == pytest.approx(2.5)
    assert weighted_quantile(x, np.array([0.0, 0.0, 0.0, 1.0]), 0.5) == pytest.approx(4.0)
    assert weighted_quantile(x, np.array([0.7, 0.1, 0.1, 0.1]), 0.3) == pytest.approx(1.0)


# -- priors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, words",
    [
        ("convoy.speed_kmh.median", ["PATH=LOW:HIGH"]),
        ("convoy.speed_kmh.median=8", ["LOW:HIGH"]),
        ("convoy.speed_kmh.median=a:b", ["not two numbers"]),
        ("convoy.speed_kmh.median=20:8", ["must be below"]),
        ("=1:2", ["PATH=LOW:HIGH"]),
    ],
)
def test_malformed_param_specs_are_refused(spec, words):
    with pytest.raises(ParameterSpecError) as err:
        parse_param(spec)
    assert all(w in str(err.value) for w in words)


def test_check_priors_names_the_closest_path_and_checks_the_range(synthetic):
    source = read_source(synthetic)
    scenario = build_scenario(source)
    with pytest.raises(ParameterPathError) as err:
        check_priors(source, scenario, [parse_param("convoy.sped_kmh.median=8:20")])
    assert err.value.suggestion == "convoy.speed_kmh"
    with pytest.raises(ParameterPathError) as err:
        check_priors(source, scenario, [parse_param("convoy.speed_kmh=8:20")])
    assert err.value.suggestion == "convoy.speed_kmh.median"
    with pytest.raises(ParameterSpecError, match="invalid at"):
        check_priors(source, scenario, [parse_param("convoy.speed_kmh.sigma=-1:1")])
    with pytest.raises(ParameterSpecError, match="whole number"):
        check_priors(source, scenario, [parse_param("convoy.vehicles=10.5:30")])
    with pytest.raises(ParameterSpecError, match="twice"):
        check_priors(source, scenario, [parse_param("convoy.vehicles=10:30"), parse_param("convoy.vehicles=5:30")])
    (vehicles,) = check_priors(source, scenario, [parse_param("convoy.vehicles=10:30")])
    assert vehicles.integer and vehicles.value(12.6) == 13


# -- the calibrated scenario and the command line -----------------------------------------------


def test_calibrated_scenario_extends_the_base_by_absolute_path_and_loads(synthetic, tmp_path):
    source = read_source(synthetic)
    text = calibrated_scenario_text(source, {"convoy.speed_kmh.median": 11.5}, "made by a test\nsecond line")
    assert text.startswith("# made by a test\n# second line\n")
    assert yaml.safe_load(text)["extends"] == str(synthetic.resolve())
    elsewhere = tmp_path / "calibrated.yaml"
    elsewhere.write_text(text)
    loaded = build_scenario(read_source(elsewhere))
    assert loaded.convoy.speed_kmh.median == 11.5
    assert loaded.name == "synthetic-calibrated"
    assert loaded.documented == build_scenario(source).documented


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def test_cli_calibrate_writes_every_output_and_resumes(synthetic, tmp_path):
    out = tmp_path / "cal"
    args = [
        "calibrate",
        str(synthetic),
        "-p",
        PRIORS[0],
        "-p",
        PRIORS[1],
        "--budget",
        "80",
        "--population",
        "20",
        "--particle-replications",
        "2",
        "--check-replications",
        "20",
        "--seed",
        "1",
        "--out",
        str(out),
    ]
    first = cli(*args)
    assert first.exit_code == 0, first.output
    for name in (
        "posterior.csv",
        "posterior_summary.csv",
        "history.csv",
        "calibrated.yaml",
        "calibration.json",
        "posterior_marginals.png",
        "posterior_pairs.png",
        "arrival_fans.png",
        "generations/population-000.csv",
    ):
        assert (out / name).is_file(), name
    with (out / "posterior_summary.csv").open() as fh:
        summary = {row["parameter"]: row for row in csv.DictReader(fh)}
    assert set(summary) == set(TRUTH)
    with (out / "history.csv").open() as fh:
        history = list(csv.DictReader(fh))
    assert [int(h["generation"]) for h in history] == list(range(len(history)))
    assert sum(int(h["evaluations"]) for h in history) <= 80
    calibrated = build_scenario(read_source(out / "calibrated.yaml"))
    assert calibrated.convoy.speed_kmh.median == pytest.approx(float(summary["convoy.speed_kmh.median"]["median"]))
    text = (out / "calibrated.yaml").read_text()
    assert "posterior median" in text and f"--seed 1 --out {out}" in text
    posterior = (out / "posterior.csv").read_text()

    again = cli(*args)
    assert again.exit_code == 0, again.output
    assert "resuming" in again.output
    assert (out / "posterior.csv").read_text() == posterior


def test_library_calibrate_writes_every_output_and_resumes(synthetic, tmp_path):
    from convoysim.calibration.workflow import calibrate

    out = tmp_path / "cal"
    problem = problem_for(synthetic, replications=2)
    settings = AbcSettings(seed=1, population_size=20, budget=80)
    outcome = calibrate(problem, settings, out, check_replications=20)
    for name in (
        "posterior.csv",
        "posterior_summary.csv",
        "history.csv",
        "calibrated.yaml",
        "calibration.json",
        "posterior_marginals.png",
        "posterior_pairs.png",
        "arrival_fans.png",
        "generations/population-000.csv",
    ):
        assert (out / name).is_file(), name
    assert outcome.calibrated_file == out / "calibrated.yaml"
    assert [row["parameter"] for row in outcome.summary] == list(TRUTH)
    calibrated = build_scenario(read_source(outcome.calibrated_file))
    assert calibrated.convoy.speed_kmh.median == pytest.approx(outcome.summary[0]["median"])
    assert f"--seed 1 --out {out}" in outcome.calibrated_file.read_text()
    assert outcome.before.run.replications == outcome.after.run.replications == 20
    recorded = json.loads((out / "calibration.json").read_text())["outcome"]
    assert recorded["after"]["coverage"] == outcome.after.comparison.coverage
    posterior = (out / "posterior.csv").read_text()

    again = calibrate(problem, settings, out, check_replications=20)
    assert again.result.evaluations == outcome.result.evaluations
    assert (out / "posterior.csv").read_text() == posterior


@pytest.mark.parametrize(
    "param, words",
    [
        ("convoy.sped_kmh.median=8:20", ["sped_kmh", "did you mean 'convoy.speed_kmh'"]),
        ("convoy.speed_kmh=8:20", ["distribution", "convoy.speed_kmh.median"]),
        ("threats.ambush.halt_prob=0:1.5", ["halt_prob", "invalid at", "1.5"]),
        ("convoy.speed_kmh.median=20:8", ["must be below"]),
        ("convoy.speed_kmh.median", ["PATH=LOW:HIGH"]),
    ],
)
def test_cli_bad_params_exit_2_with_one_clear_line(synthetic, tmp_path, param, words):
    result = cli("calibrate", str(synthetic), "-p", param, "--out", str(tmp_path / "never"))
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert all(w in text for w in words), text
    assert str(synthetic) in text
    assert "Traceback" not in result.output
    assert not (tmp_path / "never").exists()


def test_cli_budget_too_small_exits_2(synthetic, tmp_path):
    result = cli(
        "calibrate",
        str(synthetic),
        "-p",
        PRIORS[0],
        "--budget",
        "30",
        "--population",
        "20",
        "--out",
        str(tmp_path / "x"),
    )
    assert result.exit_code == 2
    assert "budget" in result.output


def test_posterior_medians_round_whole_number_parameters(synthetic):
    problem = problem_for(synthetic, specs=["convoy.vehicles=10:30"], replications=1)
    result = run_abc_smc(
        problem, AbcSettings(seed=1, population_size=10, budget=30, max_generations=2), SerialEvaluator(problem)
    )
    (value,) = posterior_medians(result.posterior, problem.priors).values()
    assert isinstance(value, int) and 10 <= value <= 30
    assert all(float(x).is_integer() for x in result.posterior.particles[:, 0])
