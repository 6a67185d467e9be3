"""The end-of-run tables fit an 80- and a 120-column terminal without wrapping or cutting a date or a name."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from rich.console import Console

from convoysim.commands.tables import arrivals_table, comparison_table, counts_table, summary_tables, verdict_table
from convoysim.runs.compare import Comparison, compare_run
from convoysim.runs.montecarlo import run_monte_carlo
from convoysim.runs.timetext import day_time, duration_text, plural, window_text
from convoysim.scenario.loading import load_scenario

START = datetime(2023, 10, 2, 7, tzinfo=timezone.utc)


def hours(*args: int) -> float:
    return (datetime(*args, tzinfo=timezone.utc) - START).total_seconds() / 3600


def test_windows_are_written_whole_and_short():
    assert window_text(START, hours(2023, 10, 5), hours(2023, 10, 7, 12)) == "05 Oct-07 Oct 12:00"
    assert window_text(START, hours(2023, 10, 13), hours(2023, 10, 13, 23, 59)) == "13 Oct"
    assert window_text(START, hours(2023, 10, 2, 7), hours(2023, 10, 2, 23, 59)) == "02 Oct 07:00-23:59"
    assert window_text(START, hours(2023, 10, 5), hours(2023, 10, 7, 12), minutes=False) == "05 Oct-07 Oct 12h"
    assert day_time(START, 6.6, minutes=False) == "02 Oct 14h"


def test_durations_and_counts_read_as_a_person_would_say_them():
    assert duration_text(762.5) == "31 d 19 h" or duration_text(762.5) == "31 d 18 h"
    assert duration_text(7.54) == "7.5 h" and duration_text(0.5) == "30 min" and duration_text(48) == "2 d"
    assert plural(1, "vehicle") == "1 vehicle" and plural(3, "vehicle") == "3 vehicles"


@pytest.fixture(scope="module")
def baseline_comparison():
    run = run_monte_carlo(load_scenario("baseline"), replications=60, seed=3)
    return run, compare_run(run)


@pytest.mark.parametrize("width", [80, 120])
def test_the_comparison_table_fits_the_terminal(baseline_comparison, width):
    run, comparison = baseline_comparison
    console = Console(width=width, record=True)
    console.print(comparison_table(comparison, run.plan.start, "baseline: simulated vs documented", width))
    lines = console.export_text().splitlines()
    assert max(len(line.rstrip()) for line in lines) <= width
    body = [line for line in lines if any(line.startswith((name + " ", name + "*")) for name in run.plan.names)]
    assert len(body) == len(comparison.milestones), "one line per milestone: no row wraps"
    assert "…" not in console.export_text()
    anefis = next(line for line in body if line.startswith("Anefis"))
    assert "05 Oct-07 Oct 12" in anefis


def test_the_arrivals_table_fits_80_columns(baseline_comparison):
    run, _ = baseline_comparison
    console = Console(width=80, record=True)
    console.print(arrivals_table(run.arrivals(), run.plan.names, run.plan.start, "arrivals", 80))
    assert max(len(line.rstrip()) for line in console.export_text().splitlines()) <= 80
    assert not np.isnan(run.arrivals()).all()


def rendered(table, width: int) -> list[str]:
    console = Console(width=width, record=True)
    console.print(table)
    return console.export_text().splitlines()


@pytest.mark.parametrize("width", [80, 120])
def test_the_counts_table_fits_the_terminal(baseline_comparison, width):
    _, comparison = baseline_comparison
    lines = rendered(counts_table(comparison, "baseline: counts", width), width)
    assert max(len(line.rstrip()) for line in lines) <= width
    assert "…" not in "\n".join(lines), "no count name or stretch of road is cut"
    body = [line for line in lines if line.startswith(tuple(c.count + " " for c in comparison.counts))]
    assert len(body) == len(comparison.counts), "one line per documented count: no row wraps"
    assert all(c.where in line for c, line in zip(comparison.counts, body))
    assert ("RPS" in lines[1]) == (width >= 120), "the RPS column is left to counts.csv on a narrow terminal"


@pytest.mark.parametrize("width", [80, 120])
def test_the_verdict_table_fits_the_terminal(baseline_comparison, width):
    run, comparison = baseline_comparison
    rows = [("baseline", comparison, True), ("baseline again", comparison, False)]
    pooled = Comparison(comparison.milestones * 2, comparison.counts * 2)
    lines = rendered(verdict_table(rows, pooled, "verdict", width=width), width)
    assert max(len(line.rstrip()) for line in lines) <= width
    assert "…" not in "\n".join(lines)
    assert any(line.startswith("baseline ") and line.rstrip().endswith("PASS") for line in lines)
    assert any(line.startswith("overall") for line in lines)
    header = next(line for line in lines if line.startswith("scenario"))
    assert ("pinned" in header) == (width >= 120), "pinned dates and the split coverages only on a wide terminal"


SWEEP_OUTPUTS = [
    "arrival_h.Kidal",
    "arrival_h.Alkit valley",
    "vehicles_lost",
    "ambushes",
    "hours_engagement",
    "hours_drone_cover",
]


def sweep_rows(n: int) -> list[dict]:
    rows = []
    for k in range(n):
        row = {"point": k, "drones.bases.gao.radius_km": 50.0 * k}
        row.update({f"{o}_mean": 1000.0 + 7.25 * k + j for j, o in enumerate(SWEEP_OUTPUTS)})
        rows.append(row)
    return rows


@pytest.mark.parametrize("width", [50, 80, 200])
def test_the_sweep_summary_goes_on_in_further_tables_rather_than_cut_a_value(width):
    rows = sweep_rows(4)
    tables = summary_tables(rows, ["drones.bases.gao.radius_km"], SWEEP_OUTPUTS, START, width)
    lines = [line for table in tables for line in rendered(table, width)]
    text = "\n".join(lines)
    assert max(len(line.rstrip()) for line in lines) <= width
    assert "…" not in text
    assert (len(tables) > 1) == (width < 80), "split only when the columns cannot fit"
    for k in range(len(rows)):  # every value whole, on one line per point and table
        row_lines = [line for line in lines if line.split() and line.split()[0] == str(k)]
        assert len(row_lines) == len(tables)
        joined = " ".join(row_lines)
        assert day_time(START, rows[k]["arrival_h.Kidal_mean"], minutes=False) in joined
        assert f"{rows[k]['vehicles_lost_mean']:.4g}" in joined and f"{rows[k]['hours_drone_cover_mean']:.4g}" in joined
