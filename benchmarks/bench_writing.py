"""Writing a run directory against simulating the same run, in one process.

    python benchmarks/bench_writing.py [--replications 1000] [--repeats 7]
    PYTHONPATH=/path/to/other/checkout/src python benchmarks/bench_writing.py   # another version

Each repeat simulates `--replications` of the baseline, then writes its run directory (with the
50 tracked replications `convoysim run` keeps), alternating which is timed first; the ratio is
writing / simulating, median over repeats. Target: at most 0.5.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from pairing import paired

from convoysim import compare_run, load_scenario, run_monte_carlo
from convoysim.runs.montecarlo import run_replications
from convoysim.runs.writing import write_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replications", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--scenario", default="baseline")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    run = run_monte_carlo(scenario, args.replications, 1)
    comparison = compare_run(run)
    tracks = run_replications(run.plan, 1, range(50), track=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"

        def write() -> None:
            write_run(out, run, comparison, None, tracks=tracks)
            shutil.rmtree(out)

        w, s, ratio = paired(write, lambda: run_monte_carlo(scenario, args.replications, 1), args.repeats)
    print(f"{args.replications} replications of {args.scenario}: writing {w:.3f} s, simulating {s:.3f} s")
    print(f"ratio writing/simulating     {ratio:.2f}   (target <= 0.50)")


if __name__ == "__main__":
    main()
