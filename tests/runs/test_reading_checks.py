"""Run folders are validated when read: a damaged file is named with what is wrong, never drawn
and never a traceback (issue 11)."""

from __future__ import annotations

import json
import shutil

import pytest

from convoysim.runs.reading import RunDirError, load_run


@pytest.fixture
def damaged(baseline_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(baseline_dir, copy)
    return copy


def _set_cell(path, row, col, value):
    lines = path.read_text().splitlines()
    cells = lines[row].split(",")
    cells[col] = value
    lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


def _manifest(folder, **changes):
    data = json.loads((folder / "manifest.json").read_text())
    data.update(changes)
    (folder / "manifest.json").write_text(json.dumps(data))


def test_the_undamaged_folder_reads(baseline_dir):
    assert load_run(baseline_dir).arrivals_h.shape[0] == 120


@pytest.mark.parametrize(
    "change, message",
    [
        ({"start": 0}, "start: 0 is not an ISO date-time"),
        ({"waypoints": "Gao"}, "waypoints: not a list"),
        ({"road_km": ["a"] * 9}, "road_km: not a list of increasing kilometres"),
        ({"horizon_h": "long"}, "horizon_h: 'long' is not a positive number"),
        ({"replications": True}, "replications: True is not a positive whole number"),
    ],
)
def test_manifest_fields_of_the_wrong_type_are_named(damaged, change, message):
    _manifest(damaged, **change)
    with pytest.raises(RunDirError, match=message) as caught:
        load_run(damaged)
    assert caught.value.file.endswith("manifest.json")


def test_a_cell_that_is_not_a_number_is_named_by_row_and_column(damaged):
    _set_cell(damaged / "replications.csv", 4, 3, "abc")
    with pytest.raises(RunDirError, match=r"replications.csv: row 4, column '\w+': 'abc' is not a number"):
        load_run(damaged)


def test_a_replication_number_outside_the_run_is_refused_before_allocating(damaged):
    _set_cell(damaged / "milestones.csv", 1, 0, "1000000000")
    with pytest.raises(
        RunDirError,
        match="milestones.csv: row 1, column 'replication': '1000000000' is not a whole number from 0 to 119",
    ):
        load_run(damaged)


def test_a_renamed_column_is_named(damaged):
    path = damaged / "milestones.csv"
    path.write_text(path.read_text().replace("arrival_h", "arrival_hours", 1))
    with pytest.raises(RunDirError, match="no 'arrival_h' column"):
        load_run(damaged)


def test_sources_that_are_not_utf8_are_named(damaged):
    next((damaged / "sources").iterdir()).write_bytes(b"\xff\xfe bad")
    with pytest.raises(RunDirError, match="is not UTF-8"):
        load_run(damaged)


def test_plot_on_a_damaged_folder_is_one_line_and_exit_2(damaged):
    from conftest import run_cli

    _set_cell(damaged / "comparison.csv", 1, 1, "yesterday")
    result = run_cli(["plot", str(damaged)])
    assert result.exit_code == 2
    assert "comparison.csv" in result.output and "'yesterday' is not an ISO date-time" in result.output
    assert not (damaged / "figures").exists()


def test_values_off_the_runs_clock_or_road_are_refused(damaged):
    _set_cell(damaged / "tracks.csv", 3, 2, "1e9")
    with pytest.raises(RunDirError, match=r"tracks.csv: row 3, column 'km': '1e9' is outside 0 to 350"):
        load_run(damaged)
