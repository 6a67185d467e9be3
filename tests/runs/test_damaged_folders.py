"""Damaged run and sweep folders (issue 23, items 5 and 6): each refused in one line that names
the file and the field, never an internal error and never drawn with misleading content."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import make_sweep, run_cli

from convoysim.runs.reading import RunDirError, load_run, load_sweep


@pytest.fixture
def run(baseline_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(baseline_dir, copy)
    return copy


def drop_column(path, name):
    lines = path.read_text().splitlines()
    k = lines[0].split(",").index(name)
    path.write_text("\n".join(",".join(c for j, c in enumerate(line.split(",")) if j != k) for line in lines) + "\n")


def refused(command, folder, file, words):
    result = run_cli([command, str(folder)])
    assert result.exit_code == 2, result.output
    assert file in result.output and words in result.output
    assert result.output.count("\n") == 1 and "internal error" not in result.output


def test_replications_without_end_h_is_refused_by_plot(run):
    drop_column(run / "replications.csv", "end_h")
    refused("plot", run, "replications.csv", "no 'end_h' column")


def test_an_empty_comparison_is_refused_not_reported_as_no_dates(run):
    (run / "comparison.csv").write_bytes(b"")
    with pytest.raises(RunDirError, match="comparison.csv: is empty"):
        load_run(run)
    refused("report", run, "comparison.csv", "is empty")


def test_a_simulated_time_that_is_not_a_date_names_its_file(run):
    lines = (run / "comparison.csv").read_text().splitlines()
    cells = lines[1].split(",")
    cells[lines[0].split(",").index("p50")] = "abc"
    lines[1] = ",".join(cells)
    (run / "comparison.csv").write_text("\n".join(lines) + "\n")
    refused("report", run, "comparison.csv", "column 'p50': 'abc' is not an ISO date-time")


def test_a_date_only_start_is_read_as_midnight_utc(run):
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["start"] = manifest["start"][:10]
    (run / "manifest.json").write_text(json.dumps(manifest))
    data = load_run(run)
    assert data.start.utcoffset().total_seconds() == 0 and data.start.hour == 0
    result = run_cli(["report", str(run)])
    assert result.exit_code == 0, result.output


def test_a_deeply_nested_manifest_is_refused(run):
    (run / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    refused("plot", run, "manifest.json", "nests too deeply")


def test_a_sobol_table_cut_to_two_columns_is_refused(tmp_path):
    sweep = make_sweep(
        tmp_path / "s",
        {"a": [1.0, 2.0], "b": [1.0, 2.0]},
        {"arrival_h.Kidal": lambda a, b: a + b},
        sobol=[["a", "arrival_h.Kidal", 0.5, 0.1, 0.6, 0.1]],
    )
    (sweep / "sobol.csv").write_text("parameter,output\na,arrival_h.Kidal\n")
    with pytest.raises(RunDirError, match="sobol.csv: no 'S1' column"):
        load_sweep(sweep)
    refused("plot", sweep, "sobol.csv", "no 'S1' column")


def test_points_with_only_the_point_column_are_refused(tmp_path):
    sweep = make_sweep(tmp_path / "s", {"a": [1.0, 2.0]}, {"arrival_h.Kidal": lambda a: a})
    (sweep / "points.csv").write_text("point\n0\n1\n")
    refused("plot", sweep, "points.csv", "no parameter columns")
