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
    a, b = (
        [
            r.arrival_h[-1]
            for r in run_replications(
                compile_plan(apply_values(source, {"drones.bases.gao.radius_km": km})), 0, range(PAIRS)
            )
        ]
        for km in (241.0, 300.0)
    )
    x = np.column_stack([a, b])
    x = x[~np.isnan(x).any(axis=1)]
    d = x[:, 1] - x[:, 0]
    ratio = np.var(d, ddof=1) / (np.var(x[:, 0], ddof=1) + np.var(x[:, 1], ddof=1))
    se = np.std(d, ddof=1) / np.sqrt(len(d))
    assert abs(np.mean(d) - doc_mean) < 4 * se + 1.0, (np.mean(d), doc_mean)
    assert doc_ratio / 3 < ratio < doc_ratio * 3, (ratio, doc_ratio)  # a drift of 3x or more (0.265 vs 0.018) fails


README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_plans_table_is_todays():
    """The README's plans-2023 differences (1,000 replications) lie inside today's interval from the
    first 200 replications of the same streams, widened by half: a model change that moves them fails."""
    from convoysim.studies.experiments import load_experiment
    from convoysim.studies.paired import compare_plans
    from convoysim.studies.plans import experiment_plans

    section = README.read_text(encoding="utf-8").split("## Comparing plans", 1)[1].split("\n## ", 1)[0]
    header = next(line for line in section.splitlines() if line.startswith("output "))
    plans = header.split()[2:]
    loaded = load_experiment("plans-2023")
    result = compare_plans(experiment_plans(loaded), 200, loaded.seed, ["arrival_h.Kidal", "vehicles_lost", "ambushes"])
    checked = 0
    for output in ("arrival_h.Kidal", "vehicles_lost", "ambushes"):
        row = next(line for line in section.splitlines() if line.startswith(output + " "))
        documented = [float(x) for x in re.findall(r"([+-][\d.]+) \[", row)]
        assert len(documented) == len(plans), row
        for plan, value in zip(plans, documented):
            d = result.difference(plan, output)
            half = 0.75 * (d.interval.high - d.interval.low) + 0.05
            assert abs(value - d.interval.estimate) <= half, (plan, output, value, d.interval)
            checked += 1
    assert checked == 15
