"""A fixed sample of generated bad input through the real command line (tests/fuzzcases.py),
each in a forked child with a memory cap and a timeout: no traceback, no hang or memory blow-up,
nothing wrong accepted, nothing written outside the working folder, errors on one line.
`tools/fuzz.py` runs thousands of these and prints the table."""

from __future__ import annotations

import random

import pytest
from fuzzcases import ATTACKS, Case, calibrate_cases, experiment_cases, folder_cases, make_run_folder, run_case, scenario_cases

RNG = random.Random(11)
SAMPLE = [
    *scenario_cases(RNG, len(ATTACKS) + 12),
    *experiment_cases(RNG, 10),
    *calibrate_cases(RNG, 11)[:11],
    *[c for c in folder_cases(RNG, 19) if c.must_refuse and c.command in ("plot", "report")][:6],
]


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


@pytest.mark.parametrize("case", SAMPLE, ids=lambda c: f"{c.command}-{c.label}"[:60])
def test_bad_input_through_the_cli(case, tmp_path, run_folder):
    _check(case, tmp_path / "case", run_folder)


def test_a_sweep_never_overwrites_a_folder_that_is_not_a_sweep(tmp_path, run_folder):
    case = next(c for c in experiment_cases(random.Random(0), 5) if "user's folder" in c.label)
    _check(case, tmp_path / "case", run_folder)
