"""`convoysim validate` gives a verdict without --min-coverage (DEFAULT_MIN_COVERAGE), and says what
"meets" means, listing the windows that only touch the simulated 80 % interval."""

from __future__ import annotations

import json

from click.testing import CliRunner
from test_validation import write

from convoysim.calibration.validation import DEFAULT_MIN_COVERAGE, EDGE_HIT_RATE, edge_windows
from convoysim.commands.cli import main
from convoysim.runs.compare import Comparison, MilestoneScore


def milestone(name: str, earliest_h: float, latest_h: float, hit_rate: float) -> MilestoneScore:
    """A window against a simulated 80 % interval of 10-20 h (median 15 h)."""
    return MilestoneScore(name, earliest_h, latest_h, 10.0, 15.0, 20.0, hit_rate, 50.0, 1.0)


def test_only_windows_met_with_few_replications_inside_are_edges():
    comparison = Comparison(
        (
            milestone("touching", 20.0, 26.0, 0.04),
            milestone("inside", 12.0, 18.0, 0.6),
            milestone("missed", 21.0, 26.0, 0.0),
            milestone("wide", 0.0, 10.0, EDGE_HIT_RATE),
        ),
        (),
    )
    assert [m.window_meets_interval for m in comparison.milestones] == [True, True, False, True]
    assert edge_windows(comparison) == ["touching"]


def test_validate_without_min_coverage_gives_the_default_verdict(tmp_path):
    # B is met (arrival 06:00), C is missed (arrival 12:00): coverage 50 %, below the default.
    path = write(
        tmp_path,
        [("B", "2023-01-01T05:00:00Z", "2023-01-01T07:00:00Z"), ("C", "2023-01-03T00:00:00Z", "2023-01-03T06:00:00Z")],
    )
    result = CliRunner().invoke(main, ["validate", str(path), "-n", "5", "--out", str(tmp_path / "v")])
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "FAIL" in text and f"at least {100 * DEFAULT_MIN_COVERAGE:.0f}% of predicted windows" in text
    assert "meets: a window meets the simulated 80 % interval (p10-p90) when the two overlap at all" in text
    assert "(none here)" in text
    report = json.loads((tmp_path / "v" / "validation.json").read_text())
    assert report["min_coverage"] == DEFAULT_MIN_COVERAGE and report["passed"] is False


def test_min_coverage_0_turns_the_gate_off(tmp_path):
    path = write(tmp_path, [("C", "2023-01-03T00:00:00Z", "2023-01-03T06:00:00Z")])
    result = CliRunner().invoke(
        main, ["validate", str(path), "-n", "5", "--min-coverage", "0", "--out", str(tmp_path / "v")]
    )
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output
