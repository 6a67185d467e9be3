"""Degenerate priors (issue 23): a range one float apart, or of subnormal numbers, has no spread to
fit; it is refused with the parameter named instead of failing deep in the fit."""

from __future__ import annotations

import pytest
from conftest import run_cli

from convoysim.calibration.abc import ParameterSpecError, parse_param


@pytest.mark.parametrize(
    "spec",
    [
        "convoy.speed_kmh.median=3:3.0000000000000004",
        "threats.ambush.hazard_per_h=1e-320:1e-310",
        "threats.ambush.hazard_per_h=0:1e-200",
        "convoy.speed_kmh.median=1e9:1.0000000001e9",
    ],
)
def test_a_range_without_spread_is_refused_with_its_parameter(spec):
    with pytest.raises(ParameterSpecError, match="too narrow to fit") as caught:
        parse_param(spec)
    assert spec.split("=")[0] in str(caught.value)


@pytest.mark.parametrize("spec", ["convoy.speed_kmh.median=8:20", "threats.ambush.hazard_per_h=1e-6:2e-6", "x=-1:1"])
def test_an_ordinary_range_is_kept(spec):
    assert parse_param(spec).width > 0


def test_the_cli_refuses_it_in_one_line(tmp_path):
    result = run_cli(
        [
            "calibrate",
            "baseline",
            "-p",
            "convoy.speed_kmh.median=3:3.0000000000000004",
            "--budget",
            "4",
            "--population",
            "2",
            "-o",
            str(tmp_path / "cal"),
        ]
    )
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "convoy.speed_kmh.median" in result.output and "too narrow" in result.output
    assert not (tmp_path / "cal").exists()
