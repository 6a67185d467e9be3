"""The fast run-directory text is the same, byte for byte, as the tidy rows written through csv."""

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import yaml
from conftest import make_scenario, run_cli, threatened_data
from hypothesis import given, settings
from hypothesis import strategies as st

from convoysim.model import compile_plan
from convoysim.runs.chunks import format_chunk
from convoysim.runs.compare import compare_run
from convoysim.runs.counts import count_matrix, count_windows, counted_incidents
from convoysim.runs.files import cell, csv_text
from convoysim.runs.montecarlo import run_monte_carlo, run_replications, stream_monte_carlo
from convoysim.runs.timetext import iso, iso_column
from convoysim.runs.writing import RunDirectory, write_run
from convoysim.scenario.loading import ScenarioSource, build_scenario, read_source

START = datetime(2023, 10, 2, 7, tzinfo=timezone.utc)


def milestone_rows(run):
    """The oracle of milestones.csv: its rows, one dict each, as csv_text writes them."""
    plan = run.plan
    return [
        {
            "replication": r.replication,
            "waypoint": name,
            "arrival_h": h,
            "arrival_time": iso(plan.start, h),
            "departure_h": d,
        }
        for r in run.records
        for name, h, d in zip(plan.names, r.arrival_h, r.departure_h)
    ]


def incident_rows(run):
    """The oracle of incidents.csv."""
    start = run.plan.start
    return [
        {"replication": r.replication, "kind": kind, "t_h": t, "time": iso(start, t), "km": km, "vehicles_lost": lost}
        for r in run.records
        for kind, t, km, lost in r.incidents
    ]


def track_rows(tracks):
    """The oracle of tracks.csv."""
    return [{"replication": r.replication, "t_h": t, "km": km} for r in tracks for t, km in (r.track or [])]


def threatened():
    return build_scenario(ScenarioSource(threatened_data()))


COUNTED = [
    {"waypoint": "C", "earliest": "2023-10-02T06:00:00Z", "latest": "2023-10-04T06:00:00Z"},
    {"count": "ambushes", "low": 0, "high": 1, "from_place": "B"},
    {"count": "harassed_nights", "low": 0, "high": 1},
    {"count": "vehicles_lost", "low": 1, "high": 3, "to_time": "2023-10-03T00:00:00Z"},
]


def counted():
    """The threatened scenario with documented dates and counts (a stretch, nights, a time window)."""
    return build_scenario(ScenarioSource({**threatened_data(), "documented": COUNTED}))


@given(
    st.lists(
        st.floats(min_value=-1e5, max_value=1e5) | st.sampled_from([float("nan"), float("inf"), -float("inf")]),
        max_size=30,
    )
)
@settings(max_examples=200, deadline=None)
def test_column_dates_match_one_by_one_dates(hours):
    assert iso_column(START, np.array(hours, dtype=float)) == [iso(START, h) for h in hours]


def test_column_dates_match_at_the_edges_of_a_second():
    whole = np.arange(0, 200) * 0.5 + 3.0
    near = np.concatenate([whole + d / 3.6e9 for d in (-2.0, -1.0, -0.5, -0.49, 0.0, 0.49, 0.5, 1.0, 2.0)])
    near = np.concatenate([near, np.nextafter(near, 0.0), np.nextafter(near, 1e9), [99_999.99, 2e5, -3e5, 5e6 + 1 / 7]])
    assert iso_column(START, near) == [iso(START, float(h)) for h in near]


def test_column_dates_keep_the_start_clock_of_any_time_zone():
    start = datetime(2023, 10, 2, 7, tzinfo=timezone(timedelta(hours=1)))
    assert iso_column(start, np.array([0.0, 1.25])) == [iso(start, 0.0), iso(start, 1.25)]


@pytest.mark.parametrize(
    "value, text",
    [
        (0.1, "0.1"),
        (float("nan"), ""),
        (float("inf"), "inf"),
        (-float("inf"), "-inf"),
        (-0.0, "-0.0"),
        (3, "3"),
        (True, "True"),
        ("plain", "plain"),
        ("with, comma", '"with, comma"'),
        ('say "no"', '"say ""no"""'),
        ("two\nlines", '"two\nlines"'),
        ("", ""),
        (np.float64(2.5), repr(np.float64(2.5))),
        (None, ""),
    ],
)
def test_cells_are_written_as_csv_writes_them(value, text):
    assert cell(value) == text
    assert f"x,y\n{text},1\n" == csv_text([{"x": value, "y": 1}])


def test_a_chunk_is_the_rows_written_through_csv():
    run = run_monte_carlo(threatened(), replications=40, seed=3)
    assert sum(len(r.incidents) for r in run.records) > 0, "the scenario must produce incidents for this test"
    chunk = format_chunk(run.plan, run.records)
    rows = [r.as_row() for r in run.records]
    assert csv_text(rows) == ",".join(chunk.replication_columns) + "\n" + chunk.replications_csv
    assert csv_text(milestone_rows(run)).split("\n", 1)[1] == chunk.milestones_csv
    assert csv_text(incident_rows(run)).split("\n", 1)[1] == chunk.incidents_csv
    assert np.array_equal(chunk.arrivals_h, run.arrivals(), equal_nan=True)
    assert (chunk.first, chunk.count, chunk.arrived) == (0, 40, sum(r.arrived for r in run.records))


def manifest(folder):
    data = json.loads((folder / "manifest.json").read_text())
    return {k: v for k, v in data.items() if k not in ("created", "wall_time_s", "workers")}


def written_files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != "manifest.json"}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_streamed_run_writes_the_same_files_as_an_in_memory_run(tmp_path, workers):
    scenario = counted()
    run = run_monte_carlo(scenario, replications=600, seed=11)
    tracks = run_replications(run.plan, 11, range(5), track=True)
    kept = write_run(tmp_path / "memory", run, compare_run(run), None, tracks=tracks)
    with RunDirectory(tmp_path / "streamed") as directory:
        streamed = stream_monte_carlo(scenario, directory.add, replications=600, seed=11, workers=workers)
        written = directory.finish(streamed, compare_run(streamed, streamed.counts), None, tracks=tracks)
    assert len((kept / "counts.csv").read_text().splitlines()) == 4, "three documented counts scored"
    assert written_files(written) == written_files(kept)
    assert manifest(written) == manifest(kept)
    assert (tmp_path / "memory" / "tracks.csv").read_text() == csv_text(
        track_rows(tracks), ["replication", "t_h", "km"]
    )
    assert streamed.arrived == sum(r.arrived for r in run.records)


@pytest.mark.parametrize("workers", [1, 2])
def test_streamed_counts_are_the_count_matrix_of_the_records(workers):
    scenario = counted()
    run = run_monte_carlo(scenario, replications=300, seed=4)
    windows = count_windows(scenario, run.plan.road_km)
    expected = count_matrix([counted_incidents(r) for r in run.records], windows, run.plan.start)
    assert expected.shape == (300, 3) and (expected > 0).any(axis=0).all(), "every count must vary for this test"
    streamed = stream_monte_carlo(scenario, lambda chunk: None, replications=300, seed=4, workers=workers)
    np.testing.assert_array_equal(streamed.counts, expected)
    assert compare_run(streamed, streamed.counts) == compare_run(run)


@pytest.mark.parametrize("workers", [1, 2])
def test_convoysim_run_streams_the_same_directory_as_the_in_memory_path(tmp_path, monkeypatch, workers):
    import convoysim.runs.montecarlo as mc

    path = tmp_path / "counted.yaml"
    path.write_text(yaml.safe_dump({**threatened_data(), "documented": COUNTED}))
    scenario = build_scenario(read_source(str(path)))
    run = run_monte_carlo(scenario, replications=400, seed=9)
    tracks = run_replications(run.plan, 9, range(50), track=True)
    kept = write_run(tmp_path / "memory", run, compare_run(run), read_source(str(path)), tracks=tracks)

    def no_records(*args, **kwargs):
        raise AssertionError("convoysim run must not hold the run's records")

    monkeypatch.setattr(mc, "records_of", no_records)  # the pool work that sends records back
    result = run_cli(["run", str(path), "-n", "400", "-s", "9", "-w", str(workers), "-o", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    assert written_files(tmp_path / "cli") == written_files(kept)
    assert manifest(tmp_path / "cli") == manifest(kept)
    assert sorted(p.name for p in (tmp_path / "cli").iterdir()) == sorted(p.name for p in kept.iterdir())


def test_a_run_stopped_while_streaming_leaves_nothing(tmp_path):
    added = []

    def dies_after_two(chunk):
        directory.add(chunk)
        added.append(chunk)
        if len(added) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        with RunDirectory(tmp_path / "run") as directory:
            stream_monte_carlo(make_scenario(), dies_after_two, replications=50, seed=1, workers=2)
    assert len(added) == 2
    assert list(tmp_path.iterdir()) == []


def test_blocks_out_of_order_are_refused(tmp_path):
    scenario = make_scenario()
    plan = compile_plan(scenario)
    records = run_replications(plan, 1, range(4))
    with RunDirectory(tmp_path / "run") as directory:
        directory.add(format_chunk(plan, records[:2]))
        with pytest.raises(ValueError, match="replication 3 arrived, but 2 comes next"):
            directory.add(format_chunk(plan, records[3:]))
    assert list(tmp_path.iterdir()) == []


def test_a_failing_replication_streams_as_an_error_row(tmp_path, replication_raises):
    replication_raises(3, "boom, with a comma")
    scenario = threatened()
    run = run_monte_carlo(scenario, replications=8, seed=2)
    kept = write_run(tmp_path / "memory", run, compare_run(run), None)
    with RunDirectory(tmp_path / "streamed") as directory:
        streamed = stream_monte_carlo(scenario, directory.add, replications=8, seed=2)
        written = directory.finish(streamed, compare_run(streamed), None)
    assert written_files(written) == written_files(kept)
    assert streamed.errors == 1 and '"RuntimeError: boom, with a comma' in (written / "replications.csv").read_text()
