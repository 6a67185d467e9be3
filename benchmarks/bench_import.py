"""Start-up cost: importing what `convoysim run` needs, and `convoysim --help`, against the floor.

    python benchmarks/bench_import.py [--repeats 15] [--src PATH/TO/OTHER/src]

The floor is a fresh interpreter importing convoysim's unavoidable dependencies (numpy, simpy,
pydantic, yaml, click, rich). pydantic 2's `import pydantic` is a shell that loads nothing until a
name is used, so the floor imports `pydantic.BaseModel` (what any schema needs); the ratio to the
bare `import pydantic` is printed too. Each line prints the median ratio of paired, interleaved
runs of a fresh interpreter. Target: at most 1.5. `--src` measures another checkout (e.g. main's)
with the same interpreter and packages.

The measured tree is byte-compiled first: with PYTHONDONTWRITEBYTECODE set (as on the project's
machine) an edited module is otherwise compiled from source at every start, which once added
55 ms (18 stale modules) to a 130 ms difference and read as a regression.
"""

from __future__ import annotations

import argparse
import compileall
from pathlib import Path

from pairing import paired, python_running

BARE = "import numpy, simpy, pydantic, yaml, click, rich.console, rich.progress, rich.table"
FLOOR = BARE + "; from pydantic import BaseModel"
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
    import convoysim

    compileall.compile_dir(args.src or str(Path(convoysim.__file__).parent), quiet=1)
    floor, bare = python_running(FLOOR), python_running(BARE)
    for label, code in CASES.items():
        t, f, ratio = paired(python_running(code, args.src), floor, args.repeats)
        _, b, bare_ratio = paired(python_running(code, args.src), bare, args.repeats)
        print(
            f"{label:28s} {t * 1000:7.0f} ms   floor {f * 1000:5.0f} ms   ratio {ratio:.2f}   (target <= 1.50)"
            f"   [to bare 'import pydantic' floor ({b * 1000:.0f} ms): {bare_ratio:.2f}]"
        )


if __name__ == "__main__":
    main()
