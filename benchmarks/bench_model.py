"""Model speed against the SimPy floor, and against another commit's model (default: main).

    python benchmarks/bench_model.py [--replications N] [--scenario baseline] [--repeats 5] [--against main]

For a model (this checkout's, and the `--against` commit's, run from a temporary git worktree in a
subprocess with its own shipped scenario) it reports replications per second, SimPy events per
replication (every event the kernel processes: timeouts, process starts and ends, waits between
processes, resource requests) and the time per event. The floor is a fresh Environment per
replication carrying the same number of events (timeouts of one process) with no model logic:
the least any SimPy model with that many events can cost. It prints the ratio of the model's
time per replication to its floor's, for both models. Timings are interleaved A/B/floor, repeated,
and the median is kept (the machine is shared). Accepted: about 3.7 floors (the project puts the
readability of `model/` before shaving this further); a change should not raise it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MEASURE = r"""
import json, sys, time
import simpy
from convoysim import compile_plan, load_scenario
from convoysim.runs.montecarlo import run_replications
scenario, n, seed = sys.argv[1], int(sys.argv[2]), 1
plan = compile_plan(load_scenario(scenario))
run_replications(plan, seed, range(min(n, 50)))  # warm-up
started = time.perf_counter()
run_replications(plan, seed, range(n))
elapsed = time.perf_counter() - started
count = [0]
step = simpy.Environment.step
def counting(env):
    count[0] += 1
    return step(env)
simpy.Environment.step = counting
run_replications(plan, seed, range(min(n, 200)))
simpy.Environment.step = step
print(json.dumps({"seconds_per_replication": elapsed / n, "events_per_replication": count[0] / min(n, 200)}))
"""


def floor_seconds(events: int, replications: int = 2000) -> float:
    """Seconds per replication of a fresh Environment carrying `events` timeouts and nothing else."""
    import simpy

    def ticker(env: simpy.Environment):
        for _ in range(events):
            yield env.timeout(1.0)

    started = time.perf_counter()
    for _ in range(replications):
        env = simpy.Environment()
        env.process(ticker(env))
        env.run()
    return (time.perf_counter() - started) / replications


def measure(src: Path, scenario: str, replications: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, scenario, str(replications)],
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(src), "PATH": ""},
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replications", type=int, default=1000)
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--against", default="main", help="git commit to compare with ('' for none)")
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[1]
    models = {"this checkout": here / "src"}
    with tempfile.TemporaryDirectory() as tmp:
        if args.against:
            old = Path(tmp) / "against"
            subprocess.run(
                ["git", "-C", str(here), "worktree", "add", "--detach", str(old), args.against],
                check=True,
                capture_output=True,
            )
            models[args.against] = old / "src"
        try:
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in models}
            floors: dict[str, list[float]] = {name: [] for name in models}
            for _ in range(args.repeats):
                for name, src in models.items():
                    result = measure(src, args.scenario, args.replications)
                    runs[name].append(result)
                    floors[name].append(floor_seconds(round(result["events_per_replication"])))
        finally:
            if args.against:
                subprocess.run(["git", "-C", str(here), "worktree", "remove", "--force", str(old)], capture_output=True)
    print(f"scenario {args.scenario}, {args.replications} replications x {args.repeats} repeats (median)")
    print(
        f"{'model':>14} {'replications/s':>15} {'events/repl.':>13} {'us/event':>9} {'floor us/event':>15} "
        f"{'ratio to floor':>15}"
    )
    for name in models:
        seconds = statistics.median(r["seconds_per_replication"] for r in runs[name])
        events = statistics.median(r["events_per_replication"] for r in runs[name])
        floor = statistics.median(floors[name])
        print(
            f"{name:>14} {1 / seconds:>15,.0f} {events:>13,.0f} {1e6 * seconds / events:>9.2f} "
            f"{1e6 * floor / events:>15.2f} {seconds / floor:>15.2f}"
        )


if __name__ == "__main__":
    main()
