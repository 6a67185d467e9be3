"""A replication against the SimPy floor for its own event count, and simulate() against a replication.

    python benchmarks/bench_replication.py [--replications 2000] [--repeats 7] [--profile]
    python benchmarks/bench_replication.py --against /tmp/model-base/src [--repeats 11]

`--against SRC` compares this checkout's model with another checkout's (its src/ folder, for
example a `git worktree add --detach /tmp/model-base main`) instead: each repeat runs the same
replications in a fresh interpreter of each tree (alternating which goes first) and times the
replications alone in CPU seconds (the least of three runs; the machine is shared: waiting for a
core is not the model's cost); it prints the median of the per-repeat ratios this / other. Use it
before merging a change to `model/` and say the ratio in the change's note (the readable-model
refactor measured 1.13, accepted as the price of readability).

The floor of replication i is a fresh `simpy.Environment` carrying as many timeouts as the
replication's environment processed events (counted by stepping it, so every march unit's and
drone's events count, not only the lead's bookings in `record.events`), with no model logic: what any model run one
replication per Environment must pay. Each repeat times the model's replications (seeding,
drawing, running the clock: `run_replications`) and then their floors, alternating which goes
first; the ratio is model / floor, median over repeats. Accepted: about 3.7 (the project puts the
readability of `model/` before shaving this further).

The second ratio is `convoysim.simulate(scenario, seed)` over `replicate(plan, rng)` for the
same seeds: what a notebook user pays per call beyond the replication itself (target: near 1).
`--profile` prints where a replication's time goes (cProfile, internal time) and the share of it
spent in SimPy's own code (built-ins such as heappush and generator.send are charged to their
callers): with that share s and the ratio r, the model's own logic costs (1 - s) * r floors, the
part that work on the model can reduce.

For context only (the target stays the plain floor), a third ratio takes a floor that carries the
same events spread over as many concurrent processes as the replication keeps scheduled on
average: SimPy's event queue is a heap, so a column of march units and drones pays more per
event than one process waiting on one timeout at a time, before any model logic runs.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import simpy
from pairing import paired

from convoysim import compile_plan, load_scenario, simulate
from convoysim.model import replicate
from convoysim.runs.montecarlo import replication_stream, run_replications


def floor(events: list[int], concurrent: list[int] | None = None) -> None:
    """Bare timeouts: `events[i]` of them, in `concurrent[i]` processes at once (default one)."""

    def column(env: simpy.Environment, n: int):
        for _ in range(n):
            yield env.timeout(1.0)

    for i, n in enumerate(events):
        env = simpy.Environment()
        k = concurrent[i] if concurrent else 1
        for p in range(k):
            env.process(column(env, n // k + (p < n % k)))
        env.run()


class CountingEnvironment(simpy.Environment):
    """Counts the events the kernel processes; used once, outside the timed runs."""

    processed = 0
    queued = 0

    def step(self) -> None:
        self.processed += 1
        self.queued += len(self._queue)
        super().step()


def simpy_events(plan, replications: range) -> tuple[list[int], list[int]]:
    """Events the SimPy kernel processes in each replication (the same streams as run_replications),
    and the mean length of its event queue, rounded."""
    counts, queues = [], []
    for i in replications:
        env = CountingEnvironment()
        replicate(plan, replication_stream(1, i), i, env=env)
        counts.append(env.processed)
        queues.append(max(1, round(env.queued / env.processed)))
    return counts, queues


def kernel_share(stats: dict) -> float:
    """Share of profiled internal time in SimPy's modules, each built-in charged to its callers
    in proportion to the calls they made."""
    total = kernel = 0.0
    for (filename, _, _), (_, _, tottime, _, callers) in stats.items():
        total += tottime
        if "simpy" in filename:
            kernel += tottime
        elif not filename.endswith(".py") and callers:
            calls = sum(c[0] for c in callers.values())
            kernel += tottime * sum(c[0] for key, c in callers.items() if "simpy" in key[0]) / calls
    return kernel / total


TIME_REPLICATIONS = r"""
import sys, time
from convoysim import compile_plan, load_scenario
from convoysim.runs.montecarlo import run_replications
plan = compile_plan(load_scenario(sys.argv[1]))
run_replications(plan, 1, range(50))  # warm-up
best = float("inf")
for _ in range(3):  # the least of three: other work on a shared machine only ever adds time
    started = time.process_time()
    run_replications(plan, 1, range(int(sys.argv[2])))
    best = min(best, time.process_time() - started)
print(best)
"""


def replications_seconds(src: Path, scenario: str, replications: int) -> float:
    """CPU seconds the replications alone take in a fresh interpreter importing convoysim from `src`."""
    env = dict(os.environ, PYTHONPATH=str(src))
    out = subprocess.run(
        [sys.executable, "-c", TIME_REPLICATIONS, scenario, str(replications)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.split()[-1])


def against(other: Path, scenario: str, replications: int, repeats: int) -> None:
    """Paired A/B of this checkout's replications against another checkout's; prints the median ratio."""
    here = Path(__file__).resolve().parents[1] / "src"
    ratios, mine, theirs = [], [], []
    for k in range(repeats):
        order = (here, other) if k % 2 == 0 else (other, here)
        seconds = {src: replications_seconds(src, scenario, replications) for src in order}
        mine.append(seconds[here])
        theirs.append(seconds[other])
        ratios.append(seconds[here] / seconds[other])
    print(f"{scenario}: {replications} replications x {repeats} paired repeats")
    print(f"this checkout {statistics.median(mine):.3f} s, {other} {statistics.median(theirs):.3f} s (medians)")
    print(f"ratio this/other {statistics.median(ratios):.3f}  (per repeat: {', '.join(f'{r:.3f}' for r in ratios)})")
    print(
        f"ratio of the least times {min(mine) / min(theirs):.3f}  (other work only ever adds time: the steadier figure"
        " on a busy machine)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replications", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--profile", action="store_true", help="print where a replication's time goes")
    parser.add_argument("--against", type=Path, help="another checkout's src/ folder: paired A/B of the two models")
    args = parser.parse_args()
    if args.against:
        against(args.against.resolve(), args.scenario, args.replications, args.repeats)
        return
    scenario = load_scenario(args.scenario)
    plan = compile_plan(scenario)
    reps = range(args.replications)
    events, queues = simpy_events(plan, reps)
    model_s, floor_s, ratio = paired(lambda: run_replications(plan, 1, reps), lambda: floor(events), args.repeats)
    print(
        f"{args.scenario}: {args.replications} replications, {np.mean(events):.1f} events each on average,"
        f" {np.mean(queues):.1f} in the queue"
    )
    print(f"model {model_s:.3f} s, SimPy floor {floor_s:.3f} s")
    print(f"ratio replication/floor      {ratio:.2f}   (accepted: about 3.7)")
    _, _, queued_ratio = paired(lambda: run_replications(plan, 1, reps), lambda: floor(events, queues), args.repeats)
    print(f"ratio against a floor with the same queue length {queued_ratio:.2f}   (context, not the target)")
    seeds = range(min(200, args.replications))
    sim_s, rep_s, sim_ratio = paired(
        lambda: [simulate(scenario, s) for s in seeds],
        lambda: [replicate(plan, np.random.default_rng(s)) for s in seeds],
        args.repeats,
    )
    print(f"ratio simulate()/replicate() {sim_ratio:.2f}   (target near 1)")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(run_replications, plan, 1, reps)
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(15)
        share = kernel_share(stats.stats)  # type: ignore[attr-defined]
        print(
            f"SimPy's own code: {share:.0%} of a replication's profiled time; the model's logic {1 - share:.0%}"
            f" (about {(1 - share) * ratio:.2f} floors at the ratio above)"
        )


if __name__ == "__main__":
    main()
