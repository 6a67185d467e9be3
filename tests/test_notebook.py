"""The teaching notebook runs top to bottom, offline, and shows its figures."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "experiments" / "teaching.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path_factory.mktemp("nb"))}}).execute()
    return nb


def outputs(nb, kind: str) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == kind]


def test_notebook_runs_without_errors(executed):
    assert not outputs(executed, "error")


def test_notebook_shows_its_figures(executed):
    images = [o for o in outputs(executed, "execute_result") + outputs(executed, "display_data") if "image/png" in o.data]
    assert len(images) >= 5


def test_notebook_compares_the_two_drone_radii(executed):
    text = "".join(o.text for o in outputs(executed, "stream"))
    assert "150 miles:" in text and "250 miles:" in text
    assert "Kidal median" in text
