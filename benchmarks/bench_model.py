"""Model speed against the bare SimPy kernel, in one process.

    python benchmarks/bench_model.py [--replications N] [--scenario baseline]

Reports the model's replications per second and events per second (an event is one SimPy timeout
the column waits on; the whole replication is timed: drawing its random numbers, building its
environment and running its clock), the bare kernel's events per second on a loop of timeouts,
and their ratio. Target: the ratio is at least 0.5.
"""

from __future__ import annotations

import argparse
import time

import simpy

from convoysim import compile_plan, load_scenario
from convoysim.model.road import draw_road_incidents
from convoysim.model.streams import ReplicationStreams
from convoysim.runs.montecarlo import replication_stream, run_replications


def bare_kernel_events_per_s(n: int = 1_000_000) -> float:
    def ticker(env: simpy.Environment):
        for _ in range(n):
            yield env.timeout(1.0)

    env = simpy.Environment()
    env.process(ticker(env))
    started = time.perf_counter()
    env.run()
    return n / (time.perf_counter() - started)


def empty_replications_events_per_s(events_per_replication: int, replications: int = 5000) -> float:
    """The ceiling for any model run one replication per Environment: the same number of timeouts
    per replication, in a fresh Environment each, with no model logic at all."""
    def column(env: simpy.Environment):
        for _ in range(events_per_replication):
            yield env.timeout(1.0)

    started = time.perf_counter()
    for _ in range(replications):
        env = simpy.Environment()
        env.process(column(env))
        env.run(until=1e12)
    return replications * events_per_replication / (time.perf_counter() - started)


def model_rates(scenario: str, replications: int, seed: int = 1) -> tuple[float, float, float, float]:
    """(replications/s, events/s, events per replication, share of time spent before the clock runs)."""
    plan = compile_plan(load_scenario(scenario))
    run_replications(plan, seed, range(50))  # warm-up
    started = time.perf_counter()
    records = run_replications(plan, seed, range(replications))
    elapsed = time.perf_counter() - started
    events = sum(r.events for r in records)
    started = time.perf_counter()
    for i in range(replications):
        draw_road_incidents(plan, ReplicationStreams(replication_stream(seed, i)))
    setup = (time.perf_counter() - started) / elapsed
    return replications / elapsed, events / elapsed, events / replications, setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replications", type=int, default=5000)
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many timings")
    args = parser.parse_args()
    kernel = max(bare_kernel_events_per_s() for _ in range(args.repeats))
    best = max((model_rates(args.scenario, args.replications) for _ in range(args.repeats)), key=lambda r: r[1])
    reps, events, per_rep, setup = best
    empty = max(empty_replications_events_per_s(round(per_rep)) for _ in range(args.repeats))
    print(f"scenario                     {args.scenario}")
    print(f"model replications/s         {reps:,.0f}")
    print(f"model events/replication     {per_rep:,.1f}")
    print(f"model events/s               {events:,.0f}")
    print(f"time before the clock runs   {100 * setup:.0f} %   (generator, random blocks, road incidents)")
    print(f"bare SimPy kernel events/s   {kernel:,.0f}")
    print(f"ratio model/kernel           {events / kernel:.2f}   (target >= 0.50)")
    print(f"empty replications events/s  {empty:,.0f}   ({round(per_rep)} timeouts per fresh Environment, no model logic:"
          f" ratio {empty / kernel:.2f}, the ceiling for this shape of work)")


if __name__ == "__main__":
    main()
