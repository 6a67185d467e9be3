"""The cost of the joint calibration of the theatre on the whole corpus (issue 20, section 4).

Runs `tools/calibrate_corpus.sh` (the documented default budget of a corpus fit, with its
leave-one-out) as a user would, and reports the wall time and the CPU time of the command and every
worker process it started (resource usage of reaped children), then the split between the fit and
the leave-one-out (from leave_one_out.json and history.csv). The target: at most 30 minutes of wall
time on a 2-core machine.

    python benchmarks/bench_corpus_calibration.py [--out DIR] [--workers 2]
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

TOOL = Path(__file__).resolve().parent.parent / "tools" / "calibrate_corpus.sh"
TARGET_MIN = 30.0


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/bench-corpus-calibration"), help="calibration dir")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    args = parser.parse_args()
    if args.out.exists() and any(args.out.iterdir()):
        print(f"{args.out} is not empty: the benchmark times a fresh fit; give another --out", file=sys.stderr)
        return 2
    cpu0, wall0 = children_cpu_s(), time.perf_counter()
    done = subprocess.run(["sh", str(TOOL), str(args.out), str(args.workers)], stdout=subprocess.PIPE, text=True)
    wall, cpu = time.perf_counter() - wall0, children_cpu_s() - cpu0
    (args.out / "bench_stdout.txt").write_text(done.stdout, encoding="utf-8")
    if done.returncode != 0:
        print(done.stdout[-3000:])
        print(f"the calibration failed (exit {done.returncode})", file=sys.stderr)
        return 1
    with (args.out / "history.csv").open(encoding="utf-8") as fh:
        history = list(csv.DictReader(fh))
    loo = json.loads((args.out / "leave_one_out.json").read_text(encoding="utf-8"))
    outcome = json.loads((args.out / "calibration.json").read_text(encoding="utf-8"))["outcome"]
    evaluations = int(outcome["evaluations"])
    print(
        f"corpus calibration, {args.workers} workers: wall {wall / 60:.1f} min, CPU {cpu / 60:.1f} min "
        f"(command and workers), {evaluations} evaluations, {len(history)} completed generations"
    )
    print(f"of which the leave-one-out: wall {loo['wall_s'] / 60:.1f} min")
    verdict = "met" if wall <= 60 * TARGET_MIN else "NOT met"
    print(f"target: at most {TARGET_MIN:.0f} min of wall time on 2 cores: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
