"""Fuzz the command line with generated bad input and print the audit's table (issues 11 and 23).

    python tools/fuzz.py --seconds 600 --memory-mb 2000 --timeout 60

Cases (see tests/fuzzcases.py) are scenario files for `run`, experiment files for `sweep`, --param
specs for `calibrate` and damaged run folders for `plot`/`report`/`animate`, with issue 23's classes
among them: multiplying factors (schedules, march units, positions, airframes), extreme dates, YAML
tags with bad values, degenerate priors, one value under two paths, damaged columns and manifests. Each runs through the
real CLI in a forked child with its address space capped and a timeout, inside its own scratch
folder; files written outside that folder are counted. The families take turns until the time is
up. Failures are listed below the table with their case, so each can be replayed.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fuzzcases import COMMANDS, Outcome, cases_for, make_run_folder, run_case  # noqa: E402

LABELS = {
    "run": "run (scenario files)",
    "sweep": "sweep (experiment files)",
    "calibrate": "calibrate (--param, options)",
    "folders": "plot / report / animate on damaged folders",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="stop starting new cases after this long")
    parser.add_argument("--timeout", type=float, default=60.0, help="a case running longer is a hang")
    parser.add_argument("--memory-mb", type=int, default=2000, help="address-space cap of each case")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--cases", type=int, default=5000, help="cases generated per family (at most)")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    queues = {c: cases_for(c, rng, args.cases if c != "folders" else max(19, args.cases // 10)) for c in COMMANDS}
    outcomes: dict[str, list[Outcome]] = {c: [] for c in COMMANDS}
    with tempfile.TemporaryDirectory(prefix="convoysim-fuzz-") as tmp:
        scratch = Path(tmp)
        run_folder = make_run_folder(scratch / "source")
        started = time.monotonic()
        k = 0
        while time.monotonic() - started < args.seconds and any(queues.values()):
            for command in COMMANDS:
                if not queues[command] or time.monotonic() - started >= args.seconds:
                    continue
                case = queues[command].pop(0)
                outcomes[command].append(
                    run_case(case, scratch / f"case-{k}", run_folder, args.timeout, args.memory_mb)
                )
                k += 1
    print_table(outcomes, args)
    return 0 if all(o.ok for rows in outcomes.values() for o in rows) else 1


def print_table(outcomes: dict[str, list[Outcome]], args: argparse.Namespace) -> None:
    print(
        "| command | cases | clean refusals | internal errors | hangs or memory blow-ups | wrong accepts | "
        "written outside | errors not on one line |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for command in COMMANDS:
        rows = outcomes[command]
        print(
            f"| {LABELS[command]} | {len(rows)} | {sum(o.clean_refusal for o in rows)} | "
            f"{sum(o.traceback for o in rows)} | "
            f"{sum(o.blew_up for o in rows)} | {sum(o.nonsense_accepted for o in rows)} | "
            f"{sum(bool(o.escaped) for o in rows)} | "
            f"{sum(not o.one_line for o in rows)} |"
        )
    print(
        f"\n(seed {args.seed}, {args.seconds:.0f} s, timeout {args.timeout:.0f} s, memory cap {args.memory_mb} MB; "
        f"exit codes: {count_codes(outcomes)})"
    )
    failures = [o for rows in outcomes.values() for o in rows if not o.ok or not o.one_line]
    for o in failures[:60]:
        what = (
            "internal error"
            if o.traceback
            else "hang/memory"
            if o.blew_up
            else "wrong accept"
            if o.nonsense_accepted
            else "escaped"
            if o.escaped
            else "not one line"
        )
        last = (o.stderr.strip().splitlines() or [""])[-1][:160]
        print(
            f"- {what}: {o.case.command}: {o.case.label[:100]} -> code {o.code}, {o.seconds:.1f} s: {last} "
            f"{o.escaped or ''}"
        )


def count_codes(outcomes: dict[str, list[Outcome]]) -> str:
    codes: dict[str, int] = {}
    for rows in outcomes.values():
        for o in rows:
            key = "timeout" if o.timed_out else f"signal {o.signal}" if o.signal else str(o.code)
            codes[key] = codes.get(key, 0) + 1
    return ", ".join(f"{k}: {v}" for k, v in sorted(codes.items()))


if __name__ == "__main__":
    sys.exit(main())
