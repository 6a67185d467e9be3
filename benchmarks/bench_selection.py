"""Probability of correct selection of procedure KN (convoysim.studies.selection), over repeated seeds.

    python benchmarks/bench_selection.py [--repeats 500] [--plans 5] [--delta 1] [--alpha 0.05] [--n0 10]

Synthetic plans with known means in the slippage configuration (the hardest for a given delta):
the best has mean 0, every other plan mean delta (we minimise). Each replication's outputs share a
common shock across plans, as convoysim's common random numbers do, plus the plan's own noise
(sd 3, so one replication alone cannot tell delta = 1 apart). Also run without the common shock's
pairing benefit (independent seeds per plan) to show what common random numbers save in work.
KN promises P(correct selection) >= 1 - alpha; the benchmark prints the measured share with its
95 % Wilson interval and the mean replications per plan.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from convoysim.runs.precision import proportion_interval
from convoysim.studies.selection import kim_nelson


def sampler(means: np.ndarray, seed: int, common_sd: float, own_sd: float, paired: bool):
    def sample(i: int, replications: range) -> np.ndarray:
        n = len(replications)
        shared_key = [seed, replications.start] if paired else [seed, replications.start, i, 7]
        shared = np.random.default_rng(shared_key).normal(size=n)
        own = np.random.default_rng([seed, replications.start, i, 1]).normal(size=n)
        return means[i] + common_sd * shared + own_sd * own

    return sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=500)
    parser.add_argument("--plans", type=int, default=5)
    parser.add_argument("--delta", type=float, default=1.0)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--n0", type=int, default=10)
    parser.add_argument("--common-sd", type=float, default=4.0)
    parser.add_argument("--own-sd", type=float, default=3.0)
    args = parser.parse_args()
    means = np.full(args.plans, args.delta)
    means[0] = 0.0
    names = [f"plan{i}" for i in range(args.plans)]
    print(
        f"{args.plans} plans, slippage configuration (best 0, others {args.delta:g}), delta {args.delta:g}, "
        f"alpha {args.alpha:g}, n0 {args.n0}, {args.repeats} repeats; noise: common sd {args.common_sd:g}, own sd "
        f"{args.own_sd:g}"
    )
    for label, paired in (("common random numbers", True), ("independent seeds", False)):
        started = time.perf_counter()
        right, used = 0, []
        for seed in range(args.repeats):
            sel = kim_nelson(
                sampler(means, seed, args.common_sd, args.own_sd, paired), names, args.delta, args.alpha, args.n0, "min"
            )
            right += sel.best == names[0]
            used.append(sel.total / args.plans)
        iv = proportion_interval(right, args.repeats)
        print(
            f"{label:22s} P(correct selection) {iv.estimate:.3f} [{iv.low:.3f}, {iv.high:.3f}] "
            f"(promised >= {1 - args.alpha:.2f}); mean replications per plan {np.mean(used):.0f}; "
            f"{time.perf_counter() - started:.1f} s"
        )


if __name__ == "__main__":
    main()
