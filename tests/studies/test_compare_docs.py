"""The common-random-numbers figures quoted in docs/sweep.md, measured again on fewer pairs: the
test fails when the model's numbers drift away from what the documentation says (as the old
3.3-fold and -24.4 h did)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from convoysim.model import compile_plan
from convoysim.runs.montecarlo import run_replications
from convoysim.scenario.loading import read_source
from convoysim.scenario.paths import apply_values

DOC = Path(__file__).resolve().parents[2] / "docs" / "sweep.md"
PAIRS = 300


def documented() -> tuple[float, float]:
    """The shared-streams mean difference (h) and the pooled var(b - a) / (var a + var b) quoted."""
    text = DOC.read_text(encoding="utf-8")
    mean = re.search(r"\| shared \(what a sweep does\) \| (-?[\d.]+) h \|", text)
    ratio = re.search(r"var\(b - a\) / \(var a \+ var b\) = ([\d.]+)", text)
    assert mean and ratio, "docs/sweep.md no longer quotes the common-random-numbers figures this test checks"
    return float(mean.group(1)), float(ratio.group(1))


def test_the_documented_gain_of_common_random_numbers_is_todays():
    doc_mean, doc_ratio = documented()
    source = read_source("baseline")
    a, b = ([r.arrival_h[-1] for r in run_replications(compile_plan(apply_values(source, {"drones.bases.gao.radius_km": km})), 0,
                                                        range(PAIRS))] for km in (241.0, 300.0))
    x = np.column_stack([a, b])
    x = x[~np.isnan(x).any(axis=1)]
    d = x[:, 1] - x[:, 0]
    ratio = np.var(d, ddof=1) / (np.var(x[:, 0], ddof=1) + np.var(x[:, 1], ddof=1))
    se = np.std(d, ddof=1) / np.sqrt(len(d))
    assert abs(np.mean(d) - doc_mean) < 4 * se + 1.0, (np.mean(d), doc_mean)
    assert doc_ratio / 3 < ratio < doc_ratio * 3, (ratio, doc_ratio)  # a drift of 3x or more (0.265 vs 0.018) fails
