"""The limiting case against the old column model: one march unit, no recovery vehicles (so no
recovery limit beyond the old one), default vehicle type, run by this checkout and by another
commit's model (default: main, the single-body column), compared in distribution.

    python benchmarks/column_limit.py [--against main] [--replications 2000]

The old model is gone from this tree, so this is a script, not a test: it checks out the other
commit in a temporary git worktree and runs its model in a subprocess on a scenario both schemas
accept (11 vehicles, IEDs, ambushes, harassment, breakdowns, a drone ring). It prints, for the
arrival time, vehicles lost, ambushes and hours under drone cover, both means and the two-sample
Kolmogorov-Smirnov p-value (the random streams differ, so only the laws can agree).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import threatened_data  # noqa: E402 - the test suite's threatened scenario: 11 vehicles, old keys only

SCENARIO = threatened_data(name="column-limit")
SCENARIO["convoy"]["speed_kmh"] = {"dist": "lognormal", "median": 20, "sigma": 0.3}

RUN = r"""
import json, sys
from convoysim import load_scenario, run_monte_carlo
run = run_monte_carlo(load_scenario(sys.argv[1]), replications=int(sys.argv[2]), seed=int(sys.argv[3]))
print(json.dumps([[r.end_h, sum(r.lost.values()), r.ambushes, r.drone_cover_h] for r in run.records]))
"""
FIELDS = ("end_h", "vehicles_lost", "ambushes", "hours_drone_cover")


def outcomes(src: Path, scenario: Path, replications: int, seed: int) -> list[list[float]]:
    out = subprocess.run(
        [sys.executable, "-c", RUN, str(scenario), str(replications), str(seed)],
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(src), "PATH": ""},
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", default="main")
    parser.add_argument("--replications", type=int, default=2000)
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "column-limit.yaml"
        scenario.write_text(yaml.safe_dump(SCENARIO))
        old = Path(tmp) / "against"
        subprocess.run(
            ["git", "-C", str(here), "worktree", "add", "--detach", str(old), args.against],
            check=True,
            capture_output=True,
        )
        try:
            new_rows = outcomes(here / "src", scenario, args.replications, 1)
            old_rows = outcomes(old / "src", scenario, args.replications, 2)
        finally:
            subprocess.run(["git", "-C", str(here), "worktree", "remove", "--force", str(old)], capture_output=True)
    print(f"{args.replications} replications each; this checkout (one march unit) vs {args.against} (column model)")
    print(f"{'outcome':>18} {'mean here':>10} {'mean ' + args.against:>12} {'KS p-value':>11}")
    for k, name in enumerate(FIELDS):
        a, b = [r[k] for r in new_rows], [r[k] for r in old_rows]
        print(f"{name:>18} {sum(a) / len(a):>10.3f} {sum(b) / len(b):>12.3f} {stats.ks_2samp(a, b).pvalue:>11.3f}")


if __name__ == "__main__":
    main()
