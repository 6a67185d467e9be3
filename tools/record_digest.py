"""Digest of every shipped scenario's replications, to show a speed change changed no result.

    python tools/record_digest.py [--replications 200] [--traced 20] > before.txt
    (change the model)
    python tools/record_digest.py > after.txt && diff before.txt after.txt

For each scenario in scenarios/ it runs replications 0..N-1 with seed 1 (the same streams as
`convoysim run -s 1`) and hashes everything a record holds: the replications.csv row with every
float written in full (repr), vehicle fates, incidents and casualties; the first `--traced`
replications run again with the trace and the units' paths on, and those are hashed too. Issue 13
asks that no speed work change a result: equal lines here mean equal bits, not equal rounding.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from convoysim import compile_plan, load_scenario
from convoysim.runs.montecarlo import run_replications

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def digest(records) -> str:
    h = hashlib.sha256()
    for r in records:
        row = r.as_row()
        h.update(repr(sorted(row.items())).encode())
        h.update(repr((r.arrival_h, r.departure_h, r.fates, r.incidents, r.casualties)).encode())
        if r.trace is not None:
            h.update(repr(r.trace).encode())
        if r.track is not None:
            h.update(repr((r.track, r.units)).encode())
    return h.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--traced", type=int, default=20)
    args = parser.parse_args()
    for path in sorted(SCENARIOS.glob("*.yaml")):
        plan = compile_plan(load_scenario(path))
        plain = run_replications(plan, 1, range(args.replications))
        traced = run_replications(plan, 1, range(args.traced), trace=True, track=True)
        errors = sum(1 for r in plain if r.error)
        print(f"{path.stem:24} plain {digest(plain)}  traced {digest(traced)}  errors {errors}")


if __name__ == "__main__":
    main()
