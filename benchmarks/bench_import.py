"""Start-up cost: importing what `convoysim run` needs, and `convoysim --help`, against the floor.

    python benchmarks/bench_import.py [--repeats 15] [--src PATH/TO/OTHER/src]

The floor is a fresh interpreter importing convoysim's unavoidable dependencies (numpy, simpy,
pydantic, yaml, click, rich). Each line prints the median ratio of paired, interleaved runs of a
fresh interpreter. Target: at most 1.5 for both. `--src` measures another checkout (e.g. main's)
with the same interpreter and packages.
"""

from __future__ import annotations

import argparse

from pairing import paired, python_running

FLOOR = "import numpy, simpy, pydantic, yaml, click, rich.console, rich.progress, rich.table"
CASES = {
    "convoysim run's imports": "import convoysim.commands.cli, convoysim.commands.run",
    "convoysim --help": (
        "import sys; sys.argv = ['convoysim', '--help']\n"
        "from convoysim.commands.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--src", help="another checkout's src/ folder to measure instead of the installed one")
    args = parser.parse_args()
    floor = python_running(FLOOR)
    for label, code in CASES.items():
        t, f, ratio = paired(python_running(code, args.src), floor, args.repeats)
        print(f"{label:28s} {t * 1000:7.0f} ms   floor {f * 1000:5.0f} ms   ratio {ratio:.2f}   (target <= 1.50)")


if __name__ == "__main__":
    main()
