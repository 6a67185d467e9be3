"""A fixed sample of generated bad input through the real command line (tests/fuzzcases.py),
each in a forked child with a memory cap and a timeout: no traceback, no hang or memory blow-up,
nothing wrong accepted, nothing written outside the working folder, errors on one line.
`tools/fuzz.py` runs thousands of these and prints the table."""

from __future__ import annotations

import random

import pytest
from fuzzcases import (
    ATTACKS,
    Case,
    calibrate_cases,
    experiment_cases,
    folder_cases,
    issue23_scenario_cases,
    make_run_folder,
    run_case,
    scenario_cases,
)

ISSUE23_DAMAGES = {
    "replications.csv without end_h",
    "manifest start date only",
    "manifest nested 100000 deep",
    "comparison.csv 0 bytes",
    "comparison p50 abc",
    "sweep: sobol.csv two columns",
    "sweep: points.csv only point",
    "manifest start year 9999 string",
}

RNG = random.Random(11)
SAMPLE = [
    *scenario_cases(RNG, len(ATTACKS) + 12),
    *experiment_cases(RNG, 10),
    *calibrate_cases(RNG, 11)[:11],
    *[c for c in folder_cases(RNG, 19) if c.must_refuse and c.command in ("plot", "report")][:6],
]
ISSUE23 = [
    *issue23_scenario_cases(random.Random(23), 6),
    *[c for c in calibrate_cases(random.Random(23), 40) if c.label.startswith("degenerate")][:2],
    *[c for c in experiment_cases(random.Random(23), 30) if "ambush_factor" in c.label][:1],
    *[c for c in folder_cases(random.Random(23), 200) if c.folder_damage in ISSUE23_DAMAGES and c.command != "animate"][
        :8
    ],
]
"""Issue 23's classes: multiplying factors, extreme dates, bad tags, degenerate priors, one value
under two paths, damaged columns and manifests."""


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    return make_run_folder(tmp_path_factory.mktemp("source"))


def _check(case: Case, root, run_folder) -> None:
    outcome = run_case(case, root, run_folder, timeout_s=120.0, memory_mb=2_000)
    assert not outcome.traceback, outcome.stderr
    assert not outcome.blew_up, f"hang or memory: {outcome.seconds:.0f} s, signal {outcome.signal}"
    assert not outcome.nonsense_accepted, f"accepted: {case.label}"
    assert not outcome.escaped, f"wrote outside its folder: {outcome.escaped}"
    assert outcome.one_line, outcome.stderr


@pytest.mark.parametrize("case", SAMPLE + ISSUE23, ids=lambda c: f"{c.command}-{c.label}"[:60])
def test_bad_input_through_the_cli(case, tmp_path, run_folder):
    _check(case, tmp_path / "case", run_folder)


def test_a_sweep_never_overwrites_a_folder_that_is_not_a_sweep(tmp_path, run_folder):
    case = next(c for c in experiment_cases(random.Random(0), 5) if "user's folder" in c.label)
    _check(case, tmp_path / "case", run_folder)
