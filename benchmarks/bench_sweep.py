"""Sweep speed: --workers 2 against --workers 1, and a Dask LocalCluster against the process pool.

    python benchmarks/bench_sweep.py [--points 12] [--replications 500] [--repeat 3]

Each figure times a whole sweep (design, pool or cluster start-up, checkpointing and writing the
files), on the baseline scenario with the drones' radius varied. One worker and two are run in
pairs, interleaved, `--repeat` times; the speed-up is the median of the per-pair ratios (the machine
is shared: a ratio taken back to back means more than a best time). The target is a speed-up of at
least 1.8 on two cores. The Dask figure is the best of `--repeat` runs, against the pool's median.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import textwrap
import time
from pathlib import Path

from pairing import paired

from convoysim.studies.experiments import load_experiment
from convoysim.studies.sweep import DaskExecutor, LocalExecutor, prepare_sweep, run_sweep


def experiment_file(folder: Path, points: int, replications: int) -> Path:
    levels = ", ".join(str(round(400 * k / max(1, points - 1))) for k in range(points))
    path = folder / "bench.yaml"
    path.write_text(
        textwrap.dedent(f"""
        name: bench
        scenario: baseline
        parameters:
          drones.bases.gao.radius_km: {{levels: [{levels}]}}
        replications: {replications}
        seed: 1
        """)
    )
    return path


def whole_sweep(sweep, executor, folder: Path):
    """The sweep into a fresh folder, removed afterwards (a finished sweep would only resume)."""
    out = folder / f"{executor.name}-{executor.workers}"

    def run() -> None:
        run_sweep(sweep, out, executor)
        shutil.rmtree(out)

    return run


def best_time(sweep, executor, folder: Path, repeat: int) -> float:
    best = float("inf")
    run = whole_sweep(sweep, executor, folder)
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=12)
    parser.add_argument("--replications", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sweep = prepare_sweep(load_experiment(experiment_file(folder, args.points, args.replications)))
        reps = args.points * args.replications
        print(
            f"sweep: {args.points} points x {args.replications} replications = {reps} replications; "
            f"{os.cpu_count()} CPUs; {args.repeat} pairs"
        )
        one, two, speedup = paired(
            whole_sweep(sweep, LocalExecutor(1), folder), whole_sweep(sweep, LocalExecutor(2), folder), args.repeat
        )
        dask = best_time(sweep, DaskExecutor(workers=2, processes=True), folder, args.repeat)
        print(f"local --workers 1: {one:6.2f} s  ({reps / one:7.0f} replications/s)  median")
        print(
            f"local --workers 2: {two:6.2f} s  ({reps / two:7.0f} replications/s)  median;"
            f" speed-up {speedup:.2f}x, median of pairs (target >= 1.8x; load average now {os.getloadavg()[0]:.1f})"
        )
        print(
            f"dask LocalCluster, 2 workers: {dask:6.2f} s  overhead against the process pool {dask - two:+.2f} s "
            f"({dask / two:.2f}x)"
        )


if __name__ == "__main__":
    main()
