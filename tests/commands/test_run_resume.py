"""An interrupted `convoysim run` keeps its complete blocks, and the same command resumes it into
the directory an uninterrupted run writes, byte for byte (issue 13)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner
from conftest import threatened_data

import convoysim.commands.run as run_command
import convoysim.runs.writing as writing
from convoysim.commands.cli import main
from convoysim.runs.partial import CHECKPOINT, OWNER

COUNTED = [
    {"waypoint": "C", "earliest": "2023-10-02T06:00:00Z", "latest": "2023-10-04T06:00:00Z"},
    {"count": "ambushes", "low": 0, "high": 1, "from_place": "B"},
    {"count": "vehicles_lost", "low": 1, "high": 3},
]

STREAMED = ("replications.csv", "milestones.csv", "incidents.csv", "vehicles.csv")
VARYING = ("created", "wall_time_s", "workers", "resumed_from")
"""Manifest fields that may differ between a resumed run and an uninterrupted one."""


def invoke(args):
    return CliRunner().invoke(main, args)


@pytest.fixture
def scenario_file(tmp_path):
    path = tmp_path / "counted.yaml"
    path.write_text(yaml.safe_dump({**threatened_data(), "documented": COUNTED}))
    return path


def files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != "manifest.json"}


def manifest(folder):
    return json.loads((folder / "manifest.json").read_text())


def same_run(resumed, reference):
    """Every file identical, and the manifest apart from the fields a resumed run legitimately changes."""
    assert files(resumed) == files(reference)
    strip = lambda m: {k: v for k, v in m.items() if k not in VARYING}  # noqa: E731
    assert strip(manifest(resumed)) == strip(manifest(reference))


def interrupt_after(monkeypatch, blocks):
    """Ctrl-C as the run directory receives its block number `blocks` + 1."""
    real, seen = writing.RunDirectory.add, []

    def add(self, chunk):
        if len(seen) == blocks:
            raise KeyboardInterrupt
        seen.append(chunk.count)
        real(self, chunk)

    monkeypatch.setattr(writing.RunDirectory, "add", add)
    return seen


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("first, then", [(1, 2), (2, 1)])
def test_an_interrupted_run_resumes_into_the_files_of_an_uninterrupted_one(
    tmp_path, monkeypatch, scenario_file, first, then
):
    args = ["run", str(scenario_file), "-n", "400", "-s", "5"]
    assert invoke([*args, "-o", str(tmp_path / "reference")]).exit_code == 0
    with monkeypatch.context() as m:
        seen = interrupt_after(m, 2)
        stopped = invoke([*args, "-w", str(first), "-o", str(tmp_path / "r")])
    kept = sum(seen)
    assert stopped.exit_code == 130, stopped.output
    assert (
        f"interrupted; {kept} of 400 replications are kept in {tmp_path / '.r.partial'}; run the same command to resume"
        in stopped.output
    )
    assert not (tmp_path / "r").exists()

    started_at = []
    real_steps = run_command.progress_steps
    monkeypatch.setattr(
        run_command,
        "progress_steps",
        lambda label, total, done=0: started_at.append(done) or real_steps(label, total, done),
    )
    resumed = invoke([*args, "-w", str(then), "-o", str(tmp_path / "r")])
    assert resumed.exit_code == 0, resumed.output
    assert f"resuming from replication {kept} of 400" in resumed.output
    assert started_at == [kept], "the progress bar starts at the kept replications"
    same_run(tmp_path / "r", tmp_path / "reference")
    assert {"comparison.csv", "counts.csv", *STREAMED} <= set(files(tmp_path / "r"))
    assert manifest(tmp_path / "r")["resumed_from"] == [kept] and manifest(tmp_path / "reference")["resumed_from"] == []
    assert not (tmp_path / ".r.partial").exists()


def dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def killed(directory):
    """What SIGKILL leaves of `RunDirectory._keep`: no last checkpoint, no clean-up, the lock gone."""
    directory.folder.release()
    directory.partial = None


def test_a_killed_run_drops_its_half_written_block_and_resumes(tmp_path, monkeypatch, scenario_file):
    """As SIGKILL leaves it: a checkpoint after the third block, bytes of a fourth block after it in
    every file, and an owner file naming a process that is gone (its lock went with it)."""
    args = ["run", str(scenario_file), "-n", "300", "-s", "8", "-o", str(tmp_path / "r")]
    assert invoke([*args[:-1], str(tmp_path / "reference")]).exit_code == 0
    with monkeypatch.context() as m:
        m.setattr(writing, "CHECKPOINT_EVERY_S", 0.0)  # a checkpoint after every block, as a long run has
        m.setattr(writing.RunDirectory, "_keep", killed)
        seen = interrupt_after(m, 3)
        assert invoke(args).exit_code == 130
    partial = tmp_path / ".r.partial"
    checkpoint = json.loads((partial / CHECKPOINT).read_text())
    assert checkpoint["next"] == sum(seen) > 0
    for name in STREAMED:
        with open(partial / "run" / name, "ab") as fh:
            fh.write(b"999,half a line")
    for name in ("arrivals.f8", "counts.i8"):
        with open(partial / name, "ab") as fh:
            fh.write(b"\x01" * 13)
    (partial / OWNER).write_text(json.dumps({"pid": dead_pid(), "host": os.uname().nodename}))
    resumed = invoke([*args[:-2], "-w", "2", *args[-2:]])
    assert resumed.exit_code == 0, resumed.output
    assert f"resuming from replication {checkpoint['next']} of 300" in resumed.output
    same_run(tmp_path / "r", tmp_path / "reference")


@pytest.mark.parametrize(
    "change, words", [(["-s", "9"], "seed"), (["-n", "250"], "replications"), ("scenario", "scenario")]
)
def test_a_changed_command_starts_over_and_says_so(tmp_path, monkeypatch, scenario_file, change, words):
    args = ["run", str(scenario_file), "-n", "200", "-s", "5"]
    with monkeypatch.context() as m:
        interrupt_after(m, 2)
        assert invoke([*args, "-o", str(tmp_path / "r")]).exit_code == 130
    if change == "scenario":
        scenario_file.write_text(scenario_file.read_text() + "\n# edited\n")
        change = []
    changed = [*args, *change]
    again = invoke([*changed, "-o", str(tmp_path / "r")])
    assert again.exit_code == 0, again.output
    assert f"holds another run ({words} changed); starting over" in again.output
    assert "resuming" not in again.output
    assert invoke([*changed, "-o", str(tmp_path / "reference")]).exit_code == 0
    same_run(tmp_path / "r", tmp_path / "reference")
    assert manifest(tmp_path / "r")["resumed_from"] == []


def test_a_live_owners_folder_is_left_alone(tmp_path, monkeypatch, scenario_file):
    args = ["run", str(scenario_file), "-n", "200", "-s", "5", "-o", str(tmp_path / "r")]
    with monkeypatch.context() as m:
        interrupt_after(m, 2)
        assert invoke(args).exit_code == 130
    partial = tmp_path / ".r.partial"
    (partial / OWNER).write_text(json.dumps({"pid": 4242, "host": "elsewhere"}))
    before = snapshot(partial)
    fd = os.open(partial, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as the other run's process holds it
        result = invoke(args)
    finally:
        os.close(fd)
    assert result.exit_code == 2, result.output
    assert "is being written by another convoysim run (pid 4242 on elsewhere)" in result.output
    assert "Traceback" not in result.output and result.output.count("\n") == 1
    assert snapshot(partial) == before and not (tmp_path / "r").exists()
    assert invoke(args).exit_code == 0, "once the owner is gone the same command resumes"


@pytest.mark.parametrize("owner_alive", [True, False])
def test_without_flock_the_owner_file_decides(tmp_path, monkeypatch, scenario_file, owner_alive):
    args = ["run", str(scenario_file), "-n", "200", "-s", "5", "-o", str(tmp_path / "r")]
    with monkeypatch.context() as m:
        interrupt_after(m, 2)
        assert invoke(args).exit_code == 130
    partial = tmp_path / ".r.partial"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        pid = sleeper.pid if owner_alive else dead_pid()
        (partial / OWNER).write_text(json.dumps({"pid": pid, "host": os.uname().nodename}))

        def no_flock(fd, operation):
            raise OSError(37, "No locks available")

        monkeypatch.setattr(fcntl, "flock", no_flock)
        result = invoke(args)
    finally:
        sleeper.kill()
        sleeper.wait()
    if owner_alive:
        assert result.exit_code == 2 and f"pid {pid}" in result.output, result.output
        assert partial.is_dir()
    else:
        assert result.exit_code == 0 and "resuming from replication" in result.output, result.output


def test_the_default_run_directory_resumes_too(tmp_path, monkeypatch, scenario_file):
    monkeypatch.chdir(tmp_path)
    args = ["run", str(scenario_file), "-n", "200", "-s", "5"]
    with monkeypatch.context() as m:
        interrupt_after(m, 2)
        stopped = invoke(args)
    assert stopped.exit_code == 130
    [folder] = list((tmp_path / "results").iterdir())
    [partial] = [p.name for p in folder.iterdir()]
    assert partial.startswith(".seed5-n200-") and partial.endswith(".partial")
    resumed = invoke(args)
    assert resumed.exit_code == 0 and "resuming from replication" in resumed.output, resumed.output
    [run] = list(folder.iterdir())
    assert run.name.endswith("-seed5")
    assert invoke([*args, "-o", str(tmp_path / "reference")]).exit_code == 0
    same_run(run, tmp_path / "reference")


def test_ctrl_c_before_the_first_block_leaves_nothing(tmp_path, monkeypatch, scenario_file):
    interrupt_after(monkeypatch, 0)
    result = invoke(["run", str(scenario_file), "-n", "50", "-o", str(tmp_path / "r")])
    assert result.exit_code == 130 and "interrupted; no run directory was written" in result.output
    assert list(tmp_path.iterdir()) == [scenario_file]
