"""Share of the work of a calibration particle and of a sweep point that is simulation.

    python benchmarks/bench_calibrate.py [--particles 300] [--points 150] [--repeats 5]
    PYTHONPATH=/path/to/other/checkout/src python benchmarks/bench_calibrate.py   # another version

A particle's work (`CalibrationProblem.distance_of`: building its scenario, compiling the plan,
simulating, scoring) and a sweep point's (`evaluate_point` on sobol-baseline: compiling, simulating,
formatting and summarising) are timed in CPU seconds, with the time spent inside
`run_replications` (seeding, drawing and running the clock) counted apart. Particles are the
proposals of a first generation (`convoysim calibrate baseline -p convoy.speed_kmh.median=3:20
-p threats.ambush.hazard_per_h=0:0.1`, 9 replications each). The share is the median over
repeats. Target: at least 0.80 for both.
"""

from __future__ import annotations

import argparse
import statistics
import time

import convoysim.calibration.abc as abc
import convoysim.studies.sweep as sweep_module
from convoysim import geo
from convoysim.calibration.abc import CalibrationProblem, check_priors, parse_param, proposal_rng
from convoysim.scenario.loading import build_scenario, read_source
from convoysim.studies.experiments import load_experiment
from convoysim.studies.sweep import evaluate_point, prepare_sweep

PRIORS = ["convoy.speed_kmh.median=3:20", "threats.ambush.hazard_per_h=0:0.1"]


class Stopwatch:
    """`run_replications` wrapped so the CPU time spent inside it is added up."""

    def __init__(self, module):
        self.module, self.real, self.inside = module, module.run_replications, 0.0

    def __enter__(self) -> "Stopwatch":
        def timed(*args, **kwargs):
            started = time.process_time()
            try:
                return self.real(*args, **kwargs)
            finally:
                self.inside += time.process_time() - started

        self.module.run_replications = timed
        return self

    def __exit__(self, *exc) -> None:
        self.module.run_replications = self.real


def share(module, work) -> float:
    """Starts with no coverage ring remembered (where rings are remembered), as a new worker does."""
    forget = getattr(getattr(geo, "_ring_intervals", None), "cache_clear", None)
    if forget:
        forget()
    with Stopwatch(module) as watch:
        started = time.process_time()
        work()
        total = time.process_time() - started
    return watch.inside / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--particles", type=int, default=300)
    parser.add_argument("--points", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    source = read_source("baseline")
    scenario = build_scenario(source)
    problem = CalibrationProblem(
        source, scenario, tuple(check_priors(source, scenario, [parse_param(p) for p in PRIORS])), 9
    )
    proposals = []
    for j in range(args.particles):
        rng = proposal_rng(1, 0, j)
        proposals.append(([p.sample(rng) for p in problem.priors], int(rng.integers(0, 2**63 - 1))))
    tasks = prepare_sweep(load_experiment("sobol-baseline")).tasks()[: args.points]
    particle = statistics.median(
        share(abc, lambda: [problem.distance_of(t, s) for t, s in proposals]) for _ in range(args.repeats)
    )
    point = statistics.median(
        share(sweep_module, lambda: [evaluate_point(t) for t in tasks]) for _ in range(args.repeats)
    )
    print(
        f"calibration particles ({args.particles}, 9 replications each): share simulating {particle:.2f}   (target >= "
        "0.80)"
    )
    print(
        f"sweep points (sobol-baseline, first {args.points}, 20 replications each): share simulating {point:.2f}   "
        "(target >= 0.80)"
    )


if __name__ == "__main__":
    main()
