"""Selecting the best plan: Kim and Nelson's fully sequential procedure, and subset selection.

**Procedure KN** (S.-H. Kim and B. L. Nelson, "A fully sequential procedure for indifference-zone
selection in simulation", ACM TOMACS 11(3), 2001, 251-273). With k plans, an indifference zone
delta and confidence 1 - alpha: take n0 replications of every plan on common random numbers,
estimate the variance S2_il of each pairwise difference, then add one replication at a time to the
plans still in contention and eliminate plan i as soon as its mean is worse than some plan l's by
more than W_il(r) = max(0, delta / (2r) (h2 S2_il / delta2 - r)), with
h2 = 2 eta (n0 - 1) and eta = ((2 alpha / (k - 1))^(-2 / (n0 - 1)) - 1) / 2. When one plan is
left it is the best, or within delta of the best, with probability at least 1 - alpha, whatever
the variances, and common random numbers are allowed (they shrink S2_il and so the work).

`sim-tools` (MIT) has a KN class, but it asks one replication of one design at a time through an
observer interface, carries plotly and scikit-learn, and looks the variance of a pair up by an
index that is wrong for l < i; this is the procedure as the paper states it, in 60 lines.

**Subset selection** (B. L. Nelson, J. Swann, D. Goldsman and W. Song, "Simple procedures for
selecting the best simulated system when the number of alternatives is large", Operations
Research 49(6), 2001, the screening step): from n replications of every plan, keep plan i unless
some plan l beats it by more than t S_il / sqrt(n), t the (1 - alpha)^(1/(k-1)) quantile of Student's t
with n - 1 degrees of freedom. The plans kept contain the best with probability at least 1 - alpha.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from convoysim.studies.paired import censored, outputs_of, plan_values
from convoysim.studies.plans import Plan

Goal = Literal["min", "max"]
Sampler = Callable[[int, range], np.ndarray]
"""sample(plan index, replications) -> that plan's output for those replications (common streams:
replication r of every plan uses the same random numbers)."""


@dataclass
class Selection:
    """What procedure KN found: the best plan and how many replications each plan used."""

    names: list[str]
    goal: Goal
    delta: float
    alpha: float
    n0: int
    best: str
    replications: dict[str, int]
    """Replications each plan used: the one at which it was eliminated, or the last, for the best."""
    means: dict[str, float]
    """Each plan's mean over the replications it used."""
    eliminated: list[tuple[str, int, str]] = field(default_factory=list)
    """(plan, at replication, by which plan), in the order they went."""
    capped: bool = False
    """Stopped at the replication cap with more than one plan left (the best mean is taken)."""

    @property
    def total(self) -> int:
        return sum(self.replications.values())

    def rows(self) -> list[dict[str, object]]:
        """selection.csv: one row per plan."""
        gone = {p: (r, by) for p, r, by in self.eliminated}
        return [
            {
                "plan": n,
                "best": n == self.best,
                "replications": self.replications[n],
                "mean": self.means[n],
                "eliminated_at": gone.get(n, (None, ""))[0],
                "eliminated_by": gone.get(n, (None, ""))[1],
            }
            for n in self.names
        ]


def kn_eta(k: int, alpha: float, n0: int) -> float:
    return 0.5 * ((2.0 * alpha / (k - 1)) ** (-2.0 / (n0 - 1)) - 1.0)


def kim_nelson(
    sample: Sampler,
    names: Sequence[str],
    delta: float,
    alpha: float = 0.05,
    n0: int = 10,
    goal: Goal = "min",
    step: int = 10,
    max_replications: int = 100_000,
) -> Selection:
    """Procedure KN with common random numbers; `sample` is asked for blocks of `step` replications
    of the plans still in contention (the decision itself is taken replication by replication)."""
    k = len(names)
    if k < 2:
        raise ValueError("selecting needs at least two plans")
    if not delta > 0:
        raise ValueError(f"the indifference zone delta must be positive, got {delta}")
    if not 0 < alpha < 1 - 1 / k:
        raise ValueError(f"alpha must be between 0 and {1 - 1 / k:.2f} for {k} plans, got {alpha}")
    if n0 < 2:
        raise ValueError(f"n0 must be at least 2, got {n0}")
    sign = 1.0 if goal == "max" else -1.0  # the paper maximises
    h2 = 2.0 * kn_eta(k, alpha, n0) * (n0 - 1)
    data = [sign * np.asarray(sample(i, range(n0)), dtype=float) for i in range(k)]
    first = np.array(data)
    s2 = np.var(first[:, None, :] - first[None, :, :], axis=2, ddof=1)  # S2_il from the first n0
    contenders = list(range(k))
    used = {i: n0 for i in range(k)}
    eliminated: list[tuple[str, int, str]] = []
    r = n0
    sums = first.sum(axis=1)
    while len(contenders) > 1:
        means = sums / r
        out = {}
        widest = 0.0
        for i in contenders:
            for j in contenders:
                if j != i:
                    w = max(0.0, delta / (2.0 * r) * (h2 * s2[i, j] / delta**2 - r))
                    widest = max(widest, w)
                    if means[i] < means[j] - w:
                        out[i] = j
                        break
        keep = max(contenders, key=lambda i: (means[i], -i))
        if widest == 0.0:  # past the last stage (r > h2 S2 / delta2 for every pair): the best mean wins, ties included
            out = {i: keep for i in contenders if i != keep}
        out.pop(keep, None)
        for i, j in out.items():
            eliminated.append((names[i], r, names[j]))
            used[i] = r
        contenders = [i for i in contenders if i not in out]
        if len(contenders) == 1:
            break
        if r >= max_replications:
            break
        have = len(data[contenders[0]])
        if r == have:
            block = range(have, min(max_replications, have + step))
            for i in contenders:
                data[i] = np.concatenate([data[i], sign * np.asarray(sample(i, block), dtype=float)])
        r += 1
        for i in contenders:
            sums[i] += data[i][r - 1]
            used[i] = r
    means = sums / np.array([used[i] for i in range(k)])
    best = max(contenders, key=lambda i: (means[i], -i))
    return Selection(
        list(names),
        goal,
        delta,
        alpha,
        n0,
        names[best],
        {names[i]: used[i] for i in range(k)},
        {names[i]: float(sign * means[i]) for i in range(k)},
        eliminated,
        capped=len(contenders) > 1,
    )


def subset_of_best(values: Mapping[str, np.ndarray], goal: Goal = "min", alpha: float = 0.05) -> list[str]:
    """The plans that could be the best (screening with common random numbers, see the module)."""
    from scipy import stats

    names = list(values)
    x = np.array([np.asarray(values[n], dtype=float) for n in names])
    if goal == "max":
        x = -x
    k, n = x.shape
    if k < 2 or n < 2:
        return names
    t = stats.t.ppf((1 - alpha) ** (1 / (k - 1)), n - 1)
    means = x.mean(axis=1)
    keep = []
    for i in range(k):
        if all(means[i] <= means[j] + t * math.sqrt(np.var(x[i] - x[j], ddof=1) / n) for j in range(k) if j != i):
            keep.append(names[i])
    return keep


def select_best(
    plans: Sequence[Plan],
    output: str,
    goal: Goal,
    delta: float,
    seed: int,
    alpha: float = 0.05,
    n0: int = 10,
    workers: int = 1,
    step: int = 10,
    max_replications: int = 20_000,
) -> Selection:
    """Procedure KN over plans on the common streams of `seed`; a non-arrival counts at the horizon."""
    if output not in outputs_of(plans):
        raise ValueError(f"unknown output '{output}'")

    def sample(i: int, replications: range) -> np.ndarray:
        values, _ = plan_values(
            plans[i], plans[0], seed, replications, [output], workers if len(replications) >= 200 else 1
        )
        return censored(values[output], plans[i], plans[0], output)

    return kim_nelson(sample, [p.name for p in plans], delta, alpha, n0, goal, step, max_replications)
