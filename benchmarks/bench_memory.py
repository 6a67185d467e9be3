"""Peak memory of `convoysim run` at a large replication count: the whole process tree, polled.

    python benchmarks/bench_memory.py [--replications 1000000] [--workers 2] [--every 0.5]

Runs the command as a user does (a fresh interpreter, a temporary output folder) and reads the
resident memory of the command and of every process it started from /proc (Linux) every
`--every` seconds. Prints the peak of the whole tree (proportional set size: a page the forked
workers share with the main process counts once, split between them, not once per process), and
the peak resident size of the main process and of the largest worker. Target (issue 13): 1,000,000 replications
under 500 MiB: records stream to the run
directory in chunks, so memory must not grow with the replication count. Run it at two counts
(e.g. 100000 and 1000000) to see that it does not.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def tree(root: int) -> list[int]:
    """`root` and its descendants, from the parent pid field of /proc/PID/stat."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, ppid in parents.items() if ppid in frontier]
        found.extend(frontier)
    return found


def pss_mib(pid: int) -> float:
    """Proportional set size: this process's share of the memory it maps (0 if unreadable)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def rss_mib(pid: int) -> float:
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * PAGE_KIB / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replications", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--every", type=float, default=0.5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        command = [
            sys.executable,
            "-m",
            "convoysim",
            "run",
            "baseline",
            "-n",
            str(args.replications),
            "-s",
            "1",
            "-w",
            str(args.workers),
            "-o",
            str(out),
        ]
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peak_tree = peak_main = peak_worker = 0.0
        while child.poll() is None:
            pids = tree(child.pid)
            sizes = {pid: rss_mib(pid) for pid in pids}
            peak_tree = max(peak_tree, sum(pss_mib(pid) for pid in pids))
            peak_main = max(peak_main, sizes.get(child.pid, 0.0))
            peak_worker = max([peak_worker] + [mib for pid, mib in sizes.items() if pid != child.pid])
            time.sleep(args.every)
        wall = time.perf_counter() - started
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 2**20 if out.exists() else 0.0
    if child.returncode:
        sys.exit(f"convoysim run failed with exit code {child.returncode}")
    print(
        f"convoysim run baseline -n {args.replications} -w {args.workers}: {wall:.0f} s, run directory {size:.0f} MiB"
    )
    print(
        f"peak memory of the whole process tree (PSS) {peak_tree:7.0f} MiB   (target < 500 at 1,000,000 replications)"
    )
    print(f"peak resident memory, main process        {peak_main:7.0f} MiB")
    print(f"peak resident memory, largest worker      {peak_worker:7.0f} MiB")


if __name__ == "__main__":
    main()
