"""Pool workers of `sweep` and `calibrate` end when the main process is killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads process children from Linux /proc")

LONG_SWEEP = """
    name: long
    scenario: baseline
    parameters:
      threats.ambush.hazard_per_h: {low: 0.01, high: 0.1, count: 200}
    replications: 400
    seed: 5
    """

CLI = [sys.executable, "-c", "from convoysim.commands.cli import main; main()"]


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found |= {int(c) for c in text}
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may wait for a container's init to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def kill_main_and_watch_workers(command: list[str], ready: Path | None, workers: int = 2) -> None:
    """Kill the main process once `ready` exists (or, without it, once its workers are up and busy)."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if ready.exists() if ready is not None else len(children(proc.pid)) >= workers:
                break
            time.sleep(0.02)
        if ready is None:
            time.sleep(1.0)
        assert proc.poll() is None, f"ended before it could be killed: {proc.stderr.read().decode()}"
        pool = children(proc.pid)
        assert len(pool) >= workers, pool
        os.kill(proc.pid, signal.SIGKILL)  # the main process only, as `kill -9 PID` does
        proc.wait()
        deadline = time.monotonic() + 30  # a liveness bound, not a speed figure: the watch polls every 0.5 s
        while time.monotonic() < deadline and any(running(p) for p in pool):
            time.sleep(0.1)
        left = [p for p in pool if running(p)]
        assert not left, f"orphaned workers still running: {left}"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_sweep_workers_exit_when_the_main_process_is_killed(tmp_path):
    out = tmp_path / "out"
    command = [*CLI, "sweep", str(write(tmp_path, LONG_SWEEP)), "--out", str(out), "--workers", "2"]
    kill_main_and_watch_workers(command, out / ".checkpoint" / "points.jsonl")


def test_calibration_workers_exit_when_the_main_process_is_killed(tmp_path):
    out = tmp_path / "cal"
    command = [
        *CLI,
        "calibrate",
        "baseline",
        "-p",
        "convoy.speed_kmh.median=3:20",
        "-p",
        "threats.ambush.hazard_per_h=0:0.1",
        "--budget",
        "200000",
        "--population",
        "40",
        "--max-generations",
        "50",
        "--workers",
        "2",
        "--out",
        str(out),
    ]
    kill_main_and_watch_workers(command, out / "generations" / "population-000.csv")


def test_run_workers_exit_when_the_main_process_is_killed(tmp_path):
    command = [*CLI, "run", "baseline", "-n", "400000", "--workers", "2", "--out", str(tmp_path / "run")]
    kill_main_and_watch_workers(command, None)
    assert not (tmp_path / "run").exists()
