"""The comparing-plans notebook runs top to bottom offline with few replications (its parameter cell
is overridden, as for the other notebooks) and shows what the class is told it shows."""

from __future__ import annotations

import pytest
from test_notebook import images, outputs, run_notebook, text


@pytest.fixture(scope="module")
def comparing(tmp_path_factory):
    return run_notebook("comparing-plans.ipynb", tmp_path_factory.mktemp("nb"))


def test_comparing_notebook_runs_without_errors_and_draws(comparing):
    assert not outputs(comparing, "error")
    assert len(images(comparing)) >= 4  # side by side, differences, risk and error, time against losses


def test_comparing_notebook_shows_both_kinds_of_streams_and_the_selection(comparing):
    shown = text(comparing)
    assert "independent seeds:" in shown and "common random numbers:" in shown
    assert "fewer replications for the same precision with CRN" in shown
    assert "variance_reduction" in shown
    assert "best:" in shown and "could be the best" in shown
