"""The one execution layer: every backend and worker count gives the same results in task order,
sees every result as it finishes, and an abandoned pool stops its workers at once."""

from __future__ import annotations

import logging
import os
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

import convoysim.runs.extras as extras
from convoysim.commands.cli import main
from convoysim.runs.pool import DaskExecutor, LocalExecutor, SerialPool, executor_from_options


def scaled_draws(scale: float, task: tuple[int, float]) -> tuple[int, float, int]:
    """Pool work: a number from the task's own stream, after a delay that makes later tasks finish first."""
    k, delay_s = task
    time.sleep(delay_s)
    return k, scale * float(np.random.default_rng(k).random()), os.getpid()


def sleeps_or_stops(_: None, seconds: float) -> float:
    """Pool work: a task that sleeps, or (negative) interrupts the test's main process."""
    time.sleep(abs(seconds))
    return seconds


TASKS = [(k, 0.05 * ((7 - k) % 4)) for k in range(12)]
"""Uneven delays, so tasks finish out of order on several workers."""


@pytest.mark.parametrize(
    "executor",
    [LocalExecutor(1), LocalExecutor(2), LocalExecutor(3), DaskExecutor(workers=2, processes=False)],
    ids=["serial", "2", "3", "dask"],
)
def test_every_backend_gives_the_serial_results_in_task_order(executor):
    seen = []
    with executor.pool(shared=10.0) as pool:
        results = list(pool.map(scaled_draws, TASKS, on_result=lambda k, r: seen.append(k)))
    assert [(k, x) for k, x, _ in results] == [(k, 10.0 * float(np.random.default_rng(k).random())) for k, _ in TASKS]
    assert sorted(seen) == list(range(len(TASKS))), "on_result sees every result once"
    if isinstance(executor, LocalExecutor) and executor.workers > 1:
        assert os.getpid() not in {pid for *_, pid in results}, "the work ran in worker processes"
        assert seen != sorted(seen), "results were handed on in finishing order, not task order"


def test_one_worker_runs_in_this_process_and_zero_is_refused():
    assert isinstance(LocalExecutor(1).pool(), SerialPool)
    with pytest.raises(ValueError, match="at least 1"):
        LocalExecutor(0)
    assert executor_from_options("dask", 3, "tcp://h:1") == DaskExecutor("tcp://h:1", 3)
    assert executor_from_options("local", 3) == LocalExecutor(3)


def test_an_interrupted_pool_does_not_wait_for_the_tasks_in_flight():
    """Ctrl-C while two workers each run a 60 s task: the pool is left within seconds, the workers gone."""
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with LocalExecutor(2).pool() as pool:
            for _ in pool.map(sleeps_or_stops, [0.2, 60.0, 60.0, 60.0], on_result=_interrupt):
                pass
    assert time.monotonic() - started < 10, "the pool waited for the tasks in flight"
    deadline = time.monotonic() + 5
    while _children() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _children(), "the workers were left running"


def _interrupt(k: int, result: float) -> None:
    raise KeyboardInterrupt


def _children() -> list[int]:
    """Live (not zombie) child processes of this one, from Linux /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid() and fields[0] != "Z":
                found.append(int(entry))
    return found


def test_a_missing_extra_is_named(monkeypatch):
    real = extras.importlib.import_module

    def without_distributed(name, *args):
        if name.split(".")[0] == "distributed":
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(extras.importlib, "import_module", without_distributed)
    with pytest.raises(extras.MissingExtra, match=r"pip install 'convoysim\[dask\]'"):
        DaskExecutor().pool()
    result = CliRunner().invoke(main, ["run", "baseline", "-n", "2", "--executor", "dask"])
    assert result.exit_code == 2 and "pip install 'convoysim[dask]'" in result.output, result.output


def test_a_missing_salib_is_named_for_a_saltelli_design(monkeypatch, tmp_path):
    real = extras.importlib.import_module

    def without_salib(name, *args):
        if name.split(".")[0] == "SALib":
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(extras.importlib, "import_module", without_salib)
    path = tmp_path / "e.yaml"
    path.write_text(
        "name: e\nscenario: baseline\nparameters:\n  convoy.speed_kmh.median: {low: 9, high: 20}\n"
        "  threats.ambush.hazard_per_h: {low: 0.01, high: 0.08}\n"
        "design: {kind: saltelli, base_samples: 4}\nreplications: 2\nseed: 1\noutputs: [vehicles_lost]\n"
    )
    result = CliRunner().invoke(main, ["sweep", str(path), "--out", str(tmp_path / "s")])
    assert result.exit_code == 2 and "pip install 'convoysim[sobol]'" in result.output, result.output


def test_run_on_a_running_scheduler_writes_the_local_runs_files(tmp_path):
    from distributed import LocalCluster

    local = tmp_path / "local"
    result = CliRunner().invoke(main, ["run", "baseline", "-n", "30", "-s", "4", "-o", str(local)])
    assert result.exit_code == 0, result.output
    remote = tmp_path / "remote"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        result = CliRunner().invoke(
            main,
            [
                "run",
                "baseline",
                "-n",
                "30",
                "-s",
                "4",
                "-o",
                str(remote),
                "--executor",
                "dask",
                "--scheduler",
                cluster.scheduler_address,
            ],
        )
    assert result.exit_code == 0, result.output
    assert "2 workers on dask" in result.output
    files = sorted(p.name for p in local.iterdir() if p.is_file())
    assert files == sorted(p.name for p in remote.iterdir() if p.is_file())
    for name in files:
        if name != "manifest.json":
            assert (local / name).read_bytes() == (remote / name).read_bytes(), name
    volatile = ("created", "wall_time_s", "workers")
    assert {k: v for k, v in _manifest(local).items() if k not in volatile} == {
        k: v for k, v in _manifest(remote).items() if k not in volatile
    }


def _manifest(folder):
    import json

    return json.loads((folder / "manifest.json").read_text())


def test_run_refuses_a_scheduler_without_dask_and_precision_on_dask():
    result = CliRunner().invoke(main, ["run", "baseline", "-n", "2", "--scheduler", "tcp://x:1"])
    assert result.exit_code == 2 and "--executor dask" in result.output
    result = CliRunner().invoke(main, ["run", "baseline", "--precision", "2h", "--executor", "dask"])
    assert result.exit_code == 2 and "--precision runs on local worker processes" in result.output


def _log_record_of(source: str, filename: str) -> logging.LogRecord:
    namespace: dict = {}
    exec(compile(source, filename, "exec"), namespace)
    try:
        namespace["cancel"]()
    except NameError:
        return logging.LogRecord("tornado.application", logging.ERROR, filename, 1, "callback", (), sys.exc_info())
    raise AssertionError("the code under test should raise NameError")


def test_only_distributeds_nothing_to_cancel_error_is_dropped_from_the_logs():
    """Ctrl-C in a Dask call before its task starts makes distributed log a NameError from its own
    clean-up (nothing to cancel); that one record is dropped, any other error still shows."""
    from convoysim.runs.cluster import _NothingToCancel

    bug = "def cancel():\n    if future is not None:\n        future.cancel()\n"
    keep = _NothingToCancel().filter
    assert not keep(_log_record_of(bug, "/site-packages/distributed/utils.py"))
    assert keep(_log_record_of(bug, "/site-packages/convoysim/runs/pool.py"))
    assert keep(
        _log_record_of(
            "def cancel():\n    return undefined_name\n".replace("cancel", "other") + "cancel = other\n",
            "/site-packages/distributed/utils.py",
        )
    )
    assert keep(logging.LogRecord("tornado.application", logging.ERROR, "x", 1, "no exception", (), None))


def test_a_local_cluster_says_nothing_when_another_holds_the_dashboard_port():
    """Port 8787 held (another cluster, another user's notebook): the cluster a command starts warns
    nothing on the terminal, since it needs no fixed port."""
    import socket
    import warnings

    from convoysim.runs.cluster import dask_client

    holder = socket.socket()
    try:
        holder.bind(("", 8787))
        holder.listen()
    except OSError:
        pass  # already held by someone else: just as good
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with dask_client(None, 1, processes=False) as (client, _):
                assert client.submit(abs, -2).result() == 2
        assert [str(w.message) for w in caught if "already in use" in str(w.message)] == []
    finally:
        holder.close()
