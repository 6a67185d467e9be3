"""How well each plan's replications are synchronised with the reference's: per output, the
correlation across replications of the plan's and the reference's results (1: the same dice fall
alike; 0: as good as independent seeds), from a `convoysim compare` folder.

    convoysim compare --experiment plans-2023 --out results/compare/plans-2023
    python benchmarks/stream_correlation.py results/compare/plans-2023

Prints a Markdown table (docs/streams.md holds it, before any re-keying of the streams). The
variance reduction of a paired difference is 1 / (1 - 2 rho sA sB / (sA^2 + sB^2)): about
1 / (1 - rho) when the two spreads are alike, so rho = 0.98 is a fifty-fold saving and 0.5 only two-fold.
"""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

OUTPUTS = (
    "arrival_h.Kidal",
    "vehicles_lost",
    "wounded",
    "killed",
    "ied_strikes",
    "ambushes",
    "hours_moving",
    "hours_incident_delay",
    "hours_engagement",
)


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "results/compare/plans-2023")
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    with (folder / "runs.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    plans = list(dict.fromkeys(r["plan"] for r in rows))
    for r in rows:
        for o in OUTPUTS:
            values[r["plan"]][o].append(float(r[o]) if r[o] not in ("", "inf") else np.nan)
    reference = plans[0]
    print(f"| plan (vs {reference}) | " + " | ".join(OUTPUTS) + " |")
    print("| --- |" + " --- |" * len(OUTPUTS))
    for plan in plans[1:]:
        cells = []
        for o in OUTPUTS:
            a, b = np.array(values[reference][o]), np.array(values[plan][o])
            keep = np.isfinite(a) & np.isfinite(b)
            a, b = a[keep], b[keep]
            cells.append(
                "identical"
                if np.array_equal(a, b)
                else "-"
                if a.std() == 0 or b.std() == 0
                else f"{np.corrcoef(a, b)[0, 1]:.2f}"
            )
        print(f"| {plan} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
