"""How much variance common random numbers save, measured on the drone-radius question.

    python benchmarks/crn_variance.py [--replications 200] [--repeats 100] [--low 241] [--high 300]

The quantity is the difference in mean arrival at Kidal between two coverage radii, each estimated
from `--replications` replications. It is estimated `--repeats` times with fresh seeds in two ways:
  shared streams (what a sweep does): both radii run replications 0..n-1 of the same seed;
  independent streams: the two radii run on different seeds.
The variance of the estimated difference across repeats is printed for both.
"""

from __future__ import annotations

import argparse

import numpy as np

from convoysim.model import compile_plan
from convoysim.runs.montecarlo import run_replications
from convoysim.scenario.loading import read_source
from convoysim.scenario.paths import apply_values


def kidal_h(plan, seed: int, n: int) -> np.ndarray:
    return np.array([r.arrival_h[-1] for r in run_replications(plan, seed, range(n))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--low", type=float, default=241.0)
    parser.add_argument("--high", type=float, default=300.0)
    args = parser.parse_args()
    source = read_source("baseline")
    low, high = (compile_plan(apply_values(source, {"drones.bases.gao.radius_km": r})) for r in (args.low, args.high))
    shared, independent, pairs = [], [], []
    for k in range(args.repeats):
        a, b = kidal_h(low, k, args.replications), kidal_h(high, k, args.replications)
        shared.append(np.nanmean(b) - np.nanmean(a))
        independent.append(np.nanmean(kidal_h(high, 10_000 + k, args.replications)) - np.nanmean(a))
        pairs.append(np.column_stack([a, b]))
    vs, vi = np.var(shared, ddof=1), np.var(independent, ddof=1)
    x = np.concatenate(pairs)
    x = x[~np.isnan(x).any(axis=1)]
    paired = np.var(x[:, 0] - x[:, 1], ddof=1) / (np.var(x[:, 0], ddof=1) + np.var(x[:, 1], ddof=1))
    print(
        f"difference in mean Kidal arrival, radius {args.high:g} km minus {args.low:g} km, "
        f"{args.replications} replications per radius, {args.repeats} repeats"
    )
    print(f"shared streams:      mean {np.mean(shared):7.2f} h  sd {np.sqrt(vs):6.2f} h  variance {vs:8.2f} h^2")
    print(f"independent streams: mean {np.mean(independent):7.2f} h  sd {np.sqrt(vi):6.2f} h  variance {vi:8.2f} h^2")
    print(f"variance ratio independent/shared: {vi / vs:.1f}x (replications saved for the same precision)")
    print(
        f"per replication, over all {len(x)} pairs: var(b - a) / (var a + var b) = {paired:.3f} "
        f"(ratio {1 / paired:.1f}x)"
    )


if __name__ == "__main__":
    main()
