"""Interrupting a pool-backed command with two workers (SIGINT or SIGTERM to the main process) stops
it within seconds, without waiting for the work in flight, keeps everything that finished and says
truthfully how much that is (issue 23, item 2)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX signals")

CLI = [sys.executable, "-c", "from convoysim.commands.cli import main; main()"]

SLOW_POINTS = """
    name: slow
    scenario: baseline
    parameters:
      threats.ambush.hazard_per_h: {low: 0.01, high: 0.1, count: 6}
    replications: 800
    seed: 5
    """
"""Points of several seconds each, so a point is always in flight when the signal comes."""

STOP_S = 4.0
"""How long the command may take to exit after the signal: the pool stops its workers at once, so
this is the time to write the message and exit; waiting for a point in flight takes longer."""


def interrupt_when(command: list[str], ready, signum: int, group: bool = False) -> tuple[float, int, str]:
    """Start `command`, send `signum` to it (with `group`, to its whole process group, as a terminal's
    Ctrl-C does) once `ready()` holds; seconds to exit, exit code (-1: still running after 120 s), stderr."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None and not ready():
            time.sleep(0.05)
        assert proc.poll() is None, f"ended before the signal: {proc.stderr.read().decode()}"
        if group:
            os.killpg(proc.pid, signum)
        else:
            os.kill(proc.pid, signum)  # the main process only, as a batch scheduler or `timeout` does
        sent = time.monotonic()
        try:
            code = proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            code = -1
        return time.monotonic() - sent, code, proc.stderr.read().decode()
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def finished_points(out: Path) -> int:
    lines = out / ".checkpoint" / "points.jsonl"
    return (
        sum(1 for line in lines.read_bytes().splitlines(keepends=True) if line.endswith(b"\n")) if lines.exists() else 0
    )


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_sweep_stops_at_once_and_keeps_every_finished_point(tmp_path, signum):
    out = tmp_path / "out"
    command = [*CLI, "sweep", str(write(tmp_path, SLOW_POINTS)), "--out", str(out), "--workers", "2"]
    took, code, said = interrupt_when(command, lambda: finished_points(out) >= 1, signum)
    assert code == 130, said
    assert took < STOP_S, f"took {took:.1f} s to stop: {said}"
    saved = re.search(r"interrupted; (\d+) of 6 points are saved in", said)
    assert saved, said
    assert int(saved.group(1)) == finished_points(out) >= 1, "the message counts the points the checkpoint holds"
    assert "Traceback" not in said
    result = subprocess.run([*command[:-2], "--workers", "1"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and f"resuming: {saved.group(1)} of 6 points already done" in result.stderr, (
        result.stderr
    )


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_run_stops_at_once_and_keeps_its_checkpointed_replications(tmp_path, signum):
    out = tmp_path / "r"
    checkpoint = tmp_path / ".r.partial" / "checkpoint.json"
    command = [*CLI, "run", "baseline", "-n", "4000", "-w", "2", "--out", str(out)]
    took, code, said = interrupt_when(command, checkpoint.exists, signum)
    assert code == 130, said
    assert took < STOP_S, f"took {took:.1f} s to stop: {said}"
    kept = re.search(r"interrupted; (\d+) of 4000 replications are kept in", said)
    assert kept, said
    assert int(kept.group(1)) == json.loads(checkpoint.read_text())["next"] > 0
    assert not out.exists() and "Traceback" not in said


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_calibration_stops_at_once_and_keeps_its_completed_generations(tmp_path, signum):
    out = tmp_path / "cal"
    history = out / "history.csv"
    command = [
        *CLI,
        "calibrate",
        "baseline",
        "-p",
        "convoy.speed_kmh.median=9:20",
        "--budget",
        "200",
        "--population",
        "10",
        "--particle-replications",
        "150",
        "-w",
        "2",
        "-o",
        str(out),
    ]
    took, code, said = interrupt_when(command, history.exists, signum)
    assert code == 130, said
    assert took < STOP_S, f"took {took:.1f} s to stop: {said}"
    kept = re.search(r"interrupted; (\d+) completed generation\(s\) are kept in", said)
    assert kept, said
    assert int(kept.group(1)) == len(history.read_text().splitlines()) - 1 >= 1
    assert "Traceback" not in said


CONSOLE = [str(Path(sys.executable).with_name("convoysim"))]
"""The installed program itself: Dask spawns its workers by re-running the program's script."""


def test_ctrl_c_on_a_dask_sweep_says_only_what_was_kept(tmp_path):
    """Ctrl-C reaches the whole process group, Dask's worker processes included: they leave it to the
    command, which quiets the cluster's logs before closing it, so the user reads one line, not a
    message per worker and tens of lines of tracebacks from `distributed`."""
    if not Path(CONSOLE[0]).exists():
        pytest.skip("convoysim is not installed as a program beside this Python")
    out = tmp_path / "out"
    command = [*CONSOLE, "sweep", str(write(tmp_path, SLOW_POINTS)), "--out", str(out), "--executor", "dask", "-w", "2"]
    _, code, said = interrupt_when(command, lambda: finished_points(out) >= 1, signal.SIGINT, group=True)
    assert code == 130, said
    one_line = r"error: interrupted; \d of 6 points are saved in .*; run the same command to resume\n"
    assert re.fullmatch(one_line, said), said
