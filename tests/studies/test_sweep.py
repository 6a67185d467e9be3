"""Sweeps: common random numbers, identical results whatever the executor, checkpoints that survive
a kill -9, and the files of a sweep directory."""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convoysim.commands.cli import main
from convoysim.model import compile_plan
from convoysim.runs.montecarlo import run_replications
from convoysim.studies.experiments import load_experiment
from convoysim.studies.sweep import (
    CHECKPOINT_DIR,
    VOLATILE_MANIFEST_KEYS,
    DaskExecutor,
    LocalExecutor,
    SweepMismatch,
    prepare_sweep,
    run_columns,
    run_row,
    run_sweep,
    statistics,
)

FILES = ("experiment.yaml", "points.csv", "runs.csv", "summary.csv")


SMALL = """
    name: small
    scenario: baseline
    parameters:
      drones.bases.gao.radius_km: {levels: [0, 50, 300]}
      threats.ambush.hazard_per_h: {levels: [0.02, 0.08]}
    replications: 6
    seed: 11
    outputs: [arrival_h.Kidal, vehicles_lost, incidents, hours_engagement, arrived]
    """


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def stable_manifest(out: Path) -> dict:
    data = json.loads((out / "manifest.json").read_text())
    return {k: v for k, v in data.items() if k not in VOLATILE_MANIFEST_KEYS}


def assert_same_sweep(a: Path, b: Path, files=FILES) -> None:
    for name in files:
        assert (a / name).read_bytes() == (b / name).read_bytes(), f"{name} differs"
    assert stable_manifest(a) == stable_manifest(b)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    sweep = prepare_sweep(load_experiment(write(folder, SMALL)))
    out = folder / "serial"
    run_sweep(sweep, out, LocalExecutor(1))
    return sweep, out


def test_every_point_runs_the_same_replication_streams(small):
    """Common random numbers: point p, replication r is exactly replication r of p's scenario."""
    sweep, out = small
    runs = read_csv(out / "runs.csv")
    for p in (0, 4):
        plan = compile_plan(sweep.scenarios[p])
        columns = run_columns(plan.names)
        expected = [
            dict(zip(columns, run_row(r, plan.names))) for r in run_replications(plan, sweep.loaded.seed, range(6))
        ]
        got = [row for row in runs if row["point"] == str(p)]
        assert [float(row["arrival_h.Kidal"]) for row in got] == [e["arrival_h.Kidal"] for e in expected]
        assert [int(row["vehicles_lost"]) for row in got] == [e["vehicles_lost"] for e in expected]


def test_levels_that_change_nothing_give_the_same_runs(small):
    """Radii of 0 and 50 km cover no contested road: with shared streams the runs are the same
    (to rounding: the 50 km ring splits the first leg's move in two)."""
    _, out = small
    runs = read_csv(out / "runs.csv")
    outputs = ["arrival_h.Kidal", "vehicles_lost", "incidents", "ambushes", "hours_engagement", "ied_strikes"]
    at = {p: np.array([[float(row[c]) for c in outputs] for row in runs if row["point"] == str(p)]) for p in range(6)}
    assert np.allclose(at[0], at[2], rtol=1e-12) and np.allclose(at[1], at[3], rtol=1e-12)  # radius 0 vs 50
    assert not np.allclose(at[0], at[4]), "300 km covers the contested legs, so something must change"


def test_files_have_one_row_per_point_and_replication(small):
    sweep, out = small
    points = read_csv(out / "points.csv")
    runs = read_csv(out / "runs.csv")
    summary = read_csv(out / "summary.csv")
    assert [int(p["point"]) for p in points] == list(range(6))
    assert [(float(p["drones.bases.gao.radius_km"]), float(p["threats.ambush.hazard_per_h"])) for p in points] == [
        (r, h) for r in (0, 50, 300) for h in (0.02, 0.08)
    ]
    keys = [(int(r["point"]), int(r["replication"])) for r in runs]
    assert keys == sorted(set(keys)) and len(keys) == 6 * 6
    assert {
        "arrival_h.Gao",
        "arrival_h.Kidal",
        "incidents",
        "vehicles_lost",
        "hours_moving",
        "hours_engagement",
    } <= set(runs[0])
    assert len(summary) == 6
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["points"] == 6 and manifest["replications"] == 6 and manifest["seed"] == 11


def test_summary_statistics_match_the_runs(small):
    _, out = small
    runs = read_csv(out / "runs.csv")
    summary = read_csv(out / "summary.csv")
    for row in summary:
        lost = np.array([float(r["vehicles_lost"]) for r in runs if r["point"] == row["point"]])
        assert float(row["vehicles_lost_mean"]) == pytest.approx(lost.mean())
        assert float(row["vehicles_lost_sd"]) == pytest.approx(lost.std(ddof=1))
        assert float(row["vehicles_lost_p50"]) == pytest.approx(np.percentile(lost, 50))
        assert float(row["vehicles_lost_p10"]) <= float(row["vehicles_lost_p50"]) <= float(row["vehicles_lost_p90"])
        assert 0.0 <= float(row["arrival_h.Kidal_reached"]) <= 1.0


def test_statistics_leave_never_arrived_out_of_the_mean():
    stats = statistics(np.array([10.0, 20.0, math.nan, math.nan]), arrival=True)
    assert stats["mean"] == 15.0 and stats["reached"] == 0.5
    assert stats["p90"] == math.inf, "a non-arrival is later than any time"


def test_process_pool_and_dask_give_the_same_files_as_serial(small, tmp_path):
    sweep, serial = small
    run_sweep(sweep, tmp_path / "pool", LocalExecutor(2))
    run_sweep(sweep, tmp_path / "dask", DaskExecutor(workers=2, processes=False))
    assert_same_sweep(serial, tmp_path / "pool")
    assert_same_sweep(serial, tmp_path / "dask")
    assert json.loads((tmp_path / "dask" / "manifest.json").read_text())["executor"] == "dask"


def test_a_finished_sweep_run_again_computes_nothing_and_changes_nothing(small, tmp_path):
    sweep, serial = small
    out = tmp_path / "again"
    run_sweep(sweep, out, LocalExecutor(1))
    before = {n: (out / n).read_bytes() for n in FILES}
    outcome = run_sweep(sweep, out, LocalExecutor(1))
    assert outcome.resumed == outcome.points == 6
    assert {n: (out / n).read_bytes() for n in FILES} == before


def checkpoint_lines(sweep, out: Path) -> tuple[Path, list[bytes]]:
    """Run a sweep into `out` and return its checkpoint file and lines, for a test to damage."""
    run_sweep(sweep, out, LocalExecutor(1))
    lines_file = out / CHECKPOINT_DIR / "points.jsonl"
    return lines_file, lines_file.read_bytes().splitlines(keepends=True)


def test_a_cut_last_checkpoint_line_is_dropped_and_recomputed(small, tmp_path):
    sweep, serial = small
    out = tmp_path / "cut"
    lines_file, lines = checkpoint_lines(sweep, out)
    lines_file.write_bytes(b"".join(lines[:3]) + lines[3][: len(lines[3]) // 2])  # as a kill mid-write leaves it
    for name in FILES:
        (out / name).unlink()
    outcome = run_sweep(sweep, out, LocalExecutor(1))
    assert outcome.resumed == 3
    assert_same_sweep(serial, out)
    assert len(lines_file.read_bytes().splitlines()) == 6


def test_saltelli_sweep_writes_sobol_indices(tmp_path):
    path = write(
        tmp_path,
        """
        name: tiny-sobol
        scenario: baseline
        parameters:
          threats.ambush.hazard_per_h: {low: 0.01, high: 0.1}
          convoy.speed_kmh.median: {low: 9, high: 20}
        design: {kind: saltelli, base_samples: 8, bootstrap: 20}
        replications: 3
        outputs: [arrival_h.Anefis, vehicles_lost]
        """,
    )
    out = tmp_path / "out"
    run_sweep(prepare_sweep(load_experiment(path)), out, LocalExecutor(1))
    rows = read_csv(out / "sobol.csv")
    assert [(r["output"], r["parameter"]) for r in rows] == [
        (o, p)
        for o in ("arrival_h.Anefis", "vehicles_lost")
        for p in ("threats.ambush.hazard_per_h", "convoy.speed_kmh.median")
    ]
    assert all(math.isfinite(float(r[k])) for r in rows for k in ("S1", "S1_conf", "ST", "ST_conf"))
    assert len(read_csv(out / "points.csv")) == 8 * 4


def test_changed_experiment_does_not_resume_into_the_old_folder(tmp_path):
    path = write(tmp_path, SMALL.replace("replications: 6", "replications: 2"))
    out = tmp_path / "out"
    runner = CliRunner()
    first = runner.invoke(main, ["sweep", str(path), "--out", str(out)])
    assert first.exit_code == 0, first.output
    assert "mean over replications" in first.output and "arrival at Kidal" in first.output
    path.write_text(path.read_text().replace("replications: 2", "replications: 3"))
    result = runner.invoke(main, ["sweep", str(path), "--out", str(out)])
    assert result.exit_code == 2 and "different experiment" in result.output


def test_cli_runs_on_a_running_dask_scheduler_by_address(small, tmp_path):
    from distributed import LocalCluster

    _, serial = small
    out = tmp_path / "sched"
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        result = CliRunner().invoke(
            main,
            [
                "sweep",
                str(serial.parent / "exp.yaml"),
                "--out",
                str(out),
                "--executor",
                "dask",
                "--scheduler",
                cluster.scheduler_address,
            ],
        )
    assert result.exit_code == 0, result.output
    assert_same_sweep(serial, out)


def test_unreachable_scheduler_is_a_clean_error(tmp_path, monkeypatch):
    monkeypatch.setattr(DaskExecutor, "connect_timeout_s", 1)
    result = CliRunner().invoke(
        main,
        [
            "sweep",
            str(write(tmp_path, SMALL)),
            "--out",
            str(tmp_path / "o"),
            "--executor",
            "dask",
            "--scheduler",
            "tcp://127.0.0.1:9",
        ],
    )
    assert result.exit_code == 2, result.output
    assert "cannot reach the Dask scheduler" in result.output and "Traceback" not in result.output


def test_scheduler_without_dask_is_refused(tmp_path):
    result = CliRunner().invoke(main, ["sweep", str(write(tmp_path, SMALL)), "--scheduler", "tcp://x:1"])
    assert result.exit_code == 2 and "--executor dask" in result.output


KILLABLE = """
    name: killable
    scenario: baseline
    parameters:
      threats.ambush.hazard_per_h: {low: 0.01, high: 0.1, count: 40}
    replications: 40
    seed: 5
    """


def test_a_sweep_killed_with_sigkill_resumes_to_the_same_files(tmp_path):
    path = write(tmp_path, KILLABLE)
    out = tmp_path / "killed"
    command = [
        sys.executable,
        "-c",
        "from convoysim.commands.cli import main; main()",
        "sweep",
        str(path),
        "--out",
        str(out),
        "--workers",
        "2",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    lines_file = out / CHECKPOINT_DIR / "points.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if lines_file.exists() and lines_file.read_bytes().count(b"\n") >= 5:
            break
        time.sleep(0.005)
    assert proc.poll() is None, f"the sweep ended before it could be killed: {proc.communicate()}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    saved = lines_file.read_bytes().count(b"\n")
    assert 5 <= saved < 40, f"killed with {saved} of 40 points saved"
    assert not (out / "runs.csv").exists()

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from the checkpoint" in resumed.stdout

    reference = tmp_path / "uninterrupted"
    run_sweep(prepare_sweep(load_experiment(str(path))), reference, LocalExecutor(1))
    assert_same_sweep(reference, out)
    runs = read_csv(out / "runs.csv")
    keys = [(int(r["point"]), int(r["replication"])) for r in runs]
    assert len(keys) == len(set(keys)) == 40 * 40, "no point lost, none duplicated"
    stored = [json.loads(line)["point"] for line in lines_file.read_text().splitlines()]
    assert sorted(stored) == list(range(40)), "each point checkpointed exactly once"


def test_a_replication_that_raises_is_recorded_not_fatal(tmp_path, replication_raises):
    replication_raises(2)
    out = tmp_path / "out"
    outcome = run_sweep(prepare_sweep(load_experiment(write(tmp_path, SMALL))), out, LocalExecutor(1))
    runs = read_csv(out / "runs.csv")
    failed = [(r["point"], r["replication"]) for r in runs if r["error"]]
    assert failed == [(str(p), "2") for p in range(6)] and "boom" in runs[2]["error"]
    assert all(r["end_reason"] for r in runs)
    assert [int(r["errors"]) for r in read_csv(out / "summary.csv")] == [1] * 6
    assert outcome.errors == json.loads((out / "manifest.json").read_text())["errors"] == 6


class ShuffledExecutor:
    """Finishes points in a given order, as a busy cluster might (a pool: results in task order,
    `on_result` in finishing order)."""

    name, workers = "local", 1

    def __init__(self, order):
        self.order = order

    def pool(self, shared=None):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def map(self, work, tasks, on_result=None):
        tasks = list(tasks)
        results = {}
        for k in self.order:
            if k < len(tasks):
                results[k] = work(None, tasks[k])
                on_result(k, results[k])
        return [results[k] for k in range(len(tasks))]


@given(order=st.permutations(range(6)))
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_order_points_finish_in_never_changes_the_files(small, tmp_path_factory, order):
    sweep, serial = small
    out = tmp_path_factory.mktemp("shuffled")
    run_sweep(sweep, out, ShuffledExecutor(order))
    assert_same_sweep(serial, out)


def test_a_real_sweep_directory_is_drawn_as_a_sweep(small, tmp_path):
    from convoysim.figures import plot_directory
    from convoysim.runs.reading import is_sweep

    _, out = small
    assert is_sweep(out)
    written = plot_directory(out, tmp_path / "figures", "png")
    names = [p.name for p in written]
    assert any(n.startswith("heatmap_arrival_h.Kidal") for n in names), names


def test_a_tampered_checkpoint_line_is_recomputed_not_trusted(small, tmp_path):
    sweep, serial = small
    out = tmp_path / "tampered"
    lines_file, lines = checkpoint_lines(sweep, out)
    entry = json.loads(lines[1])
    entry["summary"] = {**entry["summary"], "vehicles_lost_mean": 999.0}
    lines[1] = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
    lines_file.write_bytes(b"".join(lines))
    outcome = run_sweep(sweep, out, LocalExecutor(1))
    assert outcome.resumed == 5, "the edited point is computed again"
    assert_same_sweep(serial, out)


def test_a_checkpoint_without_its_header_is_refused_not_discarded(small, tmp_path):
    sweep, _ = small
    out = tmp_path / "headless"
    run_sweep(sweep, out, LocalExecutor(1))
    (out / CHECKPOINT_DIR / "sweep.json").unlink()
    kept = (out / CHECKPOINT_DIR / "points.jsonl").read_bytes()
    with pytest.raises(SweepMismatch, match="sweep.json is missing"):
        run_sweep(sweep, out, LocalExecutor(1))
    assert (out / CHECKPOINT_DIR / "points.jsonl").read_bytes() == kept
    (out / CHECKPOINT_DIR / "sweep.json").write_text("{not json")
    with pytest.raises(SweepMismatch, match="damaged"):
        run_sweep(sweep, out, LocalExecutor(1))


@pytest.mark.parametrize("existing", ["summary.csv", "manifest.json"])
def test_a_sweep_never_writes_into_a_folder_that_is_not_a_sweep(small, tmp_path, existing):
    sweep, _ = small
    out = tmp_path / "mine"
    out.mkdir()
    (out / existing).write_text('{"scenario": "a run"}\n')
    with pytest.raises(SweepMismatch, match="not a sweep's"):
        run_sweep(sweep, out, LocalExecutor(1))
    assert [p.name for p in out.iterdir()] == [existing]
