import os

import pytest
from conftest import make_scenario

from convoysim import run_monte_carlo
from convoysim.runs.compare import compare_run
from convoysim.runs.files import csv_text, write_atomic
from convoysim.runs.timetext import iso
from convoysim.runs.writing import write_run


def test_write_atomic_leaves_old_content_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "f.csv"
    write_atomic(target, "old\n")

    def broken_replace(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.csv"], "no temporary file is left behind"


def test_interrupted_run_leaves_no_run_directory(tmp_path, monkeypatch):
    run = run_monte_carlo(make_scenario(), replications=3, seed=1)
    import convoysim.runs.writing as results

    calls = {"n": 0}
    real = results.write_atomic

    def dies_on_third(path, text):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        real(path, text)

    monkeypatch.setattr(results, "write_atomic", dies_on_third)
    with pytest.raises(KeyboardInterrupt):
        write_run(tmp_path / "run", run, compare_run(run), None)
    assert list(tmp_path.iterdir()) == []


def test_csv_cells_for_missing_and_infinite_values():
    text = csv_text([{"a": float("nan"), "b": float("inf"), "c": 0.1}])
    assert text.splitlines() == ["a,b,c", ",inf,0.1"]


def test_iso_dates_at_the_edges():
    from datetime import datetime, timezone

    start = datetime(2023, 10, 2, 6, tzinfo=timezone.utc)
    assert iso(start, 25.5) == "2023-10-03T07:30:00Z"
    assert iso(start, float("nan")) == "" and iso(start, float("inf")) == "never"


def test_written_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "shared.csv", "x\n")
    finally:
        os.umask(old)
    assert (tmp_path / "shared.csv").stat().st_mode & 0o777 == 0o644


def test_two_runs_with_the_same_name_never_mix(tmp_path):
    import threading

    run = run_monte_carlo(make_scenario(), replications=3, seed=1)
    comparison = compare_run(run)
    out = tmp_path / "same"
    written, errors = [], []

    def write():
        try:
            written.append(write_run(out, run, comparison, None, unique=True))
        except Exception as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=write) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(written)) == 4
    for folder in written:
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            [
                "manifest.json",
                "replications.csv",
                "milestones.csv",
                "comparison.csv",
                "counts.csv",
                "incidents.csv",
                "tracks.csv",
                "units.csv",
                "vehicles.csv",
                "scenario.resolved.yaml",
            ]
        )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no partial folder is left behind"


def test_an_explicit_folder_that_holds_files_is_refused(tmp_path):
    run = run_monte_carlo(make_scenario(), replications=2, seed=1)
    write_run(tmp_path / "x", run, compare_run(run), None)
    with pytest.raises(FileExistsError):
        write_run(tmp_path / "x", run, compare_run(run), None)


@pytest.mark.parametrize(
    "name, folder",
    [
        ("../../../x", "_.._.._x"),
        ("/tmp/abs", "_tmp_abs"),
        ("..", "_"),
        ("kidal-aguelhok", "kidal-aguelhok"),
        ("C:\\x", "C__x"),
        (".hidden", "hidden"),
    ],
)
def test_a_name_becomes_one_folder_inside_the_root(name, folder, tmp_path):
    from convoysim.runs.files import default_run_dir, safe_name

    assert safe_name(name) == folder
    target = default_run_dir(tmp_path / "results", name, 1)
    assert target.parent.parent == tmp_path / "results"
    assert target.resolve().is_relative_to((tmp_path / "results").resolve())


def test_a_scenario_name_cannot_climb_out_of_results(tmp_path, monkeypatch):
    from conftest import run_cli, write

    path = write(tmp_path, "extends: baseline\nname: ../../escaped\n", "s.yaml")
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    assert run_cli(["run", str(path), "-n", "2"]).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "s.yaml"]
    assert [p.name for p in (work / "results").iterdir()] == ["_.._escaped"]
