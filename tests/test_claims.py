"""Statements the README and docs make about runs, checked against runs, so they cannot go stale
(each once held and then drifted as the model grew)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import convoysim
from convoysim.runs.compare import compare_run

ROOT = Path(__file__).resolve().parents[1]
REPLICATIONS = 100


def _rows(radius_km: float) -> pd.DataFrame:
    scenario = convoysim.load_scenario("baseline").with_values({"drones.bases.gao.radius_km": radius_km})
    return convoysim.run_monte_carlo(scenario, replications=REPLICATIONS, seed=1).to_frame().drop(columns="error")


def _changed(a: pd.DataFrame, b: pd.DataFrame) -> set[str]:
    return {c for c in a.columns if not (a[c].astype(str) == b[c].astype(str)).all()}


def test_the_baseline_pins_no_date_as_the_readme_says():
    assert "the baseline pins none" in (ROOT / "README.md").read_text()
    run = convoysim.run_monte_carlo(convoysim.load_scenario("baseline"), replications=40, seed=1)
    assert not [m.waypoint for m in compare_run(run).milestones if m.pinned]


@pytest.fixture(scope="module")
def radius_rows() -> dict[float, pd.DataFrame]:
    return {r: _rows(r) for r in (0, 50, 100, 287, 400)}


def test_radii_past_kidal_cover_the_whole_road_yet_change_the_rows(radius_rows):
    text = (ROOT / "docs" / "sweep.md").read_text()
    assert "identical rows" not in text and "exactly the same rows" not in text
    near, far = radius_rows[287], radius_rows[400]
    assert "hours_drone_cover" in _changed(near, far)
    assert far["hours_drone_cover"].mean() < near["hours_drone_cover"].mean(), "cover falls as the radius grows"


def test_radii_short_of_tarkint_change_the_cover_but_not_arrivals_or_losses(radius_rows):
    for a, b in ((0, 50), (50, 100)):
        changed = _changed(radius_rows[a], radius_rows[b])
        assert "hours_drone_cover" in changed
        assert not {c for c in changed if c.startswith("arrival_") or c.startswith("lost") or c == "vehicles_lost"}
