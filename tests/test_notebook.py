"""The teaching notebooks run top to bottom, offline, with few replications (their parameter cell
is overridden), and show what the class is told they show."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "experiments"
FAST = {
    "teaching.ipynb": "REPLICATIONS = 60\nMAX_REPLICATIONS = 400\nSLIDER_REPLICATIONS = 20\nPRECISION_H = 24.0\n",
    "des-machinery.ipynb": "REPLICATIONS = 60\n",
    "comparing-plans.ipynb": "REPLICATIONS = 40\nREPEATS = 4\n",  # its tests: tests/test_notebook_compare.py
}


def run_notebook(name: str, folder: Path):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{name} has one cell tagged 'parameters'"
    tagged[0].source += "\n# test suite: fewer replications\n" + FAST[name]
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    # No front-end emulation of ipywidgets' Output widget: nbclient's sends comm messages on the shell
    # socket while it polls that socket for the execute reply, and the reply can then go unseen until
    # the cell's timeout (jupyter/nbclient#312; here a 300 s stall in one teaching run in ten). The
    # slider's figure lands in the cell's outputs instead, as a viewer without widgets shows it.
    client.widget_registry = {}
    client.execute()
    return nb


@pytest.fixture(scope="module")
def teaching(tmp_path_factory):
    return run_notebook("teaching.ipynb", tmp_path_factory.mktemp("nb"))


@pytest.fixture(scope="module")
def machinery(tmp_path_factory):
    return run_notebook("des-machinery.ipynb", tmp_path_factory.mktemp("nb"))


def outputs(nb, kind: str) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == kind]


def text(nb) -> str:
    parts = [o.text for o in outputs(nb, "stream")]
    parts += [
        o.data.get("text/plain", "") + o.data.get("text/html", "")
        for o in outputs(nb, "execute_result") + outputs(nb, "display_data")
    ]
    return "\n".join(parts)


def images(nb) -> list:
    return [o for o in outputs(nb, "execute_result") + outputs(nb, "display_data") if "image/png" in o.data]


def test_every_shipped_notebook_is_tested():
    assert {p.name for p in NOTEBOOKS.glob("*.ipynb")} == set(FAST)


def test_teaching_notebook_runs_without_errors(teaching):
    assert not outputs(teaching, "error")


def test_teaching_notebook_shows_its_figures(teaching):
    assert len(images(teaching)) >= 8  # chart, arrivals, map, activity, convergence, map, arrival, slider


def test_teaching_notebook_writes_documented_windows_whole(teaching):
    shown = text(teaching)
    assert "05 Oct-07 Oct 12:00" in shown, "the Anefis window is 5-7 October, not cut to one day"
    assert "02 Oct 18:00-03 Oct 06:00" in shown


def test_teaching_notebook_compares_the_two_drone_radii(teaching):
    shown = text(teaching)
    assert "150 miles:" in shown and "250 miles:" in shown and "Kidal median" in shown


def test_teaching_notebook_reports_precision_and_replications_needed(teaching):
    shown = text(teaching)
    assert "p50" in shown and " ± " in shown and "asked:" in shown and "replications, widest" in shown
    assert "vehicles_lost (whole march): mean" in shown and "ied_strikes (whole march): mean" in shown, "counts too"


def test_des_notebook_runs_and_shows_the_kernel_at_work(machinery):
    assert not outputs(machinery, "error")
    shown = text(machinery)
    assert "Timeout" in shown and "Initialize" in shown, "the event list of one replication"
    assert "changed:" in shown and "unchanged:" in shown, "one process changed, and its effect"
    assert len(images(machinery)) >= 1


def test_des_notebook_teaches_each_simpy_idea_on_a_toy_model(machinery):
    shown = text(machinery)
    assert "ran nothing; it made generator object" in shown and "suspended there" in shown, "generators and yield"
    assert "unit 2 reaches Tarkint and waits behind unit 1" in shown, "the second march unit follows the first"
    assert "queue: ['truck B']" in shown, "a Resource and its queue, printed"
    assert "interrupted: order to resume the march" in shown, "a hold ended by an Interrupt"
    assert "gave up waiting" in shown and "the recovery vehicle came" in shown, "request | timeout, both ways"
    assert "on station over the column" in shown and "stopped at 60 h" in shown, "a drone sortie process"


def test_des_notebook_points_at_each_idea_in_the_model_that_is_installed(machinery):
    """Section 7 finds every idea in convoysim.model by reading its source at run time."""
    shown = text(machinery)
    for idea in (
        "a Resource and its queue",
        "an Interrupt",
        "a condition: request | timeout",
        "a drone sortie process",
        "march units following",
    ):
        line = shown.split(idea, 1)[1].split("\n", 2)[1]
        assert "-> " in line and ".py: " in line and "not found" not in line, f"{idea}: {line}"


def test_des_notebook_event_list_carries_the_model_words_and_dates(machinery):
    shown = text(machinery)
    table = shown.split("what the model says", 1)[1].split("...", 1)[0]
    rows = [r for r in table.splitlines() if r.strip()]
    assert len(rows) >= 20 and all(re.search(r"\d\d [A-Z][a-z]{2} \d\d:\d\d", r) for r in rows)
    assert sum(bool(r[90:].strip()) for r in rows) == len(rows), "every row shown says what the model says"
    assert not any("drone gao" in r for r in rows), "the drones' routine is left out"


def test_des_notebook_says_what_the_clock_jumps_are_from_the_run(machinery):
    shown = text(machinery)
    jump = float(re.search(r"jump 1: (\d+\.\d) h", shown).group(1))
    assert jump < 48, "with drones flying, no jump crosses the pause"
    quiet = re.search(
        r"without drones: \d+ events; longest jump (\d+\.\d) h .*halts at Techanaght for (\d+\.\d) h", shown
    )
    assert quiet and abs(float(quiet.group(1)) - float(quiet.group(2))) < 0.5, "without drones the pause is one jump"


def test_des_notebook_mm1_exercise_agrees_with_the_formula(machinery):
    found = re.search(r"simulated (\d+\.\d+) h over (\d+) trucks, formula (\d+\.\d+) h", text(machinery))
    assert found and abs(float(found.group(1)) - float(found.group(3))) < 0.15 * float(found.group(3))
    assert float(found.group(3)) == pytest.approx(0.5 / (0.8 * (0.8 - 0.5)), abs=0.01)


def test_teaching_sliders_start_at_the_scenarios_values_and_copies_are_titled_by_their_name(teaching):
    import convoysim

    baseline = convoysim.load_scenario("baseline")
    shown = text(teaching)
    start = re.search(r"sliders start at the baseline's values: (\{.*\})", shown).group(1)
    assert f"'ambush_per_h': {baseline.threats.ambush.hazard_per_h}" in start
    assert f"'ied_per_100km': {baseline.threats.ied.per_100km}" in start
    assert "baseline, drones 250 miles: route" in shown, "the 250-mile map is titled by its own name"
