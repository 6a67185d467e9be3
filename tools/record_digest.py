"""Digest of every shipped scenario's replications, to show a code change changed no result.

    python tools/record_digest.py [--replications 200] [--traced 20] [--variants] > before.txt
    (change the model)
    python tools/record_digest.py [same options] > after.txt && diff before.txt after.txt

For each scenario in scenarios/ it runs replications 0..N-1 with seed 1 (the same streams as
`convoysim run -s 1`) and hashes everything a record holds: the replications.csv row with every
float written in full (repr), vehicle fates, incidents and casualties; the first `--traced`
replications run again with the trace and the units' paths on, and those are hashed too. Equal
lines here mean equal bits, not equal rounding (issues 13 and 18: no speed or readability work
may change a result).

`--variants` adds a few variants of the baseline that reach model branches no shipped scenario
does (fixed drone rings with and without active dates, night halts without rest halts, ambushes
without a kill zone, dated air evacuation). tests/model/test_golden_digests.py holds these lines
in tests/model/golden_digests.txt; its first line is the command that regenerates it.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
from pathlib import Path

from convoysim import compile_plan, load_scenario
from convoysim.runs.montecarlo import run_replications

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

VARIANTS = {
    "v-fixed-ring": """
drones:
  bases:
    gao: {fleet: null}
""",
    "v-ring-dates-nights": """
drones:
  bases:
    gao: {fleet: null, active_from: 2023-10-03T00:00:00Z, active_until: 2023-10-25T00:00:00Z}
convoy: {move_by_night: false}
theatre: {kinds: {combat: {rest_halts: null}}, effects: {ambush: {kill_zone_m: null}}}
casevac:
  air:
    - {up_to_km: 300, from_date: 2023-10-04T00:00:00Z, until_date: 2023-10-20T00:00:00Z}
""",
    "v-fleet-nights": """
convoy: {move_by_night: false}
theatre: {effects: {ambush: {kill_zone_m: null}}}
""",
}
"""Baseline variants (YAML extending scenarios/baseline.yaml) for `--variants`. The baseline is on the
Sahel theatre: a value it takes from the theatre is removed under `theatre:` (a null under `threats:`
or `convoy:` would only let the theatre's value show through)."""


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


def digest_line(name: str, path: Path, replications: int, traced: int) -> str:
    plan = compile_plan(load_scenario(path))
    plain = run_replications(plan, 1, range(replications))
    traced_records = run_replications(plan, 1, range(traced), trace=True, track=True)
    errors = sum(1 for r in plain if r.error)
    return f"{name:24} plain {digest(plain)}  traced {digest(traced_records)}  errors {errors}"


def digest_lines(replications: int = 200, traced: int = 20, variants: bool = False) -> list[str]:
    """One line per shipped scenario (and per variant when asked), in a fixed order."""
    lines = [digest_line(path.stem, path, replications, traced) for path in sorted(SCENARIOS.glob("*.yaml"))]
    if variants:
        with tempfile.TemporaryDirectory() as tmp:
            for name, text in VARIANTS.items():
                path = Path(tmp) / f"{name}.yaml"
                path.write_text(f"extends: {SCENARIOS / 'baseline.yaml'}\nname: {name}\n{text}")
                lines.append(digest_line(name, path, replications, traced))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replications", type=int, default=200, help="plain replications per scenario")
    parser.add_argument("--traced", type=int, default=20, help="replications run again with trace and track")
    parser.add_argument("--variants", action="store_true", help="add the baseline variants listed in VARIANTS")
    args = parser.parse_args()
    for line in digest_lines(args.replications, args.traced, args.variants):
        print(line)


if __name__ == "__main__":
    main()
