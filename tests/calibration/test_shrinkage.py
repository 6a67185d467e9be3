"""Shrinkage (calibration/shrinkage.py): posterior sd / prior sd, and the flags of parameters the
documents do not identify, in the summary, the terminal, calibrated.yaml and the report."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from conftest import SYNTHETIC
from hypothesis import given
from hypothesis import strategies as st

from convoysim.calibration.abc import Population, UniformPrior, posterior_summary
from convoysim.calibration.shrinkage import (
    NOT_IDENTIFIED,
    identification_warnings,
    not_identified,
    prior_sd,
    shrinkage,
    shrinkage_cell,
    with_shrinkage,
)
from convoysim.commands.cli import main

DOCUMENTED = {"documented": [{"waypoint": "D", "earliest": "2023-01-02T12:00:00Z", "latest": "2023-01-02T16:00:00Z"}]}


def test_the_prior_sd_is_that_of_a_uniform():
    draws = np.random.default_rng(0).uniform(3, 30, 200_000)
    assert prior_sd(3, 30) == pytest.approx(draws.std(), rel=0.01)


@given(st.floats(-100, 100), st.floats(0.01, 100), st.floats(0, 10))
def test_shrinkage_is_the_ratio_of_sds(low, width, ratio):
    assert shrinkage(ratio * prior_sd(low, low + width), low, low + width) == pytest.approx(ratio, abs=1e-9)


def summary_of(particles: np.ndarray, priors: list[UniformPrior]) -> list[dict]:
    n = len(particles)
    pop = Population(1, 1.0, particles, np.full(n, 1 / n), np.zeros(n), n)
    return with_shrinkage(posterior_summary(pop, priors))


def test_a_posterior_like_its_prior_is_flagged_and_a_narrow_one_is_not():
    rng = np.random.default_rng(1)
    priors = [UniformPrior("convoy.speed_kmh.median", 3, 30), UniformPrior("threats.ambush.hazard_per_h", 0, 0.1)]
    particles = np.column_stack([rng.normal(14, 2, 500), rng.uniform(0, 0.1, 500)])
    rows = summary_of(particles, priors)
    assert rows[0]["shrinkage"] == pytest.approx(2 / prior_sd(3, 30), rel=0.1)
    assert rows[0]["identified"] and not rows[1]["identified"]
    assert rows[1]["shrinkage"] > NOT_IDENTIFIED
    assert not_identified(rows) == ["threats.ambush.hazard_per_h"]
    warnings = identification_warnings(rows)
    assert len(warnings) == 1 and "threats.ambush.hazard_per_h: not identified by the documents" in warnings[0]
    assert (
        shrinkage_cell(rows[1]).endswith("not identified") and shrinkage_cell(rows[0]) == f"{rows[0]['shrinkage']:.2f}"
    )
    assert shrinkage_cell({"parameter": "old summary"}) == ""


def test_a_posterior_equal_to_its_prior_everywhere_ends_with_a_warning():
    rng = np.random.default_rng(2)
    priors = [UniformPrior("a", 0, 1), UniformPrior("b", 10, 20)]
    rows = summary_of(np.column_stack([rng.uniform(0, 1, 400), rng.uniform(10, 20, 400)]), priors)
    warnings = identification_warnings(rows)
    assert len(warnings) == 3
    assert warnings[-1].startswith("no parameter was identified: the posterior equals the prior")
    assert identification_warnings([]) == []


def test_exactly_at_the_threshold_counts_as_identified():
    row = {"parameter": "p", "prior_low": 0.0, "prior_high": 1.0, "sd": NOT_IDENTIFIED * prior_sd(0, 1)}
    assert with_shrinkage([row])[0]["identified"]
    assert not with_shrinkage([{**row, "sd": 1.01 * row["sd"]}])[0]["identified"]
    assert math.isclose(with_shrinkage([row])[0]["prior_sd"], 1 / math.sqrt(12))


def test_a_calibration_of_a_parameter_the_documents_do_not_see_warns_everywhere(tmp_path):
    """The horizon does not move a 2-day march's arrival: its posterior is its prior."""
    path = tmp_path / "synthetic.yaml"
    path.write_text(SYNTHETIC + yaml.safe_dump(DOCUMENTED))
    out = tmp_path / "cal"
    result = CliRunner().invoke(
        main,
        [
            "calibrate",
            str(path),
            "-p",
            "horizon_days=5:30",
            "--budget",
            "120",
            "--population",
            "40",
            "--particle-replications",
            "2",
            "--check-replications",
            "10",
            "--seed",
            "3",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "not identified by the documents" in text
    assert text.rstrip().endswith("or the budget was too small for the tolerance to shrink)"), text[-300:]
    with (out / "posterior_summary.csv").open() as fh:
        row = next(csv.DictReader(fh))
    assert float(row["shrinkage"]) > NOT_IDENTIFIED and row["identified"] == "False"
    assert "NOT IDENTIFIED" in (out / "calibrated.yaml").read_text()
    outcome = json.loads((out / "calibration.json").read_text())["outcome"]
    assert outcome["posterior_summary"][0]["identified"] is False
    report = CliRunner().invoke(main, ["report", str(out), "--out", str(tmp_path / "report.html")])
    assert report.exit_code == 0, report.output
    assert "no parameter was identified" in (tmp_path / "report.html").read_text()
