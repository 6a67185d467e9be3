"""`convoysim run --workers 2` against `--workers 1`, as a user runs it (the whole command).

    python benchmarks/bench_workers.py [--replications 100000] [--repeats 3] [--src OTHER/src]

Each repeat runs the command once with each worker count, alternating which goes first, writing
to a temporary run directory; the speed-up is the median of time(1 worker) / time(2 workers).
Target: at least 1.8 on an idle two-core machine (on a busy one the ratio says little). For the
same measure on sweeps see bench_sweep.py. `--src` measures another checkout (e.g. main's).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
from pathlib import Path

from pairing import paired, python_running


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def command(replications: int, workers: int, out: Path, src: str | None, cpu: list[float], parent: list[float]):
    """The command in a fresh interpreter; appends its CPU in all and its main process's share."""
    own = out.with_suffix(".cpu")
    code = (
        "import resource, sys; from convoysim.commands.cli import main; "
        f"sys.argv = ['convoysim', 'run', 'baseline', '-n', '{replications}', '-s', '1', '-w', '{workers}', '-o', "
        f"'{out}']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "u = resource.getrusage(resource.RUSAGE_SELF)\n"
        f"open('{own}', 'w').write(str(u.ru_utime + u.ru_stime))"
    )
    run = python_running(code, src)

    def fresh() -> None:
        before = children_cpu_s()
        run()
        cpu.append(children_cpu_s() - before)
        parent.append(float(own.read_text()) / cpu[-1])
        for f in sorted(out.rglob("*"), reverse=True):
            f.rmdir() if f.is_dir() else f.unlink()
        out.rmdir()

    return fresh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replications", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--src", help="another checkout's src/ folder to measure instead of the installed one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cpu1: list[float] = []
        cpu2: list[float] = []
        parent2: list[float] = []
        one = command(args.replications, 1, Path(tmp) / "one", args.src, cpu1, [])
        two = command(args.replications, 2, Path(tmp) / "two", args.src, cpu2, parent2)
        t1, t2, speedup = paired(one, two, args.repeats)
    cpu_ratio = statistics.median(b / a for a, b in zip(cpu1, cpu2))
    print(
        f"convoysim run baseline -n {args.replications}: 1 worker {t1:.1f} s, 2 workers {t2:.1f} s; {os.cpu_count()} "
        "CPUs;"
        f" load average now {os.getloadavg()[0]:.1f}"
    )
    print(f"speed-up 2 workers / 1       {speedup:.2f}   (target >= 1.80 on an idle machine)")
    print(
        f"CPU used, 2 workers / 1      {cpu_ratio:.2f}   (1.00 is no overhead; an idle machine's speed-up is at most "
        "2 / this)"
    )
    print(
        f"main process's share of the CPU with 2 workers  {statistics.median(parent2):.2f}"
        "   (work the workers cannot share: receiving, writing)"
    )


if __name__ == "__main__":
    main()
