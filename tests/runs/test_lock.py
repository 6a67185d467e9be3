"""One writer per folder (issue 23, item 3): a second sweep or calibration to the same --out is
refused with one clear line while the first holds it, and goes ahead once it is gone."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TWO_POINTS, write

from convoysim.commands.cli import main
from convoysim.runs.lock import OWNER, FolderInUse, WriterLock

CALIBRATE = [
    "calibrate",
    "baseline",
    "-p",
    "convoy.speed_kmh.median=8:20",
    "--budget",
    "4",
    "--population",
    "2",
    "--particle-replications",
    "1",
    "--check-replications",
    "2",
    "--max-generations",
    "1",
]


@contextmanager
def held_by_another_process(folder: Path):
    """The folder's lock as another command's process holds it (a separate open file)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
    finally:
        os.close(fd)


def one_line_refusal(result, writer: str) -> None:
    assert result.exit_code == 2, result.output
    assert f"is being written by another convoysim {writer}" in result.output
    assert "Traceback" not in result.output and result.output.count("\n") == 1


def test_a_second_sweep_to_the_same_out_is_refused(tmp_path):
    experiment, out = write(tmp_path, TWO_POINTS), tmp_path / "out"
    with held_by_another_process(out / ".checkpoint"):
        one_line_refusal(CliRunner().invoke(main, ["sweep", str(experiment), "-o", str(out)]), "sweep")
        assert not (out / ".checkpoint" / "points.jsonl").exists(), "the refused sweep computed nothing"
    finished = CliRunner().invoke(main, ["sweep", str(experiment), "-o", str(out)])
    assert finished.exit_code == 0, finished.output


def test_a_second_calibration_to_the_same_out_is_refused(tmp_path):
    out = tmp_path / "cal"
    with held_by_another_process(out):
        one_line_refusal(CliRunner().invoke(main, [*CALIBRATE, "-o", str(out)]), "calibration")
        assert not (out / "calibration.json").exists()


def test_the_owner_file_names_the_writer_and_stays_out_of_the_results(tmp_path):
    with WriterLock(tmp_path / "f", "sweep", ".owner.json") as lock:
        assert lock.owner()["pid"] == os.getpid()
        assert not (tmp_path / "f" / OWNER).exists()
        fd = os.open(tmp_path / "f", os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    assert not lock.held


def test_within_one_process_locking_again_takes_over(tmp_path):
    """A notebook re-running a cell after Ctrl-C resumes its own work instead of being refused."""
    first = WriterLock(tmp_path, "sweep")
    second = WriterLock(tmp_path, "sweep")
    assert second.held and not first.held
    second.release()


def test_without_flock_a_live_owner_file_refuses(tmp_path, monkeypatch):
    WriterLock(tmp_path, "sweep").release()
    (tmp_path / OWNER).write_text('{"pid": 1, "host": "elsewhere"}')

    def no_flock(fd, operation):
        raise OSError(37, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    with pytest.raises(FolderInUse, match=r"pid 1 on elsewhere"):
        WriterLock(tmp_path, "sweep")


def test_a_killed_writers_partial_folder_is_removed_by_the_next_run_and_a_live_ones_kept(tmp_path):
    """A `--precision` run killed while writing leaves `.<out>.<random>.writing.partial`; nothing
    resumes it, so the next run written beside it removes it once its writer is gone."""
    import time

    from conftest import run_cli

    from convoysim.commands.run import EXIT_NOT_PRECISE
    from convoysim.runs.writing import WRITING

    orphan, live = tmp_path / f".r.abc123{WRITING}", tmp_path / f".r.def456{WRITING}"
    for folder in (orphan, live):
        folder.mkdir()
        (folder / "replications.csv").write_text("replication\n")
        old = time.time() - 3600
        os.utime(folder, (old, old))
    with held_by_another_process(live):
        result = run_cli(["run", "baseline", "-n", "3", "--precision", "48h", "-o", str(tmp_path / "r")])
        assert result.exit_code in (0, EXIT_NOT_PRECISE), result.output  # 3 replications: written, not precise
        assert not orphan.exists() and live.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "r"])
