"""Joint calibration on a corpus: per-convoy distances kept beside the joint one, the relative
distance, and the leave-one-convoy-out by re-weighting (calibration.loo), on tiny synthetic convoys
whose documents the model itself generates."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from convoysim.calibration.abc import (
    AbcSettings,
    CalibrationProblem,
    PoolEvaluator,
    SerialEvaluator,
    posterior_summary,
    run_abc_smc,
)
from convoysim.calibration.distances import RELATIVE_CAP, documented_duration_h
from convoysim.calibration.loo import LeaveOneOutError, leave_one_out, leave_out, reweighted
from convoysim.calibration.priors import check_priors, parse_param
from convoysim.calibration.store import CalibrationDirError, CalibrationStore
from convoysim.calibration.workflow import CalibrationRun
from convoysim.commands.cli import main
from convoysim.scenario.loading import build_scenario, read_source

START = datetime(2023, 1, 1, 6, tzinfo=timezone.utc)
SPEED = "convoy.speed_kmh.median=4:24"


def convoy(name: str, km: float, earliest_h: float, latest_h: float) -> str:
    """A convoy on a straight road of `km`, its arrival documented between the two hours."""

    def when(h: float) -> str:
        return (START + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ")

    return f"""\
name: {name}
start: {when(0)}
horizon_days: 30
route:
  waypoints:
    - {{name: A, lat: 16.0, lon: 0.0, road_km: 0}}
    - {{name: Z, lat: 18.0, lon: 0.5, road_km: {km}}}
convoy:
  vehicles: 10
  speed_kmh: {{dist: lognormal, median: 15, sigma: 0.1}}
documented:
  - {{waypoint: Z, earliest: {when(earliest_h)}, latest: {when(latest_h)}}}
montecarlo: {{replications: 20, seed: 3}}
"""


# Two convoys whose wide windows admit any speed from 6 to 20 km/h; one whose tight window says 6.3
# (consistent with the two, and the only one that pins the speed); one documented so loosely that it
# says nothing (its distance is 0 at any speed).
CONVOYS = {
    "wide-a": (300, 300 / 20, 300 / 6),
    "wide-b": (500, 500 / 20, 500 / 6),
    "tight": (400, 400 / 6.3 * 0.98, 400 / 6.3 * 1.02),
    "silent": (200, 1, 29 * 24),
}


def write_corpus(folder: Path, names=tuple(CONVOYS)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name in names:
        km, a, b = CONVOYS[name]
        path = folder / f"{name}.yaml"
        path.write_text(convoy(name, km, a, b), encoding="utf-8")
        files.append(path)
    return files


def make_problem(files: list[Path], distance: str = "relative", replications: int = 2) -> CalibrationProblem:
    members = [(s, build_scenario(s)) for s in (read_source(f) for f in files)]
    (source, base), others = members[0], tuple(members[1:])
    priors = check_priors(source, base, [parse_param(SPEED)], others)
    return CalibrationProblem(source, base, tuple(priors), replications, distance, others)


@pytest.fixture(scope="module")
def fit(tmp_path_factory):
    files = write_corpus(tmp_path_factory.mktemp("corpus"))
    problem = make_problem(files)
    settings = AbcSettings(seed=5, population_size=60, budget=900, max_generations=5)
    with PoolEvaluator(problem, 2) as pool:
        result = run_abc_smc(problem, settings, pool)
        loo = leave_one_out(problem, result.posterior.proposals, problem.priors, pool, settings.seed, draws=150)
    return problem, result, loo


def test_each_particle_keeps_its_distance_to_each_convoy_and_their_mean_is_the_joint_distance(fit):
    problem, result, _ = fit
    for pop in result.populations:
        assert pop.member_distances.shape == (len(pop.weights), 4)
        np.testing.assert_allclose(pop.member_distances.mean(axis=1), pop.distances)
        kept = pop.proposals
        assert kept.accepted.sum() == len(pop.weights) and len(kept.weights) == pop.evaluations
        np.testing.assert_array_equal(kept.particles[kept.accepted], pop.particles)
        np.testing.assert_array_equal(kept.member_distances[kept.accepted], pop.member_distances)
    theta, seed = result.posterior.particles[0], int(result.posterior.proposals.seeds[0])
    each = problem.member_distances(theta, seed)
    assert problem.distance_of(theta, seed) == pytest.approx(each.mean())
    assert each[3] == 0.0  # the silent convoy's window holds any arrival


def test_the_relative_distance_divides_each_convoy_by_its_documented_duration(tmp_path):
    files = write_corpus(tmp_path, ("wide-a", "tight"))
    hours, relative = make_problem(files, "window"), make_problem(files, "relative")
    theta = np.array([12.0])
    for k, (_, scenario) in enumerate(hours.members):
        duration = documented_duration_h(scenario)
        assert duration == pytest.approx(np.mean(CONVOYS[scenario.name][1:]), abs=0.02)
        expected = min(RELATIVE_CAP, hours.member_distance(theta, 9, k) / duration)
        assert relative.member_distance(theta, 9, k) == pytest.approx(expected)
    assert relative.member_distance(np.array([4.0]), 9, 1) <= RELATIVE_CAP


def test_the_posterior_without_a_convoy_that_says_nothing_is_the_full_posterior(fit):
    _, result, _ = fit
    proposals = result.posterior.proposals
    full, without = reweighted(proposals), leave_out(proposals, 3)
    np.testing.assert_array_equal(without.particles, full.particles)
    np.testing.assert_allclose(without.weights, full.weights)
    # and the full re-weighting is the fit's own posterior
    np.testing.assert_array_equal(full.particles, result.posterior.particles)
    np.testing.assert_allclose(full.weights, result.posterior.weights, rtol=1e-9)


def test_a_convoy_the_others_do_not_imply_is_predicted_well_in_sample_and_badly_out_of_sample(fit):
    problem, result, loo = fit
    names = [c.name for c in loo.convoys]
    tight = names.index("tight")
    inside, outside = loo.in_sample.rows[tight], loo.out_of_sample.rows[tight]
    assert inside.inside and not outside.inside
    assert outside.relative_crps > 2 * inside.relative_crps
    assert outside.pit > 0.9  # the others allow faster marches than this one made
    # the posterior without it is wider: the wide convoys barely constrain the speed
    (full,) = posterior_summary(result.posterior, problem.priors)
    (without,) = loo.convoys[tight].summary
    assert without["ci80_high"] - without["ci80_low"] > 1.5 * (full["ci80_high"] - full["ci80_low"])
    assert any("tight" in line and "out of sample" in line for line in loo.verdict()[1:])


def test_leave_one_out_refuses_a_single_scenario(tmp_path):
    problem = make_problem(write_corpus(tmp_path, ("tight",)))
    settings = AbcSettings(seed=1, population_size=5, budget=20, max_generations=1)
    result = run_abc_smc(problem, settings, SerialEvaluator(problem))
    with pytest.raises(LeaveOneOutError, match="at least 2 scenarios"):
        leave_one_out(problem, result.posterior.proposals, problem.priors, SerialEvaluator(problem), 1)


def test_a_calibration_without_kept_proposals_says_why_it_cannot_leave_one_out(tmp_path):
    store = CalibrationStore(tmp_path)
    with pytest.raises(CalibrationDirError, match="proposals-003.csv: missing; a leave-one-out needs"):
        store.load_proposals(3, 1, ["a", "b"])


def test_the_relative_distance_needs_a_documented_date(tmp_path):
    path = tmp_path / "counts.yaml"
    text = convoy("counts", 100, 1, 20).replace(
        "  - {waypoint: Z", "  - {count: ambushes, low: 0, high: 1}\n#  - {waypoint: Z"
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="'counts': documented: the relative distance divides"):
        make_problem([path, *write_corpus(tmp_path / "c", ("tight",))])


FIT = ["--budget", "60", "--population", "10", "--particle-replications", "2", "--max-generations", "3"]
FIT += ["--check-replications", "5", "--seed", "2", "--loo-draws", "20"]


def test_the_command_fits_a_corpus_file_and_leaves_each_convoy_out(tmp_path):
    files = write_corpus(tmp_path / "convoys", ("wide-a", "wide-b", "tight"))
    corpus = tmp_path / "three.yaml"
    corpus.write_text("corpus:\n" + "".join(f"  - convoys/{f.name}\n" for f in files), encoding="utf-8")
    out = tmp_path / "fit"
    result = CliRunner().invoke(
        main, ["calibrate", str(corpus), "-p", SPEED, *FIT, "--leave-one-out", "-o", str(out)], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    assert "out of sample" in result.output and "corpus after calibration" in result.output
    header = (out / "posterior.csv").read_text().splitlines()[0].split(",")
    assert [c for c in header if c.startswith("distance:")] == [
        "distance:wide-a",
        "distance:wide-b",
        "distance:tight",
    ]
    config = json.loads((out / "calibration.json").read_text())["config"]
    assert config["distance"] == "relative"
    loo = json.loads((out / "leave_one_out.json").read_text())
    assert [r["scenario"] for r in loo["out_of_sample"]["rows"]] == ["wide-a", "wide-b", "tight"]
    assert loo["draws_per_convoy"] == 20 and loo["verdict"]
    # the same command on the finished fit resumes nothing and leaves the convoys out again, alike
    again = CliRunner().invoke(
        main, ["calibrate", str(corpus), "-p", SPEED, *FIT, "--leave-one-out", "-o", str(out)], terminal_width=200
    )
    assert again.exit_code == 0, again.output
    assert json.loads((out / "leave_one_out.json").read_text())["out_of_sample"] == loo["out_of_sample"]


def test_the_command_refuses_to_leave_out_the_only_scenario(tmp_path):
    (path,) = write_corpus(tmp_path, ("tight",))
    result = CliRunner().invoke(main, ["calibrate", str(path), "-p", SPEED, *FIT, "--leave-one-out"])
    assert result.exit_code == 2
    assert str(path) in result.output and "--leave-one-out" in result.output and "at least 2 scenarios" in result.output


def test_a_resumed_fit_leaves_out_from_the_stored_proposals(tmp_path):
    files = write_corpus(tmp_path / "c", ("wide-a", "tight"))
    problem = make_problem(files)
    settings = AbcSettings(seed=3, population_size=10, budget=60, max_generations=2)
    run = CalibrationRun.open(problem, settings, tmp_path / "out")
    fresh = run.fit()  # the proposals are in memory here
    first = run.leave_one_out(draws=10)
    run.store.release()
    again = CalibrationRun.open(problem, settings, tmp_path / "out")
    assert again.done[-1].proposals is None  # read back from population files: proposals come from disk
    second = again.leave_one_out(draws=10)
    assert fresh.posterior.proposals is not None
    assert second.record()["out_of_sample"] == first.record()["out_of_sample"]
